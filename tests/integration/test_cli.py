"""The `sovereign` command: subcommands, help, exit codes, and secrets never on the command line."""
import subprocess

from conftest import ADMIN, DOMAIN, PASSWORD, SOVEREIGN, run_cli

SUBCOMMANDS = ["quickstart", "serve", "config", "domain", "user", "alias", "import", "export", "version"]


def sovereign(*args, stdin=None):
    return subprocess.run([SOVEREIGN, *args], input=stdin, capture_output=True, text=True, timeout=60)


def test_every_subcommand_has_help():
    for name in SUBCOMMANDS:
        result = sovereign(name, "--help")
        assert result.returncode == 0, (name, result.stderr)
        assert "usage: sovereign " + name in result.stdout


def test_usage_errors_exit_2():
    assert sovereign().returncode == 2
    assert sovereign("frobnicate").returncode == 2
    assert sovereign("user", "add").returncode == 2
    assert sovereign("user", "list", "--bogus").returncode == 2
    assert sovereign("quickstart", "--domain", "x.test").returncode == 2


def test_config_check_reports_file_and_line(data_dir):
    assert run_cli(data_dir, "config", "check").returncode == 0
    config = data_dir / "sovereign.toml"
    text = config.read_text().replace("\n[smtp]\n", "\n[smtp]\nmax_recipients = 5\nno_such_key = 1\n", 1)
    config.write_text(text)
    result = run_cli(data_dir, "config", "check", check=False)
    assert result.returncode == 2
    lines = config.read_text().splitlines()
    bad_line = next(i for i, line in enumerate(lines, 1) if line.startswith("no_such_key"))
    assert f"sovereign.toml:{bad_line}:" in result.stderr
    assert "no_such_key" in result.stderr
    # Both problems are reported, not just the first.
    assert "max_recipients" in result.stderr


def test_domains_users_aliases(data_dir):
    run_cli(data_dir, "domain", "add", "Bücher.example")
    assert "xn--bcher-kva.example (bücher.example)" in run_cli(data_dir, "domain", "list").stdout
    run_cli(data_dir, "domain", "add", "alias.example", "--alias-of", DOMAIN)
    run_cli(data_dir, "user", "add", "Anna@xn--bcher-kva.example", stdin="s3cret-pw\n")
    users = run_cli(data_dir, "user", "list").stdout
    assert "anna@xn--bcher-kva.example" in users and ADMIN in users
    # The new account has its special-use mailboxes from the start.
    assert (data_dir / "mail" / "anna@xn--bcher-kva.example" / "index.db").exists()
    run_cli(data_dir, "alias", "add", f"@{DOMAIN}", ADMIN)
    assert f"@{DOMAIN} -> {ADMIN}" in run_cli(data_dir, "alias", "list").stdout
    # Unsafe names are refused with a runtime error, not a crash.
    assert run_cli(data_dir, "user", "add", f"../x@{DOMAIN}", stdin="pw-long-enough\n", check=False).returncode == 1
    run_cli(data_dir, "user", "del", "anna@xn--bcher-kva.example")
    assert not (data_dir / "mail" / "anna@xn--bcher-kva.example").exists()


def test_password_comes_from_stdin_or_file(data_dir, tmp_path):
    # No way to pass a password in argv: an extra positional is a usage error.
    assert run_cli(data_dir, "user", "add", f"eve@{DOMAIN}", "hunter2", check=False).returncode == 2
    result = run_cli(data_dir, "user", "add", f"eve@{DOMAIN}", stdin="", check=False)
    assert result.returncode == 2 and "empty password" in result.stderr
    secret = tmp_path / "pw"
    secret.write_text("from-a-file-123\n")
    run_cli(data_dir, "user", "passwd", ADMIN, "--password-file", str(secret))


def test_quickstart_refuses_existing_data(data_dir):
    result = sovereign("quickstart", "--domain", DOMAIN, "--hostname", "h.test", "--data", str(data_dir), "--run-as", "")
    assert result.returncode == 1
    assert "exists already" in result.stderr
    assert PASSWORD not in result.stdout
