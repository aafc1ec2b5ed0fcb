"""Tests of the test-DNS fixture (dnsfixture.py), the test CA (testca.py) and the Postfix peer.

What the fixture promises is checked from outside: kdig +dnssec shows what NSD serves,
ldns-verify-zone checks the signed files, ldns-dane and danetool recompute the TLSA record, and
libunbound itself (through ctypes, configured as our server will be) classifies answers as
secure, insecure or bogus. None of this needs the sovereign binary.
"""
import ipaddress
import os
import re
import shutil
import smtplib
import ssl
import subprocess

import pytest

from dnsfixture import DnsFixture, soa_serial, tlsa_spki_sha256, unbound_resolve
from postfix import POSTFIX, Postfix

SIGNED_CHILDREN = ["sovereign.test", "peer.test", "dane-ok.test", "dane-bad.test",
                   "sts-enforce.test", "sts-testing.test"]


def answer_section(kdig_output: str) -> list[list[str]]:
    """Records (as field lists) of kdig's ANSWER SECTION."""
    return section(kdig_output, "ANSWER")


def section(kdig_output: str, name: str) -> list[list[str]]:
    """Records of a named section (ANSWER, AUTHORITY, ADDITIONAL) of kdig's output."""
    rows, inside = [], False
    for line in kdig_output.splitlines():
        if line.startswith(";; "):
            inside = line.startswith(f";; {name} SECTION")
            continue
        if inside and line.strip():
            rows.append(line.split())
    return rows


def wire_name(data: bytes) -> str:
    """An uncompressed domain name in wire format (as in libunbound's MX rdata), dotless."""
    labels, pos = [], 0
    while data[pos]:
        labels.append(data[pos + 1:pos + 1 + data[pos]].decode())
        pos += 1 + data[pos]
    return ".".join(labels)


def types_of(rows) -> list[str]:
    return [r[3] for r in rows]


def ds_of_served_key(fx: DnsFixture, zone: str, tmp_path) -> str:
    """The SHA-256 DS rdata computed by ldns-key2ds from the DNSKEY that NSD serves."""
    keys = [r for r in answer_section(fx.kdig(zone, "DNSKEY")) if r[3] == "DNSKEY"]
    assert len(keys) == 1, keys
    key_file = tmp_path / f"{zone}.key"
    key_file.write_text(" ".join(keys[0]) + "\n")
    out = subprocess.run(["ldns-key2ds", "-n", "-2", str(key_file)], capture_output=True,
                         text=True, check=True).stdout.split()
    return " ".join(out[out.index("DS") + 1:]).lower()


# --------------------------------------------------------------------------- what NSD serves
@pytest.mark.parametrize("name,rrtype", [
    ("sovereign.test", "MX"), ("mx.sovereign.test", "A"), ("mx.peer.test", "A"),
    ("_25._tcp.mx.dane-ok.test", "TLSA"), ("_mta-sts.sts-enforce.test", "TXT"),
    ("_smtp._tls.sts-testing.test", "TXT"), ("mx.bogus.test", "A"), ("test", "DNSKEY"),
])
def test_signed_zones_answer_with_rrsig(dns_fixture, name, rrtype):
    rows = answer_section(dns_fixture.kdig(name, rrtype, "+dnssec"))
    assert rrtype in types_of(rows)
    sigs = [r for r in rows if r[3] == "RRSIG"]
    assert sigs and sigs[0][4] == rrtype, rows


def test_unsigned_zone_answers_without_rrsig(dns_fixture):
    rows = answer_section(dns_fixture.kdig("mx.unsigned.test", "A", "+dnssec"))
    assert types_of(rows) == ["A"] and rows[0][4] == "127.0.0.5"


@pytest.mark.parametrize("child", SIGNED_CHILDREN)
def test_parent_holds_matching_ds_for_signed_children(dns_fixture, child, tmp_path):
    rows = answer_section(dns_fixture.kdig(child, "DS", "+dnssec"))
    ds = [r for r in rows if r[3] == "DS"]
    sig = [r for r in rows if r[3] == "RRSIG"]
    assert len(ds) == 1 and sig, rows
    assert sig[0][11] == "test.", "the DS must be signed by the parent zone"
    assert " ".join(ds[0][4:]).lower() == ds_of_served_key(dns_fixture, child, tmp_path)


def test_bogus_child_ds_does_not_match_its_key(dns_fixture, tmp_path):
    ds = [r for r in answer_section(dns_fixture.kdig("bogus.test", "DS")) if r[3] == "DS"]
    assert len(ds) == 1
    assert " ".join(ds[0][4:]).lower() != ds_of_served_key(dns_fixture, "bogus.test", tmp_path)


