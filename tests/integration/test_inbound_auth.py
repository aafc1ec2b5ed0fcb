"""The MX authenticates what it receives (issue 6): swaks delivers from loopback addresses that
the sender domain's SPF record authorises (127.0.0.1) or not (127.0.0.9), with and without a
valid DKIM signature made by dkimpy, and the stored message's Authentication-Results field says
exactly what happened. The sender's zone (SPF, DKIM key, DMARC p=reject) is served, DNSSEC
signed, by a DnsFixture of this module."""
import base64
import re
import signal
import subprocess

import dkim
import pytest
from nacl.signing import SigningKey

from conftest import ADMIN, HOSTNAME, dns_config, make_data_dir, merge_config
from dnsfixture import DnsFixture
from waiting import wait_for

SENDER = "sender.test"  # SPF: 127.0.0.1 only; DMARC p=reject; DKIM keys rsa1 and ed1
LOOSE = "loose.test"    # no SPF, DMARC p=none
GOOD_IP = "127.0.0.1"
BAD_IP = "127.0.0.9"


def txt(name, value):
    chunks = [value[i:i + 255] for i in range(0, len(value), 255)]
    return f"{name} TXT " + " ".join(f'"{c}"' for c in chunks)


@pytest.fixture(scope="module")
def keys(tmp_path_factory):
    base = tmp_path_factory.mktemp("keys")
    pem = base / "rsa.pem"
    subprocess.run(["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048",
                    "-out", str(pem)], check=True, capture_output=True)
    der = subprocess.run(["openssl", "pkey", "-in", str(pem), "-pubout", "-outform", "DER"],
                         check=True, capture_output=True).stdout
    ed = SigningKey.generate()
    return {
        "rsa_private": pem.read_bytes(),
        "rsa_public": base64.b64encode(der).decode(),
        "ed_private": base64.b64encode(bytes(ed)),
        "ed_public": base64.b64encode(bytes(ed.verify_key)).decode(),
    }


@pytest.fixture(scope="module")
def zones(tmp_path_factory, keys):
    fx = DnsFixture(tmp_path_factory.mktemp("dns"))
    fx.add_zone(SENDER, [
        txt("@", f"v=spf1 ip4:{GOOD_IP} -all"),
        txt("_dmarc", "v=DMARC1; p=reject"),
        txt("rsa1._domainkey", f"v=DKIM1; k=rsa; p={keys['rsa_public']}"),
        txt("ed1._domainkey", f"v=DKIM1; k=ed25519; p={keys['ed_public']}"),
        "mx A 127.0.0.1",
    ])
    fx.add_zone(LOOSE, [txt("_dmarc", "v=DMARC1; p=none"), "mx A 127.0.0.1"])
    fx.start()
    yield fx
    fx.stop()


@pytest.fixture
def mx(tmp_path, server_factory, zones):
    def start(extra=""):
        data = make_data_dir(tmp_path / f"mx{len(list(tmp_path.iterdir()))}")
        config = data / "sovereign.toml"
        config.write_text(merge_config(config.read_text(), dns_config(zones)))
        return server_factory(extra, data=data)
    return start


def message(domain=SENDER, subject="hello", extra_headers=b""):
    return (f"From: Alice <alice@{domain}>\r\nTo: {ADMIN}\r\nSubject: {subject}\r\n"
            f"Message-ID: <{subject.replace(' ', '.')}@{domain}>\r\n"
            "Date: Sun, 29 Nov 2026 10:00:00 +0000\r\n").encode() + extra_headers + (
            b"\r\nHello from the sender.\r\nSecond line.\r\n")


def sign(msg, keys, selector="rsa1", domain=SENDER, canon=(b"relaxed", b"relaxed")):
    if selector.startswith("ed"):
        sig = dkim.sign(msg, selector.encode(), domain.encode(), keys["ed_private"],
                        signature_algorithm=b"ed25519-sha256", canonicalize=canon,
                        include_headers=[b"from", b"to", b"subject", b"message-id", b"date"])
    else:
        sig = dkim.sign(msg, selector.encode(), domain.encode(), keys["rsa_private"],
                        canonicalize=canon,
                        include_headers=[b"from", b"to", b"subject", b"message-id", b"date"])
    return sig + msg


