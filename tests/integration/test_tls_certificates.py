"""`sovereign tls show|selfsigned|install|activate`: the MX certificate's key rollover keeps the
published TLSA records and the certificate consistent (RFC 7671 §8.1): the next key is staged,
`dns records` lists its TLSA record beside the current one, and `activate` refuses to switch
until the (signed) DNS serves it."""
import re
import stat

import pytest

from conftest import dns_config, make_data_dir, merge_config, run_cli
from dnsfixture import DnsFixture


@pytest.fixture
def setup(tmp_path):
    fx = DnsFixture(tmp_path / "dns")
    fx.start()
    data = make_data_dir(tmp_path / "roll")
    config = data / "sovereign.toml"
    text = re.sub(r'(?m)^hostname = .*$', 'hostname = "mx.roll.test"', config.read_text())
    config.write_text(merge_config(text, dns_config(fx)))
    run_cli(data, "domain", "add", "roll.test")
    fx.add_zone("roll.test", zone(data))
    yield fx, data
    fx.stop()


def zone(data):
    out = run_cli(data, "dns", "records", "roll.test").stdout
    return [line for line in out.splitlines() if line and not line.startswith(";")] + \
        ["mx A 127.0.0.1"]


def tlsa_digests(data):
    return [line.split()[-1] for line in zone(data) if " TLSA " in line]


def shown_tlsa(data):
    return re.findall(r"TLSA:\s+3 1 1 (\w+)", run_cli(data, "tls", "show").stdout)


def test_rollover_waits_for_the_next_tlsa_record(setup):
    fx, data = setup
    [current] = tlsa_digests(data)
    assert shown_tlsa(data) == [current]

    staged = run_cli(data, "tls", "selfsigned")
    assert "staged" in staged.stdout
    current_again, nxt = tlsa_digests(data)
    assert current_again == current and nxt != current
    assert shown_tlsa(data) == [current, nxt]
    key = data / "keys" / "next" / "key.pem"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600

    refused = run_cli(data, "tls", "activate", check=False)
    assert refused.returncode == 1
    assert "does not publish TLSA 3 1 1 " + nxt in refused.stderr
    assert tlsa_digests(data)[0] == current, "nothing switched"

    fx.update_zone("roll.test", zone(data))  # publishes both records
    run_cli(data, "tls", "activate")
    assert shown_tlsa(data) == [nxt]
    assert (data / "keys" / "previous" / "cert.pem").exists()
    assert not (data / "keys" / "next" / "cert.pem").exists()


def test_install_checks_that_key_and_certificate_belong_together(setup, test_ca):
    _, data = setup
    cert, key = test_ca.issue(["mx.roll.test"])
    other_cert, _ = test_ca.issue(["other.roll.test"])
    bad = run_cli(data, "tls", "install", str(other_cert), str(key), check=False)
    assert bad.returncode == 1
    assert "key values mismatch" in bad.stderr or "does not match" in bad.stderr
    run_cli(data, "tls", "install", str(cert), str(key))
    shown = run_cli(data, "tls", "show").stdout
    assert re.search(r"next.*\n.*\n\s+names:\s+mx\.roll\.test", shown)
    assert len(shown_tlsa(data)) == 2
