"""The validating resolver (src/dns) against the DNSSEC-signed test zones (dnsfixture.py), through
`sovereign dns lookup`: the same libunbound set-up the server uses, read from sovereign.toml."""
import re

from conftest import merge_config, run_cli


def lookup(data_dir, name, rrtype="A", check=True):
    result = run_cli(data_dir, "dns", "lookup", name, rrtype, check=check)
    status = re.match(r"; (\w+)", result.stdout)
    records = [line for line in result.stdout.splitlines() if line and not line.startswith(";")]
    return result, (status.group(1) if status else None), records


def test_signed_zone_answers_are_secure(dns_data_dir, dns_fixture):
    plan = dns_fixture.plan
    _, status, records = lookup(dns_data_dir, "peer.test", "MX")
    assert status == "secure"
    assert records == [f"peer.test. 1 IN MX 10 {plan['peer.test'].mx}."]
    _, status, records = lookup(dns_data_dir, plan["peer.test"].mx, "A")
    assert status == "secure"
    assert records[0].endswith(f"IN A {plan['peer.test'].mx_ip}")


def test_tlsa_record_is_secure_and_matches_the_zone(dns_data_dir, dns_fixture):
    domain = dns_fixture.plan["dane-ok.test"]
    _, status, records = lookup(dns_data_dir, f"_25._tcp.{domain.mx}", "TLSA")
    assert status == "secure"
    assert records == [f"_25._tcp.{domain.mx}. 1 IN TLSA {domain.tlsa.lower()}"]


def test_nonexistent_name_is_a_secure_nxdomain(dns_data_dir):
    result, status, records = lookup(dns_data_dir, "nothing-here.peer.test", "A")
    assert status == "secure"
    assert "NXDOMAIN" in result.stdout
    assert records == []


def test_unsigned_zone_is_insecure(dns_data_dir, dns_fixture):
    domain = dns_fixture.plan["unsigned.test"]
    _, status, records = lookup(dns_data_dir, domain.mx, "A")
    assert status == "insecure"
    assert records[0].endswith(f"IN A {domain.mx_ip}")


def test_bogus_zone_is_refused_with_the_reason(dns_data_dir, dns_fixture):
    domain = dns_fixture.plan["bogus.test"]
    result, status, records = lookup(dns_data_dir, domain.mx, "A", check=False)
    assert result.returncode == 1
    assert status == "bogus"
    assert records == [], "bogus data must never be printed as an answer"
    assert "DNSSEC validation failed" in result.stderr


def test_without_the_trust_anchor_nothing_is_secure(dns_data_dir, dns_fixture):
    """The classification comes from validation, not from the zone data: drop the anchor and the
    same answers are insecure (and the bogus zone's data is just unsigned data)."""
    config = dns_data_dir / "sovereign.toml"
    config.write_text(re.sub(r"(?m)^trust_anchors = .*$", "trust_anchors = []", config.read_text()))
    _, status, _ = lookup(dns_data_dir, "peer.test", "MX")
    assert status == "insecure"
    _, status, records = lookup(dns_data_dir, dns_fixture.plan["bogus.test"].mx, "A")
    assert status == "insecure" and len(records) == 1


def test_bad_dns_settings_are_config_errors(data_dir):
    config = data_dir / "sovereign.toml"
    config.write_text(merge_config(config.read_text(), '[dns]\nforwarders = ["ns1.example.net"]'))
    result = run_cli(data_dir, "config", "check", check=False)
    assert result.returncode == 2
    assert "dns.forwarders" in result.stderr and "not an IP address" in result.stderr