def swaks(server, msg, source_ip, sender=f"alice@{SENDER}", tmp_path=None):
    path = tmp_path / f"msg-{source_ip}.eml"
    path.write_bytes(msg)
    return subprocess.run(
        ["swaks", "--server", f"127.0.0.1:{server.ports['mx']}", "--local-interface", source_ip,
         "--helo", f"mx.{sender.split('@')[-1] or SENDER}", "--from", sender, "--to", ADMIN,
         "--data", str(path)],
        capture_output=True, text=True, timeout=60,
    )


def results_of(stored: bytes, authserv_id=HOSTNAME):
    """{method: [resinfo text]} of the single Authentication-Results field with our id, which
    must sit right below our Received field."""
    header = stored.split(b"\r\n\r\n", 1)[0].decode()
    unfolded = re.sub(r"\r\n[ \t]+", " ", header).split("\r\n")
    ours = [f for f in unfolded if f.lower().startswith("authentication-results:")
            and f.split(":", 1)[1].strip().split(";")[0].strip() == authserv_id]
    assert len(ours) == 1, header
    names = [f.split(":", 1)[0] for f in unfolded]
    assert names[:3] == ["Return-Path", "Received", "Authentication-Results"], names
    out = {}
    for resinfo in ours[0].split(";")[1:]:
        resinfo = resinfo.strip()
        method = resinfo.split("=", 1)[0]
        out.setdefault(method, []).append(resinfo)
    return out


def deliver(server, msg, source_ip, tmp_path, **kw):
    before = len(server.messages())
    result = swaks(server, msg, source_ip, tmp_path=tmp_path, **kw)
    assert result.returncode == 0, result.stdout + result.stderr
    stored = server.messages()
    assert len(stored) == before + 1
    return stored[-1][3]


def test_spf_pass_and_dkim_pass_give_dmarc_pass(mx, keys, tmp_path):
    server = mx()
    res = results_of(deliver(server, sign(message(), keys), GOOD_IP, tmp_path))
    assert res["spf"] == [f"spf=pass smtp.mailfrom=alice@{SENDER}"]
    [d] = res["dkim"]
    assert d.startswith(f"dkim=pass header.d={SENDER}") and "header.s=rsa1" in d
    assert res["dmarc"] == [f"dmarc=pass header.from={SENDER}"]
    assert res["arc"][0].startswith("arc=none")


def test_unauthorised_address_with_valid_ed25519_signature_passes_dmarc(mx, keys, tmp_path):
    server = mx()
    res = results_of(deliver(server, sign(message(), keys, selector="ed1"), BAD_IP, tmp_path))
    assert res["spf"][0].startswith("spf=fail")
    [d] = res["dkim"]
    assert d.startswith("dkim=pass") and "header.a=ed25519-sha256" in d
    assert res["dmarc"] == [f"dmarc=pass header.from={SENDER}"]


def test_authorised_address_without_signature_passes_dmarc_by_spf(mx, tmp_path):
    server = mx()
    res = results_of(deliver(server, message(), GOOD_IP, tmp_path))
    assert res["spf"][0].startswith("spf=pass")
    assert res["dkim"] == ["dkim=none"]
    assert res["dmarc"] == [f"dmarc=pass header.from={SENDER}"]


def test_neither_fails_dmarc_and_is_recorded_by_default(mx, tmp_path):
    server = mx()
    res = results_of(deliver(server, message(), BAD_IP, tmp_path))
    assert res["spf"][0].startswith("spf=fail")
    assert res["dkim"] == ["dkim=none"]
    [d] = res["dmarc"]
    assert d.startswith("dmarc=fail") and "policy.dmarc=reject" in d
    assert f"header.from={SENDER}" in d


def test_tampered_body_fails_dkim(mx, keys, tmp_path):
    server = mx()
    signed = sign(message(), keys).replace(b"Second line.", b"Second line!")
    res = results_of(deliver(server, signed, BAD_IP, tmp_path))
    [d] = res["dkim"]
    assert d.startswith("dkim=fail") and f"header.d={SENDER}" in d
    assert res["dmarc"][0].startswith("dmarc=fail")


def test_no_spf_record_and_p_none(mx, tmp_path):
    server = mx()
    res = results_of(deliver(server, message(domain=LOOSE), BAD_IP, tmp_path,
                             sender=f"bob@{LOOSE}"))
    assert res["spf"][0].startswith("spf=none")
    [d] = res["dmarc"]
    assert d.startswith("dmarc=fail") and "policy.dmarc=none" in d


