"""Submission and outbound delivery end to end on loopback: a client submits over TLS with AUTH
(Python smtplib), Sovereign queues the message, finds the recipient domain's MX through the
validating resolver and the signed test zones (dnsfixture.py), applies the TLS policy (DANE,
else opportunistic) and delivers to a real Postfix playing the MX, which stores it in a Maildir.
Failures: a 5xx becomes a DSN (RFC 3464) in the sender's mailbox, a 4xx and a down peer are
retried, a SIGKILL with messages queued loses and duplicates nothing."""
import email
import email.policy
import os
import re
import pwd
import smtplib
import ssl
import subprocess
from pathlib import Path

import pytest

from conftest import ADMIN, PASSWORD, run_cli, wait_for
from postfix import Postfix
from test_dnsfixture import needs_postfix

DOMAINS = ["peer.test", "dane-ok.test", "dane-bad.test"]
USERS = ["alice", "carol"]  # known at every peer domain; anyone else is 550 5.1.1


class PeerMx:
    """One Postfix answering as the MX of DOMAINS (their fixture addresses, port 25), storing
    mail for USERS in Maildirs under `boxes` (virtual(8) delivery) and refusing other users."""

    def __init__(self, base: Path, plan, peer_cert, extra=None):
        self.boxes = base / "boxes"
        self.boxes.mkdir(parents=True)
        nobody = pwd.getpwnam("nobody")
        os.chown(self.boxes, nobody.pw_uid, nobody.pw_gid)
        mailbox_map = ", ".join(f"{u}@{d}={d}/{u}/" for d in DOMAINS for u in USERS)
        settings = {
            "relay_domains": "",
            "transport_maps": "",
            "virtual_mailbox_domains": " ".join(DOMAINS),
            "virtual_mailbox_base": str(self.boxes),
            "virtual_mailbox_maps": f"inline:{{ {mailbox_map} }}",
            "virtual_uid_maps": f"static:{nobody.pw_uid}",
            "virtual_gid_maps": f"static:{nobody.pw_gid}",
            "virtual_mailbox_limit": "0",
            "smtpd_recipient_restrictions": "reject_unlisted_recipient, permit",
            **(extra or {}),
        }
        self.postfix = Postfix(base / "postfix", {}, settings=settings,
                               listen=[f"{plan[d].mx_ip}:25" for d in DOMAINS], tls=peer_cert)

    def start(self):
        self.postfix.start()
        return self

    def stop(self):
        self.postfix.stop()

    def reconfigure(self, **settings):
        self.postfix.settings.update(settings)
        self.postfix.write_config()
        self.postfix._postfix("reload")

    def mailbox(self, address):
        user, domain = address.split("@")
        new = self.boxes / domain / user / "new"
        return sorted(new.iterdir()) if new.exists() else []


@pytest.fixture
def peer(tmp_path, dns_fixture, peer_cert):
    mx = PeerMx(tmp_path / "peer", dns_fixture.plan, peer_cert).start()
    yield mx
    mx.stop()


QUEUE_CONFIG = '[queue]\nretry_first = "1s"\nretry_max = "2s"\n'


@pytest.fixture
def sender(server_factory, dns_data_dir):
    return server_factory(QUEUE_CONFIG, data=dns_data_dir)


def submit(server, to, subject="hello", body="Hello from Sovereign.\r\n", headers=""):
    message = (f"From: {ADMIN}\r\nTo: {', '.join(to)}\r\nSubject: {subject}\r\n{headers}\r\n"
               f"{body}")
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    with smtplib.SMTP("127.0.0.1", server.ports["submission"], timeout=30) as client:
        client.starttls(context=context)
        client.login(ADMIN, PASSWORD)
        refused = client.sendmail(ADMIN, to, message.encode())
    assert refused == {}
    return message


def queue(server, *args):
    return run_cli(server.data_dir, "queue", *args, check=False)


