"""Real clients deliver to the MX and LMTP listeners; messages land byte-identical in the store."""
import smtplib
import ssl
import subprocess

from conftest import ADMIN, DOMAIN, run_cli, strip_trace_headers, wait_for

MESSAGE = (
    b"From: Alice <alice@sender.test>\r\n"
    b"To: <postmaster@example.test>\r\n"
    b"Subject: integration\r\n"
    b"Message-ID: <m1@sender.test>\r\n"
    b"MIME-Version: 1.0\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\n"
    b"Content-Transfer-Encoding: 8bit\r\n"
    b"\r\n"
    b"Gr\xc3\xbc\xc3\x9fe, with 8-bit text.\r\n"
    b".leading dot survives unstuffing\r\n"
)


def tls_context():
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def test_smtplib_starttls_delivery_is_byte_identical(server):
    with smtplib.SMTP("127.0.0.1", server.ports["mx"], timeout=10) as client:
        client.ehlo("client.test")
        assert client.has_extn("starttls")
        assert client.has_extn("pipelining") and client.has_extn("chunking")
        client.starttls(context=tls_context())
        client.ehlo("client.test")
        assert not client.has_extn("starttls")
        refused = client.sendmail("alice@sender.test", [ADMIN], MESSAGE, mail_options=["BODY=8BITMIME"])
        assert refused == {}
    messages = server.messages()
    assert len(messages) == 1
    stored = messages[0][3]
    assert strip_trace_headers(stored) == MESSAGE
    assert stored.startswith(b"Return-Path: <alice@sender.test>\r\nReceived: from client.test")
    assert b"with ESMTPS" in stored


def test_unknown_user_and_relay_refused(server):
    with smtplib.SMTP("127.0.0.1", server.ports["mx"], timeout=10) as client:
        client.ehlo("client.test")
        client.mail("alice@sender.test")
        code, text = client.rcpt(f"nobody@{DOMAIN}")
        assert (code, text[:5]) == (550, b"5.1.1")
        code, text = client.rcpt("victim@elsewhere.test")
        assert (code, text[:5]) == (550, b"5.7.1")
    assert server.messages() == []


def test_swaks_delivery_with_starttls(server):
    result = subprocess.run(
        ["swaks", "--server", f"127.0.0.1:{server.ports['mx']}", "--to", ADMIN,
         "--from", "bob@sender.test", "--tls", "--header", "Subject: swaks test"],
        capture_output=True, text=True, timeout=30,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "250 2.0.0" in result.stdout
    messages = server.messages()
    assert len(messages) == 1
    assert b"Subject: swaks test" in messages[0][3]


def test_alias_fans_out_and_lmtp_replies_per_recipient(server):
    run_cli(server.data_dir, "user", "add", f"bob@{DOMAIN}", stdin="pw-bob-123\n")
    run_cli(server.data_dir, "alias", "add", f"team@{DOMAIN}", ADMIN, f"bob@{DOMAIN}")
    with smtplib.LMTP("127.0.0.1", server.ports["lmtp"], timeout=10) as client:
        client.ehlo_or_helo_if_needed()
        client.mail("carol@sender.test")
        assert client.rcpt(f"team@{DOMAIN}")[0] == 250
        assert client.rcpt(f"nobody@{DOMAIN}")[0] == 550
        assert client.rcpt(f"bob@{DOMAIN}")[0] == 250
        # smtplib's LMTP.data() reads one reply; read the per-recipient replies ourselves.
        client.putcmd("data")
        assert client.getreply()[0] == 354
        client.send(b"Subject: lmtp\r\n\r\nbody\r\n.\r\n")
        replies = [client.getreply() for _ in range(2)]
        assert [code for code, _ in replies] == [250, 250]
    assert len(server.messages(ADMIN)) == 1
    # bob is reached twice (alias and direct) but gets one copy.
    assert len(server.messages(f"bob@{DOMAIN}")) == 1


def test_quota_refusal_codes(server):
    run_cli(server.data_dir, "user", "add", f"small@{DOMAIN}", "--quota-bytes", "2000", stdin="pw-small-1\n")
    with smtplib.LMTP("127.0.0.1", server.ports["lmtp"], timeout=10) as client:
        client.ehlo_or_helo_if_needed()
        # Larger than the whole quota: permanent 552 5.2.2.
        client.mail("x@sender.test")
        client.rcpt(f"small@{DOMAIN}")
        code, text = client.data(b"Subject: big\r\n\r\n" + b"x" * 5000 + b"\r\n")
        assert (code, text[:5]) == (552, b"5.2.2")
        # Fits, then the next one no longer does: temporary 452 4.2.2.
        client.mail("x@sender.test")
        client.rcpt(f"small@{DOMAIN}")
        assert client.data(b"Subject: fits\r\n\r\n" + b"y" * 1200 + b"\r\n")[0] == 250
        client.mail("x@sender.test")
        client.rcpt(f"small@{DOMAIN}")
        code, text = client.data(b"Subject: over\r\n\r\n" + b"z" * 1200 + b"\r\n")
        assert (code, text[:5]) == (452, b"4.2.2")
    assert len(server.messages(f"small@{DOMAIN}")) == 1


def test_sigterm_drains_and_exits_cleanly(server):
    client = smtplib.SMTP("127.0.0.1", server.ports["mx"], timeout=10)
    client.ehlo("client.test")
    assert server.stop() == 0
    # The idle session was told why before the close (RFC 5321 §3.8).
    code, text = client.getreply()
    assert (code, text[:5]) == (421, b"4.3.2")
    assert "event=server.stopped sessions_left=0" in server.log_text()
    client.close()


def test_dsn_parameters_are_kept_with_the_message(server):
    with smtplib.SMTP("127.0.0.1", server.ports["mx"], timeout=10) as client:
        client.ehlo("client.test")
        assert client.has_extn("dsn")
        refused = client.sendmail(
            "alice@sender.test", [ADMIN], b"Subject: dsn\r\n\r\nx\r\n",
            mail_options=["RET=HDRS", "ENVID=QQ+2B1"],
            rcpt_options=["NOTIFY=SUCCESS,FAILURE", f"ORCPT=rfc822;{ADMIN}"],
        )
        assert refused == {}
    import sqlite3
    db = server.data_dir / "mail" / ADMIN / "index.db"
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    (envelope,) = con.execute(
        "SELECT d.envelope FROM messages m JOIN message_data d ON d.id = m.id"
    ).fetchone()
    con.close()
    assert envelope == (
        f"from=<alice@sender.test> rcpt=<{ADMIN}> ret=HDRS envid=QQ+2B1 "
        f"notify=SUCCESS,FAILURE orcpt=rfc822;{ADMIN}"
    )
