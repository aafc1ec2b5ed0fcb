"""Delivery status notifications beyond failures, end to end (issue 5): NOTIFY=SUCCESS answered
with a "relayed" DSN when the peer MX (a real Postfix) does not offer DSN and passed on when it
does (RFC 3461 §5.2.2, §5.2.3), a "delivered" DSN for a local mailbox, a "delayed" DSN while the
peer answers 4xx ([queue] delay_warning), and "TLS-Required: No" (RFC 8689 §4.2.2) letting a
message through a failing DANE policy. Every DSN is read back from the sender's INBOX and parsed
as RFC 3464 with Python's email module."""
import email
import email.policy
import smtplib
import ssl

import pytest

from conftest import ADMIN, PASSWORD, wait_for
from test_dnsfixture import needs_postfix
from test_outbound import QUEUE_CONFIG, PeerMx, queue, queue_ids

REPORTING_MTA = "dns; mail.example.test"


@pytest.fixture
def sender(server_factory, dns_data_dir):
    return server_factory(QUEUE_CONFIG, data=dns_data_dir)


def start_peer(tmp_path, dns_fixture, peer_cert, **extra):
    return PeerMx(tmp_path / "peer", dns_fixture.plan, peer_cert, extra=extra).start()


@pytest.fixture
def peer(tmp_path, dns_fixture, peer_cert):
    mx = start_peer(tmp_path, dns_fixture, peer_cert)
    yield mx
    mx.stop()


@pytest.fixture
def peer_without_dsn(tmp_path, dns_fixture, peer_cert):
    # Postfix offers DSN unless told to hide the keyword (postconf(5) smtpd_discard_ehlo_keywords).
    mx = start_peer(tmp_path, dns_fixture, peer_cert, smtpd_discard_ehlo_keywords="dsn")
    yield mx
    mx.stop()


def submit(server, to, subject, rcpt_options=(), headers="", mail_options=()):
    message = (f"From: {ADMIN}\r\nTo: {', '.join(to)}\r\nSubject: {subject}\r\n"
               f"Message-ID: <{subject.replace(' ', '-')}@example.test>\r\n{headers}\r\n"
               "Hello.\r\n")
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    with smtplib.SMTP("127.0.0.1", server.ports["submission"], timeout=30) as client:
        client.starttls(context=context)
        client.login(ADMIN, PASSWORD)
        client.ehlo()
        assert client.has_extn("dsn")
        refused = client.sendmail(ADMIN, to, message.encode(), mail_options=list(mail_options),
                                  rcpt_options=list(rcpt_options))
    assert refused == {}


def our_reports(server, action=None):
    """DSNs from our Reporting-MTA in the sender's INBOX, parsed: [(message, per-recipient)]."""
    out = []
    for _, _, _, raw in server.messages():
        msg = email.message_from_bytes(raw, policy=email.policy.default)
        if msg.get_content_type() != "multipart/report":
            continue
        status = msg.get_payload()[1]
        blocks = status.get_payload()
        if blocks[0]["Reporting-MTA"] != REPORTING_MTA:
            continue
        if action is None or any(b["Action"] == action for b in blocks[1:]):
            out.append((msg, blocks))
    return out


def check_rfc3464(msg, blocks, action, rcpt, status):
    """The shape RFC 3464 §2 asks for: three parts, the status part's per-message and
    per-recipient fields."""
    assert msg.get_param("report-type") == "delivery-status"
    assert msg["Auto-Submitted"] == "auto-replied"
    human, status_part, original = msg.get_payload()
    assert human.get_content_type() == "text/plain"
    assert status_part.get_content_type() == "message/delivery-status"
    assert blocks[0]["Reporting-MTA"] == REPORTING_MTA
    assert blocks[0]["Arrival-Date"]
    [block] = [b for b in blocks[1:] if b["Final-Recipient"] == f"rfc822; {rcpt}"]
    assert block["Action"] == action
    assert block["Status"] == status
    return block, original