def queue_ids(server):
    out = queue(server, "list").stdout
    return [line.split()[0] for line in out.splitlines() if len(line.split()[0]) == 20]


def read(path):
    return email.message_from_bytes(path.read_bytes(), policy=email.policy.default)


@needs_postfix
def test_submitted_message_reaches_the_peer_mx(sender, peer):
    submit(sender, ["alice@peer.test"], subject="first")
    [delivered] = wait_for(lambda: peer.mailbox("alice@peer.test"), timeout=30,
                           what="delivery to alice@peer.test")
    msg = read(delivered)
    assert msg["Subject"] == "first"
    # RFC 6409 §8: the client sent neither; the submission server added both.
    assert msg["Date"] and msg["Message-ID"].endswith("@mail.example.test>")
    # Our Received (ESMTPSA: authenticated, TLS) and Postfix's, which saw TLS from us.
    received = msg.get_all("Received")
    assert any("with ESMTPSA" in r for r in received)
    assert "TLS" in peer.postfix.log_text()
    # Delivered: the queue forgets it.
    wait_for(lambda: queue_ids(sender) == [], timeout=10, what="empty queue")


@needs_postfix
def test_local_and_remote_recipients_in_one_transaction(sender, peer):
    submit(sender, ["carol@peer.test", ADMIN], subject="mixed")
    wait_for(lambda: peer.mailbox("carol@peer.test"), timeout=30, what="remote copy")
    wait_for(lambda: sender.messages(), timeout=10, what="local copy")


@needs_postfix
def test_dane_domain_is_delivered_over_authenticated_tls(sender, peer):
    submit(sender, ["alice@dane-ok.test"])
    wait_for(lambda: peer.mailbox("alice@dane-ok.test"), timeout=30, what="DANE delivery")
    assert "queue.attempt" in sender.log_text()


@needs_postfix
def test_wrong_tlsa_defers_and_never_sends_in_plaintext(sender, peer):
    submit(sender, ["alice@dane-bad.test"], subject="must not leak")
    [qid] = wait_for(lambda: queue_ids(sender) or None, timeout=10, what="queued")

    def deferred_for_dane():
        shown = queue(sender, "show", qid).stdout
        return shown if "DANE authentication failed" in shown else None

    shown = wait_for(deferred_for_dane, timeout=30, what="DANE deferral")
    assert "pending" in shown
    assert peer.mailbox("alice@dane-bad.test") == []
    assert "must not leak" not in peer.postfix.log_text()


@needs_postfix
def test_permanent_failure_returns_a_dsn_to_the_sender(sender, peer):
    submit(sender, ["nobody-here@peer.test"], subject="bounce me",
           headers="Message-ID: <bounce-test@example.test>\r\n")

    def dsn():
        for _, _, _, raw in sender.messages():
            if b"multipart/report" in raw:
                return raw
        return None

    raw = wait_for(dsn, timeout=30, what="DSN in the sender's INBOX")
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    assert msg.get_content_type() == "multipart/report"
    assert msg.get_param("report-type") == "delivery-status"
    human, status, original = msg.get_payload()
    assert status.get_content_type() == "message/delivery-status"
    # message/delivery-status: per-message fields, then one block per recipient.
    blocks = status.get_payload()
    assert blocks[0]["Reporting-MTA"] == "dns; mail.example.test"
    rcpt = blocks[1]
    assert rcpt["Final-Recipient"] == "rfc822; nobody-here@peer.test"
    assert rcpt["Action"] == "failed"
    assert rcpt["Status"] == "5.1.1"
    assert rcpt["Diagnostic-Code"].startswith("smtp; 550")
    assert original.get_content_type() == "message/rfc822"
    assert "<bounce-test@example.test>" in original.as_string()
    # The DSN came from the null sender, so it cannot bounce in turn.
    assert b"Return-Path: <>" in raw
    wait_for(lambda: queue_ids(sender) == [], timeout=10, what="empty queue")


