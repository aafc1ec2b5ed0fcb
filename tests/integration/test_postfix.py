"""A real Postfix in front of Sovereign: as the relay that sends to our MX, and as the LMTP client
of a gateway. Postfix runs as a private instance (see postfix.py); nothing leaves 127.0.0.1.
"""
import os
import shutil
import smtplib

import pytest

from conftest import ADMIN, DOMAIN, run_cli, strip_trace_headers, wait_for
from postfix import POSTFIX, Postfix

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or not os.path.exists(POSTFIX) or shutil.which("script") is None,
    reason="needs root and Debian's postfix package",
)

BOB = f"bob@{DOMAIN}"


def message(msg_id: str, to: str) -> bytes:
    # Date and Message-ID are present so that Postfix's cleanup(8) adds nothing but Received.
    return (
        b"From: Alice <alice@sender.test>\r\n"
        + f"To: <{to}>\r\n".encode()
        + b"Subject: through postfix\r\n"
        b"Date: Sat, 28 Nov 2026 12:00:00 +0000\r\n"
        + f"Message-ID: <{msg_id}@sender.test>\r\n".encode()
        + b"MIME-Version: 1.0\r\n"
        b"Content-Type: text/plain; charset=utf-8\r\n"
        b"Content-Transfer-Encoding: 8bit\r\n"
        b"\r\n"
        b"Gr\xc3\xbc\xc3\x9fe through a real MTA.\r\n"
        b".a leading dot, stuffed twice and unstuffed twice\r\n"
        b"\r\n"
        b"trailing   spaces and\ttabs are kept   \r\n"
    )


@pytest.fixture
def postfix_factory(tmp_path):
    instances = []

    def factory(transport, **settings):
        pf = Postfix(tmp_path / f"postfix{len(instances)}", transport, settings)
        instances.append(pf)
        return pf.start()

    yield factory
    for pf in instances:
        pf.stop()
        # Shown by pytest only when the test failed.
        print(f"--- postfix maillog ({pf.log_path})\n{pf.log_text()}")


def await_messages(server, pf, account, count, what):
    """Polls the store until `account` has `count` messages; on timeout shows both logs."""
    try:
        return wait_for(
            lambda: len(server.messages(account)) >= count and server.messages(account),
            timeout=30, what=what,
        )
    except AssertionError as e:
        raise AssertionError(
            f"{e}\n--- postfix maillog\n{pf.log_text()}\n--- sovereign log\n{server.log_text()}"
        ) from None


def inject(pf, sender, recipients, body):
    with smtplib.SMTP("127.0.0.1", pf.port, timeout=30) as client:
        client.ehlo("injector.test")
        refused = client.sendmail(sender, recipients, body, mail_options=["BODY=8BITMIME"])
        assert refused == {}


def test_postfix_relays_to_our_mx(server, postfix_factory):
    pf = postfix_factory({DOMAIN: f"smtp:[127.0.0.1]:{server.ports['mx']}"})
    body = message("relay-1", ADMIN)
    inject(pf, "alice@sender.test", [ADMIN], body)

    (uid, _, _, stored), = await_messages(server, pf, ADMIN, 1, "relayed message in the store")
    # Byte-identical apart from the trace fields: ours (Return-Path, Received) and Postfix's.
    assert strip_trace_headers(stored) == body
    assert stored.startswith(b"Return-Path: <alice@sender.test>\r\nReceived: from relay.postfix.test")
    # Postfix used our STARTTLS opportunistically (smtp_tls_security_level = may).
    assert b"with ESMTPS" in stored.split(b"\r\n\r\n", 1)[0]
    assert b"by relay.postfix.test (Postfix)" in stored
    wait_for(lambda: "status=sent" in pf.log_text(), what="postfix status=sent")
    log = pf.log_text()
    assert f"to=<{ADMIN}>, relay=127.0.0.1[127.0.0.1]:{server.ports['mx']}" in log
    assert f"TLS connection established to 127.0.0.1[127.0.0.1]:{server.ports['mx']}" in log
    wait_for(pf.queue_is_empty, what="postfix queue empty")


def test_postfix_lmtp_delivers_and_bounces_the_unknown_recipient(server, postfix_factory):
    run_cli(server.data_dir, "user", "add", BOB, stdin="pw-bob-123\n")
    pf = postfix_factory({DOMAIN: f"lmtp:inet:127.0.0.1:{server.ports['lmtp']}"})
    body = message("lmtp-1", BOB)
    # The sender is our own postmaster, so Postfix's bounce for the unknown recipient comes back
    # through the same LMTP transport and lands in our store where the test can read it.
    inject(pf, ADMIN, [BOB, f"nobody@{DOMAIN}"], body)

    (_, _, _, stored), = await_messages(server, pf, BOB, 1, "bob's message")
    assert strip_trace_headers(stored) == body
    assert stored.startswith(f"Return-Path: <{ADMIN}>\r\n".encode())
    assert b" with LMTP" in stored.split(b"\r\n\r\n", 1)[0]

    (_, _, _, bounce), = await_messages(server, pf, ADMIN, 1, "the bounce for nobody@")
    assert bounce.startswith(b"Return-Path: <>\r\n")
    assert b"Undelivered Mail Returned to Sender" in bounce
    assert f"nobody@{DOMAIN}".encode() in bounce
    assert b"550 5.1.1" in bounce
    # The bounce quotes the message headers but went only to the sender.
    assert b"Message-ID: <lmtp-1@sender.test>" in bounce

    log = pf.log_text()
    assert f"to=<{BOB}>, relay=127.0.0.1[127.0.0.1]:{server.ports['lmtp']}" in log
    assert "status=sent" in log
    assert f"to=<nobody@{DOMAIN}>" in log and "status=bounced" in log
    wait_for(pf.queue_is_empty, what="postfix queue empty")
    assert len(server.messages(BOB)) == 1
