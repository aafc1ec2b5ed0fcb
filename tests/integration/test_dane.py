"""DANE for outbound SMTP (RFC 7672) against real Postfix peers, through `sovereign tls probe`:
MX lookup and TLSA lookup through the validating resolver and the test zones, STARTTLS, and the
peer's certificate checked against the TLSA records (OpenSSL's DANE verifier). No mail is sent;
full delivery over such connections is the outbound queue's job."""
import re

import pytest

from conftest import run_cli
from postfix import Postfix
from test_dnsfixture import needs_postfix


@pytest.fixture
def peers(tmp_path, dns_fixture, peer_cert):
    """One private Postfix answering as the MX host of every standard test domain (one address
    each), all presenting the same certificate: the one dane-ok.test's TLSA record pins."""
    plan = dns_fixture.plan
    names = ["peer.test", "dane-ok.test", "dane-bad.test", "unsigned.test", "bogus.test"]
    pf = Postfix(tmp_path / "postfix", {"peer.test": "discard:"},
                 listen=[f"{plan[n].mx_ip}:25" for n in names], tls=peer_cert).start()
    yield plan
    pf.stop()


def probe(data_dir, domain):
    result = run_cli(data_dir, "tls", "probe", domain, check=False)
    hosts = [line.strip() for line in result.stdout.splitlines()
             if line.startswith("  ") and not line.startswith("  failed:")]
    return result, hosts


@needs_postfix
def test_right_tlsa_authenticates_the_peer(dns_data_dir, peers):
    result, hosts = probe(dns_data_dir, "dane-ok.test")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "MX secure" in result.stdout
    [host] = hosts
    assert f"{peers['dane-ok.test'].mx} [{peers['dane-ok.test'].mx_ip}]" in host
    assert "DANE: ok: DANE authenticated: DANE-EE(3) SPKI(1) SHA2-256(1) at depth 0" in host
    assert re.search(r"TLSv1\.[23] ", host)


@needs_postfix
def test_wrong_tlsa_refuses_the_peer(dns_data_dir, peers):
    result, hosts = probe(dns_data_dir, "dane-bad.test")
    assert result.returncode == 1
    [host] = hosts
    assert "DANE: FAILED: DANE authentication failed" in host
    assert "authenticated: DANE" not in host


@needs_postfix
def test_insecure_destination_gets_opportunistic_tls(dns_data_dir, peers):
    result, hosts = probe(dns_data_dir, "unsigned.test")
    assert result.returncode == 0, result.stdout
    assert "MX insecure" in result.stdout
    [host] = hosts
    assert "address insecure, no DANE: ok: encrypted, not authenticated" in host


@needs_postfix
def test_secure_domain_without_tlsa_gets_opportunistic_tls(dns_data_dir, peers):
    result, hosts = probe(dns_data_dir, "peer.test")
    assert result.returncode == 0, result.stdout
    [host] = hosts
    assert "address secure, no DANE: ok: encrypted, not authenticated" in host


@needs_postfix
def test_bogus_destination_is_not_contacted(dns_data_dir, peers):
    """RFC 7672 §2.2: lookup errors (bogus included) defer; no fallback to plaintext."""
    result, hosts = probe(dns_data_dir, "bogus.test")
    assert result.returncode == 1
    assert "MX lookup: DNSSEC validation failed" in result.stdout
    assert hosts == []