@needs_postfix
def test_temporary_failure_is_retried_then_delivered(sender, peer):
    peer.reconfigure(smtpd_recipient_restrictions=(
        "check_recipient_access inline:{ { alice@peer.test = 451 4.7.1 try again later } }, permit"))
    submit(sender, ["alice@peer.test"], subject="retry me")
    [qid] = wait_for(lambda: queue_ids(sender) or None, timeout=10, what="queued")
    wait_for(lambda: "451 4.7.1" in queue(sender, "show", qid).stdout or None, timeout=30,
             what="the 4xx recorded")
    peer.reconfigure(smtpd_recipient_restrictions="reject_unlisted_recipient, permit")
    wait_for(lambda: peer.mailbox("alice@peer.test"), timeout=30, what="delivery after retry")


@needs_postfix
def test_down_peer_is_retried(sender, peer):
    peer.stop()
    submit(sender, ["alice@peer.test"], subject="while down")
    [qid] = wait_for(lambda: queue_ids(sender) or None, timeout=10, what="queued")
    wait_for(lambda: "attempts=" in queue(sender, "show", qid).stdout
             and "attempts=0" not in queue(sender, "show", qid).stdout or None,
             timeout=30, what="a failed attempt")
    peer.start()
    wait_for(lambda: peer.mailbox("alice@peer.test"), timeout=30, what="delivery once up")


@needs_postfix
def test_sigkill_with_a_full_queue_loses_and_duplicates_nothing(sender, peer):
    peer.stop()
    sent = []
    for i in range(5):
        submit(sender, ["alice@peer.test"], subject=f"survivor {i}",
               headers=f"Message-ID: <survivor-{i}@example.test>\r\n")
        sent.append(f"<survivor-{i}@example.test>")
    assert len(queue_ids(sender)) == 5
    sender.restart()  # SIGKILL, then a new process on the same data directory
    peer.start()
    delivered = wait_for(lambda: len(peer.mailbox("alice@peer.test")) >= 5 and
                         peer.mailbox("alice@peer.test"), timeout=60, what="5 deliveries")
    wait_for(lambda: queue_ids(sender) == [], timeout=20, what="empty queue")
    ids = sorted(read(p)["Message-ID"] for p in peer.mailbox("alice@peer.test"))
    assert ids == sorted(sent)
    assert len(delivered) == 5


@needs_postfix
def test_queue_commands(sender, peer):
    peer.stop()
    submit(sender, ["alice@peer.test"], subject="held")
    [qid] = wait_for(lambda: queue_ids(sender) or None, timeout=10, what="queued")
    assert queue(sender, "hold", qid).returncode == 0
    assert "HELD" in queue(sender, "list").stdout
    peer.start()
    assert queue(sender, "release", qid).returncode == 0
    assert queue(sender, "retry", qid).returncode == 0
    wait_for(lambda: peer.mailbox("alice@peer.test"), timeout=30, what="delivery after release")
    bad = queue(sender, "show", "../../etc/passwd")
    assert bad.returncode != 0 and "not a queue id" in bad.stderr


def txt_strings(rdata: bytes) -> bytes:
    """The character-strings of a TXT RDATA, concatenated (RFC 1035 §3.3.14)."""
    out, i = b"", 0
    while i < len(rdata):
        n = rdata[i]
        out += rdata[i + 1:i + 1 + n]
        i += 1 + n
    return out