@needs_postfix
def test_relayed_dsn_when_the_peer_does_not_offer_dsn(sender, peer_without_dsn):
    submit(sender, ["alice@peer.test"], "relay notice",
           rcpt_options=["NOTIFY=SUCCESS,FAILURE", "ORCPT=rfc822;alice@peer.test"])
    wait_for(lambda: peer_without_dsn.mailbox("alice@peer.test"), timeout=30, what="delivery")
    [(msg, blocks)] = wait_for(lambda: our_reports(sender, "relayed"), timeout=30,
                               what="relayed DSN in the sender's INBOX")
    block, original = check_rfc3464(msg, blocks, "relayed", "alice@peer.test", "2.0.0")
    assert block["Original-Recipient"] == "rfc822;alice@peer.test"
    assert block["Remote-MTA"].startswith("dns; ")
    assert block["Diagnostic-Code"].startswith("smtp; 250")
    # RFC 3461 §4.3: no failure reported, so only the header comes back.
    assert original.get_content_type() == "text/rfc822-headers"
    assert "<relay-notice@example.test>" in original.get_content()
    assert "Hello." not in original.get_content()
    # From the null sender (no DSN about a DSN), and the queue forgets both messages.
    raw = [r for _, _, _, r in sender.messages() if b"multipart/report" in r][0]
    assert b"Return-Path: <>" in raw
    wait_for(lambda: queue_ids(sender) == [], timeout=10, what="empty queue")
    # The peer saw no DSN parameters: it did not offer the extension.
    assert "NOTIFY=" not in peer_without_dsn.postfix.log_text()


@needs_postfix
def test_no_dsn_from_us_when_the_peer_offers_dsn(sender, peer):
    submit(sender, ["alice@peer.test"], "passed on", rcpt_options=["NOTIFY=SUCCESS"])
    wait_for(lambda: peer.mailbox("alice@peer.test"), timeout=30, what="delivery")
    # The notices are settled before a message leaves the queue.
    wait_for(lambda: queue_ids(sender) == [], timeout=30, what="empty queue")
    assert our_reports(sender) == []
    assert "queue.dsn" not in sender.log_text()
    # The peer took NOTIFY=SUCCESS and, as the final MTA, answers it itself.
    wait_for(lambda: "sender delivery status notification" in peer.postfix.log_text() or None,
             timeout=30, what="the peer's own success notice")


@needs_postfix
def test_no_success_dsn_without_notify_success(sender, peer_without_dsn):
    submit(sender, ["alice@peer.test"], "plain")
    wait_for(lambda: peer_without_dsn.mailbox("alice@peer.test"), timeout=30, what="delivery")
    wait_for(lambda: queue_ids(sender) == [], timeout=30, what="empty queue")
    assert our_reports(sender) == []


def test_delivered_dsn_for_a_local_mailbox(server):
    submit(server, [ADMIN], "local notice", rcpt_options=["NOTIFY=SUCCESS"])
    [(msg, blocks)] = wait_for(lambda: our_reports(server, "delivered"), timeout=30,
                               what="delivered DSN")
    block, original = check_rfc3464(msg, blocks, "delivered", ADMIN, "2.0.0")
    assert block["Remote-MTA"] is None
    assert original.get_content_type() == "text/rfc822-headers"
    assert "<local-notice@example.test>" in original.get_content()
    # The message itself is there too, once.
    subjects = [email.message_from_bytes(raw, policy=email.policy.default)["Subject"]
                for _, _, _, raw in server.messages()]
    assert subjects.count("local notice") == 1