def test_forged_results_with_our_id_are_removed(mx, keys, tmp_path):
    server = mx()
    forged = (f"Authentication-Results: {HOSTNAME}; dkim=pass header.d=bank.test\r\n"
              "Authentication-Results: elsewhere.test; spf=pass\r\n").encode()
    stored = deliver(server, message(extra_headers=forged), BAD_IP, tmp_path)
    res = results_of(stored)  # asserts exactly one field with our id
    assert b"bank.test" not in stored
    assert b"Authentication-Results: elsewhere.test; spf=pass\r\n" in stored
    assert res["dmarc"][0].startswith("dmarc=fail")


def test_reject_enforcement_refuses_dmarc_failures_only(mx, keys, tmp_path):
    server = mx('[mailauth]\ndmarc_enforcement = "reject"\n')
    refused = swaks(server, message(subject="spoofed"), BAD_IP, tmp_path=tmp_path)
    assert refused.returncode != 0
    assert "550 5.7.1" in refused.stdout and "DMARC" in refused.stdout
    assert server.messages() == []
    res = results_of(deliver(server, sign(message(subject="genuine"), keys), BAD_IP, tmp_path))
    assert res["dmarc"][0].startswith("dmarc=pass")


def test_sighup_applies_enforcement_and_authserv_id(mx, keys, tmp_path):
    # [mailauth] is re-read at SIGHUP and applies from the next message on (roles/server.cpp).
    server = mx()
    res = results_of(deliver(server, message(subject="before"), BAD_IP, tmp_path))
    assert res["dmarc"][0].startswith("dmarc=fail")  # recorded, not refused
    config = server.data_dir / "sovereign.toml"
    config.write_text(merge_config(
        config.read_text(),
        '[mailauth]\ndmarc_enforcement = "reject"\nauthserv_id = "auth.example.test"\n'))
    server.process.send_signal(signal.SIGHUP)
    wait_for(lambda: "event=config.reloaded" in server.log_text(), what="config.reloaded")
    refused = swaks(server, message(subject="after"), BAD_IP, tmp_path=tmp_path)
    assert "550 5.7.1" in refused.stdout and "DMARC" in refused.stdout, refused.stdout
    stored = deliver(server, sign(message(subject="signed"), keys), BAD_IP, tmp_path)
    assert results_of(stored, "auth.example.test")["dmarc"][0].startswith("dmarc=pass")
    assert f"Authentication-Results: {HOSTNAME};".encode() not in stored


def test_sighup_names_the_settings_that_need_a_restart(mx):
    # What SIGHUP cannot change in a running server is said, not silently ignored.
    server = mx()
    config = server.data_dir / "sovereign.toml"
    config.write_text(merge_config(
        config.read_text(), '[mailauth]\nverify = "off"\n[tlsrpt]\nenabled = "off"\n'))
    server.process.send_signal(signal.SIGHUP)
    wait_for(lambda: "event=config.reloaded" in server.log_text(), what="config.reloaded")
    log = server.log_text()
    for setting in ("mailauth.verify", "tlsrpt.enabled"):
        assert f"event=config.restart_needed setting={setting}" in log, log


def test_verify_off_adds_nothing(mx, tmp_path):
    server = mx('[mailauth]\nverify = "off"\n')
    stored = deliver(server, message(), BAD_IP, tmp_path)
    assert b"Authentication-Results" not in stored


def arc_forwarded(msg, keys, srv_id=f"fwd.{SENDER}"):
    """The message as a forwarder at sender.test passes it on: its own Authentication-Results,
    then an ARC set sealed by dkimpy with the rsa1 key of the test zone."""
    msg = f"Authentication-Results: {srv_id}; dkim=pass header.d={SENDER}\r\n".encode() + msg
    arc_set = dkim.arc_sign(msg, b"rsa1", SENDER.encode(), keys["rsa_private"], srv_id.encode())
    assert len(arc_set) == 3, arc_set
    return b"".join(arc_set) + msg


def test_arc_chain_sealed_by_dkimpy_passes(mx, keys, tmp_path):
    # The key lookups on the I/O thread, the chain checked on the worker pool (inbound_auth.cpp).
    server = mx()
    res = results_of(deliver(server, arc_forwarded(sign(message(), keys), keys), BAD_IP,
                             tmp_path))
    [a] = res["arc"]
    assert a.startswith("arc=pass header.oldest-pass=0"), a


def test_arc_chain_broken_after_sealing_fails(mx, keys, tmp_path):
    server = mx()
    sealed = arc_forwarded(sign(message(), keys), keys).replace(b"Second line.", b"Second line!")
    res = results_of(deliver(server, sealed, BAD_IP, tmp_path))
    [a] = res["arc"]
    assert a.startswith("arc=fail"), a
