"""App passwords: `sovereign user app-password add|list|revoke`, and logging in with them over IMAP
while the server runs (the CLI and the server share accounts.db)."""
import imaplib
import re
import ssl

import pytest

from conftest import ADMIN, PASSWORD, run_cli

APP_PASSWORD = re.compile(r"^[a-z2-7]{7}(-[a-z2-7]{7}){3}$")


def tls_context():
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def add_app_password(data_dir, name, address=ADMIN):
    result = run_cli(data_dir, "user", "app-password", "add", address, name)
    password = result.stdout.strip().splitlines()[-1]
    assert APP_PASSWORD.match(password), result.stdout
    return password


def imap_login(server, password, user=ADMIN):
    client = imaplib.IMAP4_SSL("127.0.0.1", server.ports["imaps"], ssl_context=tls_context())
    try:
        client.login(user, password)
        typ, _ = client.select("INBOX")
        assert typ == "OK"
    finally:
        client.shutdown()


def imap_plain(server, password, user=ADMIN):
    client = imaplib.IMAP4_SSL("127.0.0.1", server.ports["imaps"], ssl_context=tls_context())
    try:
        typ, _ = client.authenticate("PLAIN", lambda _: f"\0{user}\0{password}".encode())
        assert typ == "OK"
    finally:
        client.shutdown()


def test_add_list_revoke(data_dir):
    phone = add_app_password(data_dir, "phone")
    laptop = add_app_password(data_dir, "Laptop (work)")
    assert phone != laptop
    listing = run_cli(data_dir, "user", "app-password", "list", ADMIN).stdout.splitlines()
    assert len(listing) == 2
    assert listing[0].startswith("Laptop (work)  created=") and listing[0].endswith("last_used=never")
    assert listing[1].startswith("phone  created=")
    # Shown once: neither the listing nor the database holds the password.
    assert phone not in "\n".join(listing)
    assert phone.replace("-", "").encode() not in (data_dir / "accounts.db").read_bytes()

    duplicate = run_cli(data_dir, "user", "app-password", "add", ADMIN, "phone", check=False)
    assert duplicate.returncode == 1 and "phone" in duplicate.stderr

    run_cli(data_dir, "user", "app-password", "revoke", ADMIN, "phone")
    listing = run_cli(data_dir, "user", "app-password", "list", ADMIN).stdout
    assert "phone" not in listing and "Laptop (work)" in listing
    again = run_cli(data_dir, "user", "app-password", "revoke", ADMIN, "phone", check=False)
    assert again.returncode == 1

    unknown = run_cli(data_dir, "user", "app-password", "add", "nobody@example.test", "x", check=False)
    assert unknown.returncode == 1


def test_usage_errors(data_dir):
    for args in (
        ["app-password"],
        ["app-password", "frob", ADMIN],
        ["app-password", "add", ADMIN],
        ["app-password", "list"],
        ["app-password", "revoke", ADMIN],
        ["app-password", "add", ADMIN, "phone", "extra"],
        ["app-password", "add", ADMIN, "phone", "--password-file", "/dev/null"],
    ):
        result = run_cli(data_dir, "user", *args, check=False)
        assert result.returncode == 2, (args, result.stderr)
    help_text = run_cli(data_dir, "user", "--help").stdout
    assert "user app-password add ADDRESS NAME" in help_text
    assert "does not revoke" in help_text


def test_user_del_removes_app_passwords(data_dir):
    run_cli(data_dir, "user", "add", "temp@example.test", stdin="temporary-pw\n")
    add_app_password(data_dir, "phone", address="temp@example.test")
    run_cli(data_dir, "user", "del", "temp@example.test")
    run_cli(data_dir, "user", "add", "temp@example.test", stdin="temporary-pw\n")
    assert run_cli(data_dir, "user", "app-password", "list", "temp@example.test").stdout == ""


def test_app_password_logs_in_over_imap_until_revoked(server):
    data = server.data_dir
    phone = add_app_password(data, "phone")
    imap_login(server, phone)
    imap_plain(server, phone)
    # Typed by hand: upper case and without dashes works too.
    imap_login(server, phone.replace("-", "").upper())
    listing = run_cli(data, "user", "app-password", "list", ADMIN).stdout
    assert "last_used=never" not in listing

    # A password change does not revoke it; the main password keeps working alongside.
    run_cli(data, "user", "passwd", ADMIN, stdin=PASSWORD + "\n")
    imap_login(server, PASSWORD)
    imap_login(server, phone)

    run_cli(data, "user", "app-password", "revoke", ADMIN, "phone")
    with pytest.raises(imaplib.IMAP4.error):
        imap_login(server, phone)
    imap_login(server, PASSWORD)
