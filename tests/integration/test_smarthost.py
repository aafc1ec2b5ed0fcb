"""Smarthost mode end to end: the sending Sovereign has `[queue.smarthost]` and must hand every
remote message to the relay — a second `sovereign serve` whose submission listener (STARTTLS,
AUTH, certificate for mx.sovereign.test from the test CA) plays the provider's relay — which
delivers by MX to a real Postfix (test_outbound.PeerMx). A wrong password and an untrusted relay
certificate defer the mail (kept in the queue, never bounced, never sent by MX)."""
import os

import pytest

from conftest import ADMIN, PASSWORD, wait_for
from test_dnsfixture import needs_postfix
from test_outbound import QUEUE_CONFIG, PeerMx, queue, queue_ids, submit

RELAY_NAME = "mx.sovereign.test"  # 127.0.0.1 in the standard zones


@pytest.fixture
def peer(tmp_path, dns_fixture, peer_cert):
    mx = PeerMx(tmp_path / "peer", dns_fixture.plan, peer_cert).start()
    yield mx
    mx.stop()


@pytest.fixture
def relay(server_factory, test_ca):
    cert, key = test_ca.issue([RELAY_NAME])
    return server_factory(QUEUE_CONFIG + f'[tls]\ncertificate = "{cert}"\nprivate_key = "{key}"\n')


def smarthost_sender(server_factory, tmp_path, relay, test_ca, password=PASSWORD, trust=True):
    password_file = tmp_path / "relay.pw"
    password_file.write_text(password + "\n")
    os.chmod(password_file, 0o600)
    config = (QUEUE_CONFIG +
              "[queue.smarthost]\n"
              f'host = "{RELAY_NAME}"\n'
              f"port = {relay.ports['submission']}\n"
              'tls = "starttls"\n'
              f'username = "{ADMIN}"\n'
              f'password_file = "{password_file}"\n')
    if trust:
        config += f'[tls]\ntrusted_cas = "{test_ca.ca_file}"\n'
    return server_factory(config)


def deferred_with(server, text):
    def check():
        ids = queue_ids(server)
        if not ids:
            return None
        shown = queue(server, "show", ids[0]).stdout
        return shown if text in shown and "pending" in shown else None
    return check


@needs_postfix
def test_remote_mail_goes_through_the_relay(server_factory, tmp_path, relay, test_ca, peer):
    sender = smarthost_sender(server_factory, tmp_path, relay, test_ca)
    submit(sender, ["alice@peer.test", "carol@dane-ok.test"], subject="via relay")
    wait_for(lambda: peer.mailbox("alice@peer.test"), timeout=40, what="delivery via the relay")
    wait_for(lambda: peer.mailbox("carol@dane-ok.test"), timeout=40, what="second domain")
    # The sender spoke only to the relay, over verified TLS, authenticated as ADMIN.
    log = sender.log_text()
    assert f"host={RELAY_NAME}" in log
    assert "host=mx.peer.test" not in log and "host=mx.dane-ok.test" not in log
    relay_log = relay.log_text()
    assert "event=queue.accepted" in relay_log and f"auth={ADMIN}" in relay_log
    assert "event=smtp.auth " in relay_log and "mechanism=PLAIN" in relay_log
    wait_for(lambda: queue_ids(sender) == [], timeout=10, what="sender queue empty")


@needs_postfix
def test_wrong_password_defers_without_bounce(server_factory, tmp_path, relay, test_ca, peer):
    sender = smarthost_sender(server_factory, tmp_path, relay, test_ca, password="wrong")
    submit(sender, ["alice@peer.test"], subject="wrong password")
    shown = wait_for(deferred_with(sender, "authentication failed"), timeout=30,
                     what="deferral for the refused password")
    assert "4.4.1" in shown
    assert "auth_failed=1" in sender.log_text()
    assert "event=smtp.auth.failed" in relay.log_text()
    # Not bounced (no DSN in the sender's INBOX), not sent by MX.
    assert not [m for m in sender.messages() if b"multipart/report" in m[3]]
    assert peer.mailbox("alice@peer.test") == []


@needs_postfix
def test_untrusted_relay_certificate_defers(server_factory, tmp_path, relay, test_ca, peer):
    sender = smarthost_sender(server_factory, tmp_path, relay, test_ca, trust=False)
    submit(sender, ["alice@peer.test"], subject="untrusted relay")
    wait_for(deferred_with(sender, "certificate not valid"), timeout=30,
             what="deferral for the untrusted certificate")
    # The password was never sent: the relay saw no AUTH at all (we stop after the handshake).
    assert "event=smtp.auth" not in relay.log_text()
    assert peer.mailbox("alice@peer.test") == []
