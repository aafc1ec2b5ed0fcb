"""REQUIRETLS (RFC 8689) on our server side: advertised and accepted only on TLS sessions
(530 5.7.10 otherwise), kept with the queued message, and enforced on delivery: a peer that does
not offer REQUIRETLS (a real Postfix, with DANE-authenticated TLS) gets nothing and the sender
gets a 5.7.30 DSN carrying only the original header (§5). The DSN of a relayed (forwarded)
REQUIRETLS message is queued with REQUIRETLS itself and, at a sender's MX without it, still
delivered rather than discarded (§5)."""
import email
import email.policy
import smtplib
import ssl

import pytest

from conftest import ADMIN, PASSWORD, run_cli, wait_for
from test_dnsfixture import needs_postfix
from test_outbound import PeerMx, QUEUE_CONFIG, queue_ids


@pytest.fixture
def peer(tmp_path, dns_fixture, peer_cert):
    mx = PeerMx(tmp_path / "peer", dns_fixture.plan, peer_cert).start()
    yield mx
    mx.stop()


def insecure_context():
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def test_advertised_only_over_tls(server):
    with smtplib.SMTP("127.0.0.1", server.ports["mx"], timeout=30) as client:
        client.ehlo("client.example")
        assert not client.has_extn("requiretls")
        code, text = client.docmd("MAIL FROM:<someone@example.org> REQUIRETLS")
        assert code == 530 and text.startswith(b"5.7.10")
        client.starttls(context=insecure_context())
        client.ehlo("client.example")
        assert client.has_extn("requiretls")
        code, _ = client.docmd("MAIL FROM:<someone@example.org> REQUIRETLS")
        assert code == 250


@needs_postfix
def test_requiretls_to_a_peer_without_it_bounces_5_7_30(server_factory, dns_data_dir, peer):
    sender = server_factory(QUEUE_CONFIG, data=dns_data_dir)
    message = (f"From: {ADMIN}\r\nTo: alice@dane-ok.test\r\nSubject: secret\r\n"
               "Message-ID: <requiretls-test@example.test>\r\n\r\nConfidential body.\r\n")
    with smtplib.SMTP("127.0.0.1", sender.ports["submission"], timeout=30) as client:
        client.starttls(context=insecure_context())
        client.ehlo()
        assert client.has_extn("requiretls")
        client.login(ADMIN, PASSWORD)
        refused = client.sendmail(ADMIN, ["alice@dane-ok.test"], message.encode(),
                                  mail_options=["REQUIRETLS"])
    assert refused == {}

    def dsn():
        for _, _, _, raw in sender.messages():
            if b"multipart/report" in raw:
                return raw
        return None

    raw = wait_for(dsn, timeout=40, what="5.7.30 DSN in the sender's INBOX")
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    _, status, original = msg.get_payload()
    rcpt = status.get_payload()[1]
    assert rcpt["Final-Recipient"] == "rfc822; alice@dane-ok.test"
    assert rcpt["Action"] == "failed"
    assert rcpt["Status"] == "5.7.30"
    # §5: returned as if RET=HDRS: the header only, never the body.
    assert original.get_content_type() == "text/rfc822-headers"
    assert b"Confidential body." not in raw
    assert peer.mailbox("alice@dane-ok.test") == []
    wait_for(lambda: queue_ids(sender) == [], timeout=10, what="empty queue")


@needs_postfix
def test_dsn_of_a_relayed_requiretls_message_is_queued_with_requiretls(
        server_factory, dns_data_dir, peer):
    server = server_factory(QUEUE_CONFIG, data=dns_data_dir)
    run_cli(server.data_dir, "alias", "add", "out@example.test", "alice@dane-ok.test")
    offset = len(server.log_text())
    message = ("From: Carol <carol@peer.test>\r\nTo: out@example.test\r\nSubject: secret\r\n"
               "Message-ID: <requiretls-relayed@peer.test>\r\n\r\nConfidential body.\r\n")
    with smtplib.SMTP("127.0.0.1", server.ports["mx"], timeout=30) as client:
        client.starttls(context=insecure_context())
        client.ehlo("mx.peer.test")
        refused = client.sendmail("carol@peer.test", ["out@example.test"], message.encode(),
                                  mail_options=["REQUIRETLS"])
    assert refused == {}
    # The forwarded copy fails at dane-ok.test's MX (authenticated, but no REQUIRETLS): 5.7.30.
    # Its DSN goes to carol@peer.test, whose MX (Postfix) does not offer REQUIRETLS either: the
    # bounce, queued with REQUIRETLS, is sent without it rather than lost.
    [dsn] = wait_for(lambda: peer.mailbox("carol@peer.test"), timeout=60, what="DSN at peer")
    raw = dsn.read_bytes()
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    assert msg.get_content_type() == "multipart/report"
    _, status, original = msg.get_payload()
    rcpt = status.get_payload()[1]
    assert rcpt["Status"] == "5.7.30"
    assert original.get_content_type() == "text/rfc822-headers"
    assert b"Confidential body." not in raw
    log = server.log_text()[offset:]
    assert "event=queue.requiretls_waived" in log, log
    assert peer.mailbox("alice@dane-ok.test") == []