@needs_postfix
def test_delay_warning_while_the_peer_defers(server_factory, dns_data_dir, peer):
    sender = server_factory(QUEUE_CONFIG + 'delay_warning = "2s"\n', data=dns_data_dir)
    peer.reconfigure(smtpd_recipient_restrictions=(
        "check_recipient_access inline:{ { alice@peer.test = 451 4.7.1 try again later } }, permit"))
    submit(sender, ["alice@peer.test"], "slow one", rcpt_options=["NOTIFY=DELAY,FAILURE"])
    [(msg, blocks)] = wait_for(lambda: our_reports(sender, "delayed"), timeout=60,
                               what="delayed DSN")
    block, original = check_rfc3464(msg, blocks, "delayed", "alice@peer.test", "4.7.1")
    assert block["Diagnostic-Code"].startswith("smtp; 451 4.7.1")
    assert block["Will-Retry-Until"]
    assert msg["Subject"].startswith("Delayed Mail")
    assert original.get_content_type() == "text/rfc822-headers"
    # Still queued; once the peer accepts, delivered, and one warning only.
    assert len(queue_ids(sender)) == 1
    peer.reconfigure(smtpd_recipient_restrictions="reject_unlisted_recipient, permit")
    wait_for(lambda: peer.mailbox("alice@peer.test"), timeout=30, what="delivery after retry")
    wait_for(lambda: queue_ids(sender) == [], timeout=30, what="empty queue")
    assert len(our_reports(sender, "delayed")) == 1


@needs_postfix
def test_tls_required_no_passes_a_failing_dane_policy(sender, peer):
    # dane-bad.test publishes TLSA records that do not match the peer's certificate: normally
    # deferred (test_outbound.test_wrong_tlsa_defers_and_never_sends_in_plaintext).
    submit(sender, ["alice@dane-bad.test"], "tls optional", headers="TLS-Required: No\r\n")
    [delivered] = wait_for(lambda: peer.mailbox("alice@dane-bad.test"), timeout=30,
                           what="delivery despite DANE failure")
    assert b"TLS-Required: No" in delivered.read_bytes()
    log = sender.log_text()
    assert "queue.tls_required_no" in log
    # STARTTLS was still used (opportunistically) on the relaxed attempt.
    assert "TLS" in peer.postfix.log_text()
    wait_for(lambda: queue_ids(sender) == [], timeout=10, what="empty queue")


@needs_postfix
def test_tls_required_no_is_ignored_with_requiretls(sender, peer):
    # RFC 8689 §4.1: with the REQUIRETLS MAIL parameter the header field is ignored, so the DANE
    # failure keeps the message back (it then fails as REQUIRETLS cannot be met).
    submit(sender, ["alice@dane-bad.test"], "both asked", headers="TLS-Required: No\r\n",
           mail_options=["REQUIRETLS"])
    [qid] = wait_for(lambda: queue_ids(sender) or None, timeout=10, what="queued")
    wait_for(lambda: "DANE authentication failed" in queue(sender, "show", qid).stdout or None,
             timeout=30, what="DANE deferral")
    assert peer.mailbox("alice@dane-bad.test") == []


@needs_postfix
def test_smtputf8_message_gets_a_global_delivery_status(sender, peer):
    # RFC 6533: the bounce of a message sent with SMTPUTF8 is the internationalised report.
    submit(sender, ["nobody-here@peer.test"], subject="gr\u00fc\u00df dich",
           mail_options=["SMTPUTF8", "BODY=8BITMIME"])

    def report():
        for _, _, _, raw in sender.messages():
            if b"report-type=global-delivery-status" in raw:
                return raw
        return None

    raw = wait_for(report, timeout=30, what="global DSN in the sender's INBOX")
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    assert msg.get_content_type() == "multipart/report"
    assert msg.get_param("report-type") == "global-delivery-status"
    human, status, original = msg.get_payload()
    assert status.get_content_type() == "message/global-delivery-status"
    assert original.get_content_type() == "message/global"
    # The status part has the message/delivery-status syntax (RFC 6533 §4.1): read its fields.
    fields = status.as_bytes().decode("utf-8")
    assert "Reporting-MTA: dns; mail.example.test" in fields
    assert "Final-Recipient: rfc822; nobody-here@peer.test" in fields
    assert "Action: failed" in fields
    assert "Status: 5.1.1" in fields
    assert "gr\u00fc\u00df dich".encode() in raw  # the original header, in UTF-8
