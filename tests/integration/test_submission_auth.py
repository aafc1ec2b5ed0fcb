"""SMTP AUTH (RFC 4954) on the submission listener with Python smtplib and swaks: no AUTH before
STARTTLS, PLAIN/LOGIN/SCRAM-SHA-256 after it, 535 for a wrong password with growing delays,
530 for MAIL before AUTH. Relaying after AUTH is not tested here (the queue is another piece)."""
import base64
import hashlib
import hmac
import os
import re
import smtplib
import ssl
import subprocess
import time

import pytest

from conftest import ADMIN, PASSWORD, wait_for


def tls_context():
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def log_with(server, text):
    """The server log, once it contains `text`."""
    def check():
        log = server.log_text()
        return log if text in log else None
    return wait_for(check, what=text)


def plain_connection(server):
    client = smtplib.SMTP("127.0.0.1", server.ports["submission"], timeout=30)
    client.ehlo("client.test")
    return client


def tls_connection(server):
    client = plain_connection(server)
    client.starttls(context=tls_context())
    client.ehlo("client.test")
    return client


def test_no_auth_before_starttls(server):
    client = plain_connection(server)
    assert client.has_extn("starttls")
    assert not client.has_extn("auth")
    code, text = client.docmd("AUTH", "PLAIN " + b64(f"\0{ADMIN}\0{PASSWORD}".encode()))
    assert (code, text) == (530, b"5.7.0 Must issue a STARTTLS command first")
    code, text = client.mail(ADMIN)
    assert code == 530 and text.startswith(b"5.7.0"), text
    client.quit()


def test_auth_advertised_after_starttls_and_mail_needs_it(server):
    client = tls_connection(server)
    assert client.esmtp_features["auth"].split() == ["PLAIN", "LOGIN", "SCRAM-SHA-256"]
    assert not client.has_extn("starttls")
    code, text = client.mail(ADMIN)
    assert (code, text) == (530, b"5.7.0 Authentication required")
    client.quit()


@pytest.mark.parametrize("mechanism", ["PLAIN", "LOGIN"])
@pytest.mark.parametrize("initial_response", [True, False])
def test_password_mechanisms(server, mechanism, initial_response):
    client = tls_connection(server)
    client.user, client.password = ADMIN, PASSWORD
    authobject = client.auth_plain if mechanism == "PLAIN" else client.auth_login
    code, text = client.auth(mechanism, authobject, initial_response_ok=initial_response)
    assert (code, text) == (235, b"2.7.0 Authentication successful")
    # RFC 4954 §4: only once per session.
    code, text = client.docmd("AUTH", "PLAIN " + b64(f"\0{ADMIN}\0{PASSWORD}".encode()))
    assert code == 503 and text.startswith(b"5.5.1"), text
    code, text = client.mail(ADMIN)
    assert code == 250, text
    client.rset()
    client.quit()
    log = log_with(server, "event=smtp.auth ")
    assert re.search(rf"event=smtp\.auth .*user={re.escape(ADMIN)}", log)
    assert f"mechanism={mechanism}" in log
    assert PASSWORD not in log and b64(f"\0{ADMIN}\0{PASSWORD}".encode()) not in log


def test_wrong_password_is_535_and_logged_without_it(server):
    client = tls_connection(server)
    client.user, client.password = ADMIN, "not the password"
    with pytest.raises(smtplib.SMTPAuthenticationError) as failure:
        client.auth("PLAIN", client.auth_plain)
    assert failure.value.smtp_code == 535
    assert failure.value.smtp_error == b"5.7.8 Authentication credentials invalid"
    client.quit()
    log = log_with(server, "event=smtp.auth.failed")
    assert re.search(rf"event=smtp\.auth\.failed .*user={re.escape(ADMIN)}", log)
    assert "not the password" not in log


def test_cancel_and_bad_base64(server):
    client = tls_connection(server)
    code, _ = client.docmd("AUTH", "LOGIN")
    assert code == 334
    assert client.docmd("*") == (501, b"5.0.0 Authentication cancelled")
    assert client.docmd("AUTH", "PLAIN AAA=BBBB")[0] == 501
    assert client.docmd("AUTH", "CRAM-MD5")[0] == 504
    assert client.noop()[0] == 250
    client.quit()


