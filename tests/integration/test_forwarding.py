"""Aliases that forward outside (issue 6): swaks delivers to our MX for an alias of example.test
whose targets live at peer.test, a real Postfix served by the session's signed test DNS
(test_outbound.PeerMx). The forwarded copy keeps the envelope sender, carries an ARC set sealed
with example.test's DKIM key (published in the test zone) that dkimpy's ARC verifier accepts; a
mixed alias also lands in the local mailbox; a message that has looped is refused with 554."""
import re
import subprocess

import dkim
import pytest

from conftest import ADMIN, HOSTNAME, run_cli, wait_for
from test_dnsfixture import needs_postfix
from test_outbound import QUEUE_CONFIG, peer, read, txt_strings  # noqa: F401 (fixture)

DOMAIN = "example.test"


@pytest.fixture
def forwarder(server_factory, dns_data_dir, dns_fixture):
    """Our server, with example.test's DKIM keys published in the test zone and loaded."""
    from test_dkim import txt_records

    server = server_factory(QUEUE_CONFIG, data=dns_data_dir)
    run_cli(server.data_dir, "dkim", "keygen", DOMAIN)
    records, _ = txt_records(server.data_dir)
    zone = [f'{selector}._domainkey TXT "{value[:255]}" "{value[255:]}"'
            if len(value) > 255 else f'{selector}._domainkey TXT "{value}"'
            for selector, value in records.items()]
    if DOMAIN in dns_fixture.zones:
        dns_fixture.update_zone(DOMAIN, zone)
    else:
        dns_fixture.add_zone(DOMAIN, zone)
    offset = len(server.log_text())
    server.process.send_signal(1)  # SIGHUP: reload the keyring
    wait_for(lambda: "event=dkim.loaded domains=1" in server.log_text()[offset:] or None,
             timeout=10, what="keyring reload")
    return server


def swaks(server, to, sender="someone@origin.invalid", headers=(), tmp_path=None):
    args = ["swaks", "--server", f"127.0.0.1:{server.ports['mx']}", "--helo", "origin.invalid",
            "--from", sender, "--to", to, "--header", "Subject: forwarded",
            "--header", "From: Someone <someone@origin.invalid>"]
    for h in headers:
        args += ["--add-header", h]
    return subprocess.run(args, capture_output=True, text=True, timeout=60)


def raw(path):
    return path.read_bytes().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def dnsfunc_for(dns_fixture):
    from dnsfixture import unbound_resolve

    def dnsfunc(name, timeout=5):
        name = name.decode() if isinstance(name, bytes) else name
        answer = unbound_resolve(dns_fixture, name.rstrip("."), "TXT")
        return b"".join(txt_strings(r) for r in answer.rdata) or None
    return dnsfunc


def field_names(message: bytes):
    header = message.split(b"\r\n\r\n", 1)[0].decode()
    return [f.split(":", 1)[0] for f in re.sub(r"\r\n[ \t]+", " ", header).split("\r\n")]


@needs_postfix
def test_forward_only_alias_is_sealed_and_verifies(forwarder, peer, dns_fixture):
    run_cli(forwarder.data_dir, "alias", "add", f"out@{DOMAIN}", "alice@peer.test")
    result = swaks(forwarder, f"out@{DOMAIN}")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "250 2.1.5 Recipient OK, will be forwarded" in result.stdout
    [delivered] = wait_for(lambda: peer.mailbox("alice@peer.test"), timeout=30, what="delivery")
    message = raw(delivered)
    names = field_names(message)
    for name in ("ARC-Seal", "ARC-Message-Signature", "ARC-Authentication-Results"):
        assert names.count(name) == 1, names
    # Envelope sender kept (RFC 5321 §3.9.1, no SRS).
    assert read(delivered)["Return-Path"] == "<someone@origin.invalid>"
    # The AAR is our verdict on arrival.
    aar = read(delivered)["ARC-Authentication-Results"]
    assert re.match(rf"i=1;\s*{re.escape(HOSTNAME)};", aar), aar
    assert "arc=none" in aar and "spf=" in aar
    seal = read(delivered)["ARC-Seal"]
    assert "cv=none" in seal and f"d={DOMAIN}" in seal and "a=rsa-sha256" in seal
    # dkimpy's ARC verifier accepts the chain, with the key from the signed test zone.
    cv, results, comment = dkim.arc_verify(message, dnsfunc=dnsfunc_for(dns_fixture))
    assert cv == dkim.CV_Pass, (cv, results, comment)


@needs_postfix
def test_mixed_alias_delivers_here_and_there(forwarder, peer, tmp_path):
    run_cli(forwarder.data_dir, "alias", "add", f"team@{DOMAIN}", ADMIN, "carol@peer.test",
            "alice@peer.test")
    # The same outside target reached twice (team and out): one copy each.
    run_cli(forwarder.data_dir, "alias", "add", f"out@{DOMAIN}", "alice@peer.test")
    before = len(forwarder.messages())
    args = ["swaks", "--server", f"127.0.0.1:{forwarder.ports['mx']}", "--helo", "origin.invalid",
            "--from", "<>", "--to", f"team@{DOMAIN},out@{DOMAIN}", "--header", "Subject: mixed"]
    result = subprocess.run(args, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    wait_for(lambda: len(forwarder.messages()) == before + 1 or None, timeout=10,
             what="local copy")
    [carol] = wait_for(lambda: peer.mailbox("carol@peer.test"), timeout=30, what="carol")
    [alice] = wait_for(lambda: peer.mailbox("alice@peer.test"), timeout=30, what="alice")
    for path in (carol, alice):
        assert "ARC-Seal" in field_names(raw(path))
        # The null reverse-path stays null: Postfix records it as <>.
        assert read(path)["Return-Path"] == "<>"
    assert len(forwarder.messages()) == before + 1
    # Nothing more arrives: the queue holds no second copy.
    assert run_cli(forwarder.data_dir, "queue", "list", check=False).stdout.count("peer.test") == 0


@needs_postfix
def test_looping_message_is_refused(forwarder, peer):
    run_cli(forwarder.data_dir, "alias", "add", f"out@{DOMAIN}", "alice@peer.test")
    hops = [f"Received: from hop{i}.invalid by hop{i + 1}.invalid; Sun, 29 Nov 2026 10:00:00 +0000"
            for i in range(101)]
    result = swaks(forwarder, f"out@{DOMAIN}", headers=hops)
    assert result.returncode != 0
    assert "554 5.4.6" in result.stdout, result.stdout
    # A plain mailbox still takes a message with a long (but not looping-through-us) history.
    ok = swaks(forwarder, ADMIN, headers=hops[:20])
    assert ok.returncode == 0, ok.stdout
    assert peer.mailbox("alice@peer.test") == []