def test_unsigned_child_has_no_ds_and_a_signed_nsec_proves_it(dns_fixture):
    out = dns_fixture.kdig("unsigned.test", "DS", "+dnssec")
    assert "status: NOERROR" in out and answer_section(out) == []
    nsec = [r for r in section(out, "AUTHORITY") if r[3] == "NSEC"]
    assert len(nsec) == 1 and nsec[0][0] == "unsigned.test."
    bitmap = nsec[0][5:]
    assert "NS" in bitmap and "DS" not in bitmap and "SOA" not in bitmap
    assert any(r[3] == "RRSIG" and r[4] == "NSEC" for r in section(out, "AUTHORITY"))


def test_trust_anchor_is_the_ds_of_test(dns_fixture, tmp_path):
    fields = dns_fixture.trust_anchor_file.read_text().split()
    assert fields[0] == "test." and fields[3] == "DS"
    assert " ".join(fields[4:]).lower() == ds_of_served_key(dns_fixture, "test", tmp_path)
    assert dns_fixture.forwarder == f"127.0.0.1@{dns_fixture.port}"


def test_signed_zone_files_verify(dns_fixture):
    """ldns-verify-zone checks every signature and the NSEC chain of what NSD loads."""
    for zone in ["test", *SIGNED_CHILDREN, "bogus.test"]:
        path = dns_fixture.workdir / "zones" / f"{zone}.zone"
        result = subprocess.run(["ldns-verify-zone", str(path)], capture_output=True, text=True)
        assert result.returncode == 0, f"{zone}: {result.stdout}{result.stderr}"


# --------------------------------------------------------------------------- DANE records
def served_tlsa(fx, name) -> str:
    rows = [r for r in answer_section(fx.kdig(name, "TLSA")) if r[3] == "TLSA"]
    assert len(rows) == 1, rows
    return " ".join(rows[0][4:]).lower()


def test_dane_ok_tlsa_matches_ldns_dane_and_danetool(dns_fixture, peer_cert):
    cert = str(peer_cert[0])
    ldns = subprocess.run(["ldns-dane", "-c", cert, "create", "mx.dane-ok.test", "25", "3", "1",
                           "1"], capture_output=True, text=True, check=True).stdout.split()
    from_ldns = " ".join(ldns[ldns.index("TLSA") + 1:]).lower()
    gnutls = subprocess.run(["danetool", "--tlsa-rr", "--load-certificate", cert, "--host",
                             "mx.dane-ok.test", "--port", "25"],
                            capture_output=True, text=True, check=True).stdout
    rdata = re.search(r"\(\s*(\S+) (\S+) (\S+) (\S+)\s*\)", gnutls)
    usage, selector, mtype, digest = rdata.groups()
    from_gnutls = f"{int(usage)} {int(selector)} {int(mtype)} {digest.lower()}"
    served = served_tlsa(dns_fixture, "_25._tcp.mx.dane-ok.test")
    assert served == from_ldns == from_gnutls
    assert dns_fixture.plan["dane-ok.test"].tlsa == served


def test_dane_bad_tlsa_does_not_match_the_peer_key(dns_fixture, peer_cert):
    served = served_tlsa(dns_fixture, "_25._tcp.mx.dane-bad.test")
    assert served.startswith("3 1 1 ")
    assert served.split()[3] != tlsa_spki_sha256(peer_cert[0])


# --------------------------------------------------------------------------- libunbound's view
@pytest.mark.parametrize("name,rrtype,status,rcode", [
    ("sovereign.test", "MX", "secure", 0),
    ("mx.sovereign.test", "A", "secure", 0),
    ("mx.peer.test", "A", "secure", 0),
    ("_25._tcp.mx.dane-ok.test", "TLSA", "secure", 0),
    ("_25._tcp.mx.dane-bad.test", "TLSA", "secure", 0),
    ("_25._tcp.mx.peer.test", "TLSA", "secure", 3),  # proven nonexistent: no DANE, securely
    ("_mta-sts.sts-enforce.test", "TXT", "secure", 0),
    ("mta-sts.sts-testing.test", "A", "secure", 0),
    ("unsigned.test", "DS", "secure", 0),  # NODATA, proven by the parent's NSEC
    ("mx.unsigned.test", "A", "insecure", 0),
    ("_25._tcp.mx.unsigned.test", "TLSA", "insecure", 3),
    ("mx.bogus.test", "A", "bogus", None),
    ("bogus.test", "MX", "bogus", None),
])
def test_libunbound_classifies_answers(dns_fixture, name, rrtype, status, rcode):
    result = unbound_resolve(dns_fixture, name, rrtype)
    assert result.status == status, result
    if rcode is not None:
        assert result.rcode == rcode, result