def test_failed_attempts_are_answered_ever_later(server):
    client = tls_connection(server)
    client.user, client.password = ADMIN, "wrong password"
    timings = []
    for _ in range(4):
        start = time.monotonic()
        with pytest.raises(smtplib.SMTPAuthenticationError):
            client.auth("PLAIN", client.auth_plain)
        timings.append(time.monotonic() - start)
    # accounts::LoginThrottle defaults: two free failures, then 0.5 s, 1 s, ... per failure.
    assert timings[3] >= 0.9 * 2 * 0.5, timings
    assert timings[3] > timings[2] > timings[0], timings
    assert timings[3] > timings[0] + 0.4, timings
    # The right password is never held back.
    client.password = PASSWORD
    start = time.monotonic()
    assert client.auth("PLAIN", client.auth_plain)[0] == 235
    assert time.monotonic() - start < timings[3]
    client.quit()


def scram_authobject(user: str, password: str):
    """The client side of SCRAM-SHA-256 (RFC 5802 §3, RFC 7677) for smtplib.SMTP.auth."""
    nonce = b64(os.urandom(18))
    first_bare = f"n={user},r={nonce}"
    state = {}

    def respond(challenge=None):
        if "first" not in state:
            # client-first-message: as the initial response (challenge None) or in answer to
            # the empty "334 " challenge
            state["first"] = True
            return "n,," + first_bare
        if "verifier" not in state:
            server_first = challenge.decode()
            attrs = dict(a.split("=", 1) for a in server_first.split(","))
            assert attrs["r"].startswith(nonce)
            salted = hashlib.pbkdf2_hmac(
                "sha256", password.encode(), base64.b64decode(attrs["s"]), int(attrs["i"])
            )
            client_key = hmac.new(salted, b"Client Key", "sha256").digest()
            stored_key = hashlib.sha256(client_key).digest()
            final_bare = f"c=biws,r={attrs['r']}"
            auth_message = f"{first_bare},{server_first},{final_bare}".encode()
            signature = hmac.new(stored_key, auth_message, "sha256").digest()
            proof = bytes(a ^ b for a, b in zip(client_key, signature))
            server_key = hmac.new(salted, b"Server Key", "sha256").digest()
            state["verifier"] = b"v=" + base64.b64encode(
                hmac.new(server_key, auth_message, "sha256").digest()
            )
            return f"{final_bare},p={b64(proof)}"
        # RFC 4954 §4: no additional data with 235, so server-final comes as a challenge.
        assert challenge == state["verifier"], "server signature mismatch"
        state["verified"] = True
        return ""

    return respond, state


def test_scram_sha_256(server):
    # Users created by quickstart get SCRAM credentials at their first password login.
    first = tls_connection(server)
    first.login(ADMIN, PASSWORD)
    first.quit()
    client = tls_connection(server)
    respond, state = scram_authobject(ADMIN, PASSWORD)
    code, text = client.auth("SCRAM-SHA-256", respond)
    assert (code, text) == (235, b"2.7.0 Authentication successful")
    assert state.get("verified")
    assert client.mail(ADMIN)[0] == 250
    client.quit()

    wrong = tls_connection(server)
    respond, state = scram_authobject(ADMIN, "not the password")
    with pytest.raises(smtplib.SMTPAuthenticationError) as failure:
        wrong.auth("SCRAM-SHA-256", respond, initial_response_ok=False)
    assert failure.value.smtp_code == 535
    assert "verified" not in state
    wrong.quit()


def test_swaks_auth_plain_over_starttls(server):
    out = subprocess.run(
        ["swaks", "--server", f"127.0.0.1:{server.ports['submission']}", "--tls",
         "--auth", "PLAIN", "--auth-user", ADMIN, "--auth-password", PASSWORD,
         "--from", ADMIN, "--to", ADMIN, "--quit-after", "AUTH"],
        capture_output=True, text=True, timeout=60,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert "235 2.7.0 Authentication successful" in out.stdout