@needs_postfix
def test_dkim_signatures_verify_at_the_receiver(sender, peer, dns_fixture):
    """Both signatures (rsa-sha256, ed25519-sha256) on a message that went through submission,
    the queue and a real Postfix verify with dkimpy, against keys published in the signed test
    zone and looked up through a validating resolver."""
    import dkim
    from dnsfixture import unbound_resolve
    from test_dkim import txt_records

    run_cli(sender.data_dir, "dkim", "keygen", "example.test")
    records, _ = txt_records(sender.data_dir)
    assert len(records) == 2
    zone = [f'{selector}._domainkey TXT "{value[:255]}" "{value[255:]}"'
            if len(value) > 255 else f'{selector}._domainkey TXT "{value}"'
            for selector, value in records.items()]
    if "example.test" in dns_fixture.zones:
        dns_fixture.update_zone("example.test", zone)
    else:
        dns_fixture.add_zone("example.test", zone)
    offset = len(sender.log_text())
    sender.process.send_signal(1)  # SIGHUP: reload the keyring
    wait_for(lambda: "event=dkim.loaded domains=1" in sender.log_text()[offset:] or None,
             timeout=10, what="keyring reload")

    submit(sender, ["alice@peer.test"], subject="signed",
           body="Lines with trailing spaces   \r\n.leading dot\r\n\r\n\r\n")
    [delivered] = wait_for(lambda: peer.mailbox("alice@peer.test"), timeout=30, what="delivery")
    raw = delivered.read_bytes().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")

    def dnsfunc(name, timeout=5):
        name = name.decode() if isinstance(name, bytes) else name
        answer = unbound_resolve(dns_fixture, name.rstrip("."), "TXT")
        assert answer.secure, f"{name}: {answer.status}"
        return b"".join(txt_strings(r) for r in answer.rdata) or None

    d = dkim.DKIM(raw)
    signatures = [v for n, v in d.headers if n.lower() == b"dkim-signature"]
    algorithms = sorted(re.search(rb"a=([\w-]+)", s).group(1).decode() for s in signatures)
    assert algorithms == ["ed25519-sha256", "rsa-sha256"]
    for i in range(len(signatures)):
        assert d.verify(idx=i, dnsfunc=dnsfunc), f"signature {i} did not verify"


def submission_client(server, implicit=False):
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    if implicit:
        client = smtplib.SMTP_SSL("127.0.0.1", server.ports["submissions"], timeout=30,
                                  context=context)
    else:
        client = smtplib.SMTP("127.0.0.1", server.ports["submission"], timeout=30)
        client.starttls(context=context)
    return client


@needs_postfix
def test_implicit_tls_submission_on_465(sender, peer):
    with submission_client(sender, implicit=True) as client:
        client.login(ADMIN, PASSWORD)
        client.sendmail(ADMIN, ["carol@peer.test"],
                        f"From: {ADMIN}\r\nTo: carol@peer.test\r\nSubject: 465\r\n\r\nhi\r\n")
    wait_for(lambda: peer.mailbox("carol@peer.test"), timeout=30, what="delivery via 465")


def test_a_user_cannot_send_as_another(server_factory, tmp_path):
    server = server_factory('[submission]\nsender_policy = "own"\n')
    run_cli(server.data_dir, "user", "add", "bob@example.test", stdin="bob password 1234\n")
    with submission_client(server) as client:
        client.login("bob@example.test", "bob password 1234")
        code, reply = client.mail(ADMIN)
        assert code == 550 and b"5.7.1" in reply
        client.rset()
        code, _ = client.mail("bob+lists@example.test")  # own address with a +tag
        assert code == 250


def test_no_relaying_without_authentication(server):
    with smtplib.SMTP("127.0.0.1", server.ports["mx"], timeout=30) as client:
        client.ehlo("relay-test.example")
        client.mail("someone@elsewhere.example")
        code, reply = client.rcpt("victim@peer.test")
        assert code == 550 and b"5.7.1" in reply
    assert queue_ids(server) == []


def test_hourly_message_limit(server_factory):
    server = server_factory('[submission]\nmax_messages_per_hour = 2\n')
    with submission_client(server) as client:
        client.login(ADMIN, PASSWORD)
        for i in range(2):
            client.sendmail(ADMIN, [ADMIN], f"Subject: {i}\r\n\r\nx\r\n")
        code, reply = client.mail(ADMIN)
        assert code == 451 and b"4.7.1" in reply