def test_plan_addresses_are_what_dns_answers(dns_fixture):
    for domain in dns_fixture.plan.domains.values():
        mx = unbound_resolve(dns_fixture, domain.name, "MX")
        assert [wire_name(r[2:]) for r in mx.rdata] == [domain.mx], domain
        a = unbound_resolve(dns_fixture, domain.mx, "A")
        assert a.rdata == [ipaddress.ip_address(domain.mx_ip).packed], domain
        if domain.sts_host:
            sts = unbound_resolve(dns_fixture, domain.sts_host, "A")
            assert sts.status == "secure"
            assert sts.rdata == [ipaddress.ip_address(domain.sts_ip).packed]


# --------------------------------------------------------------------------- changing zones
@pytest.fixture
def private_dns(tmp_path):
    """A fixture of our own: these tests change zones, the session one must stay standard."""
    fx = DnsFixture(tmp_path / "dns")
    fx.add_zone("change.test", ["@ MX 10 mx", "mx A 127.0.0.20"])
    fx.start()
    yield fx
    fx.stop()


def test_update_zone_changes_the_answer(private_dns):
    assert private_dns.kdig("mx.change.test", "A", "+short").split() == ["127.0.0.20"]
    private_dns.update_zone("change.test", ["@ MX 10 mx", "mx A 127.0.0.21"])
    assert private_dns.kdig("mx.change.test", "A", "+short").split() == ["127.0.0.21"]
    assert unbound_resolve(private_dns, "mx.change.test", "A").status == "secure"


def test_zones_added_while_running_are_delegated(private_dns):
    private_dns.add_zone("late.test", ["mx A 127.0.0.22"])
    private_dns.add_zone("late-plain.test", ["mx A 127.0.0.23"], kind="unsigned")
    private_dns.add_zone("late-bogus.test", ["mx A 127.0.0.24"], kind="bogus")
    assert unbound_resolve(private_dns, "mx.late.test", "A").status == "secure"
    assert unbound_resolve(private_dns, "mx.late-plain.test", "A").status == "insecure"
    assert unbound_resolve(private_dns, "mx.late-bogus.test", "A").status == "bogus"


def test_a_stopped_fixture_does_not_answer(private_dns):
    assert soa_serial(private_dns.address, private_dns.port, "change.test") == 1
    private_dns.stop()
    assert not private_dns.running
    assert soa_serial(private_dns.address, private_dns.port, "change.test", timeout=0.5) is None


# --------------------------------------------------------------------------- test CA
def test_ca_issues_verifiable_certificates(test_ca):
    for kind in ("ec", "rsa"):
        cert, key = test_ca.issue(["host.sovereign.test", "127.0.0.9"], key=kind)
        verify = subprocess.run(["openssl", "verify", "-CAfile", str(test_ca.ca_file),
                                 "-purpose", "sslserver", "-verify_hostname",
                                 "host.sovereign.test", "-verify_ip", "127.0.0.9", str(cert)],
                                capture_output=True, text=True)
        assert verify.returncode == 0, verify.stdout + verify.stderr
        other = subprocess.run(["openssl", "verify", "-CAfile", str(test_ca.ca_file),
                                "-verify_hostname", "other.test", str(cert)],
                               capture_output=True, text=True)
        assert other.returncode != 0
        assert "PRIVATE KEY" in key.read_text()


# --------------------------------------------------------------------------- Postfix peer
needs_postfix = pytest.mark.skipif(
    os.geteuid() != 0 or not os.path.exists(POSTFIX) or shutil.which("script") is None,
    reason="needs root and Debian's postfix package",
)


@needs_postfix
def test_postfix_peers_offer_starttls_with_the_test_ca_cert(tmp_path, dns_fixture, peer_cert,
                                                             test_ca):
    """One private Postfix plays the MX of peer.test and of dane-ok.test (two addresses)."""
    hosts = [dns_fixture.plan["peer.test"], dns_fixture.plan["dane-ok.test"]]
    pf = Postfix(tmp_path / "postfix", {"peer.test": "discard:"},
                 listen=[f"{d.mx_ip}:25" for d in hosts], tls=peer_cert).start()
    try:
        for domain in hosts:
            assert starttls_peer_cert(domain.mx_ip, domain.mx, test_ca.ca_file) == \
                peer_cert[0].read_text().strip()
    finally:
        pf.stop()


def starttls_peer_cert(ip: str, name: str, ca_file) -> str:
    """The PEM certificate an SMTP server at ip:25 presents after STARTTLS, verified for
    `name` against `ca_file`."""
    context = ssl.create_default_context(cafile=str(ca_file))
    with smtplib.SMTP(ip, 25, timeout=10) as client:
        client.ehlo("client.sovereign.test")
        assert client.has_extn("starttls")
        # smtplib verifies the certificate against the host it connected to (an IP here);
        # MTA-STS checks the MX name, so that is the name to verify.
        client._host = name
        client.starttls(context=context)
        der = client.sock.getpeercert(binary_form=True)
        assert client.ehlo("client.sovereign.test")[0] == 250
    return ssl.DER_cert_to_PEM_cert(der).strip()
