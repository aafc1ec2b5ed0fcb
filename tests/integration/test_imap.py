"""Python imaplib and curl against the IMAP listeners: login rules, mailbox commands, FETCH of
delivered mail, STORE/COPY/MOVE/EXPUNGE, SEARCH, APPEND, IDLE woken by a delivery, throttling."""
import base64
import imaplib
import re
import smtplib
import socket
import ssl
import subprocess
import time
import zlib

import pytest

from conftest import ADMIN, PASSWORD, wait_for


def tls_context():
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def deliver(server, body: bytes, rcpt=ADMIN):
    with smtplib.SMTP("127.0.0.1", server.ports["mx"], timeout=10) as c:
        c.ehlo("client.test")
        c.sendmail("alice@sender.test", [rcpt], body)


def message(subject: str, body: str = "hello\r\n", extra: str = "") -> bytes:
    return (
        f"From: Alice <alice@sender.test>\r\nTo: {ADMIN}\r\nSubject: {subject}\r\n"
        f"Message-ID: <{subject.replace(' ', '.')}@sender.test>\r\n{extra}\r\n{body}"
    ).encode()


def login(server, tls="starttls"):
    if tls == "implicit":
        client = imaplib.IMAP4_SSL("127.0.0.1", server.ports["imaps"], ssl_context=tls_context())
    else:
        client = imaplib.IMAP4("127.0.0.1", server.ports["imap"])
        client.starttls(ssl_context=tls_context())
    client.login(ADMIN, PASSWORD)
    return client


def test_no_login_before_tls(server):
    client = imaplib.IMAP4("127.0.0.1", server.ports["imap"])
    caps = client.capabilities
    assert "LOGINDISABLED" in caps and "STARTTLS" in caps
    assert not any(c.startswith("AUTH=") for c in caps)
    typ, data = client._simple_command("LOGIN", ADMIN, '"' + PASSWORD + '"')
    assert typ == "NO"
    client.starttls(ssl_context=tls_context())
    caps = client.capabilities
    assert "AUTH=PLAIN" in caps and "LOGINDISABLED" not in caps and "STARTTLS" not in caps
    client.login(ADMIN, PASSWORD)
    client.logout()


def test_implicit_tls_and_authenticate_plain(server):
    client = imaplib.IMAP4_SSL("127.0.0.1", server.ports["imaps"], ssl_context=tls_context())
    typ, _ = client.authenticate("PLAIN", lambda _: f"\0{ADMIN}\0{PASSWORD}".encode())
    assert typ == "OK"
    typ, data = client.select("INBOX")
    assert typ == "OK" and data == [b"0"]
    client.logout()


def test_server_chooses_aes128_gcm_and_refuses_old_tls(server):
    # OpenSSL clients (Python's too) list TLS_AES_256_GCM_SHA384 first; the server's own
    # order, Mozilla's, takes AES-128-GCM in TLS 1.3 and in TLS 1.2.
    with socket.create_connection(("127.0.0.1", server.ports["imaps"]), timeout=10) as raw:
        with tls_context().wrap_socket(raw) as tls:
            assert tls.version() == "TLSv1.3"
            assert tls.cipher()[0] == "TLS_AES_128_GCM_SHA256"
    ctx = tls_context()
    ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    ctx.set_ciphers("ECDHE+AESGCM:ECDHE+CHACHA20")
    with socket.create_connection(("127.0.0.1", server.ports["imaps"]), timeout=10) as raw:
        with ctx.wrap_socket(raw) as tls:
            assert tls.version() == "TLSv1.2"
            assert re.fullmatch(r"ECDHE-(RSA|ECDSA)-AES128-GCM-SHA256", tls.cipher()[0])
    ctx = tls_context()
    ctx.set_ciphers("DEFAULT:@SECLEVEL=0")  # this client would speak TLS 1.1; the server won't
    ctx.minimum_version = ssl.TLSVersion.TLSv1_1
    ctx.maximum_version = ssl.TLSVersion.TLSv1_1
    with socket.create_connection(("127.0.0.1", server.ports["imaps"]), timeout=10) as raw:
        with pytest.raises(ssl.SSLError):
            ctx.wrap_socket(raw)


def test_delivered_mail_is_fetched_byte_identical(server):
    body = message("fetch me", "line one\r\nline two\r\n")
    deliver(server, body)
    wait_for(lambda: server.messages(), what="delivery")
    stored = server.messages()[0][3]
    client = login(server)
    typ, data = client.select("INBOX")
    assert data == [b"1"]
    typ, data = client.uid("FETCH", "1:*", "(UID FLAGS RFC822.SIZE BODY.PEEK[])")
    assert typ == "OK"
    head, literal = data[0]
    assert literal == stored
    assert f"RFC822.SIZE {len(stored)}".encode() in head
    assert b"\\Seen" not in head
    typ, data = client.fetch("1", "(ENVELOPE BODYSTRUCTURE)")
    text = data[0] if isinstance(data[0], bytes) else data[0][0]
    assert b'"fetch me"' in text and b'"alice" "sender.test"' in text
    assert b'("TEXT" "PLAIN"' in text.upper()
    # BODY[] (not PEEK) sets \Seen and reports it.
    typ, data = client.fetch("1", "(BODY[TEXT])")
    assert data[0][1] == b"line one\r\nline two\r\n"
    assert b"\\Seen" in data[1]  # FLAGS follows the literal
    client.logout()


def test_mailboxes_copy_move_expunge(server):
    for i in range(3):
        deliver(server, message(f"msg {i}"))
    wait_for(lambda: len(server.messages()) == 3, what="3 deliveries")
    client = login(server)
    typ, data = client.list()
    names = [d.decode() for d in data]
    assert any('"INBOX"' in n or " INBOX" in n for n in names)
    assert any("\\Sent" in n for n in names)
    assert client.create("Projects/2026")[0] == "OK"
    typ, data = client.list('""', "Projects/%")
    assert any(b"Projects/2026" in d for d in data)
    client.select("INBOX")
    typ, data = client._simple_command("UID", "COPY", "1", "Projects/2026")
    assert typ == "OK" and b"COPYUID" in data[0]
    typ, data = client._simple_command("UID", "MOVE", "2", "Archive")
    assert typ == "OK"
    assert client.untagged_responses.pop("EXPUNGE") == [b"2"]  # RFC 6851 §4.3
    typ, data = client.search(None, "ALL")
    assert data == [b"1 2"]
    client.store("1", "+FLAGS", "(\\Deleted)")
    typ, data = client.expunge()
    assert data == [b"1"]
    typ, data = client.status("Projects/2026", "(MESSAGES UIDNEXT)")
    assert b"MESSAGES 1" in data[0]
    assert len(server.messages(mailbox="Archive")) == 1
    assert [m[0] for m in server.messages()] == [3]
    assert client.create("../escape")[0] == "NO"
    assert client.create("a//b")[0] == "NO"
    client.logout()


def test_search_subject_from_text(server):
    deliver(server, message("Quarterly report", "the numbers are in\r\n"))
    deliver(server, message("Lunch", "pizza or pasta\r\n"))
    headers = (
        "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=iso-8859-1\r\n"
        "Content-Transfer-Encoding: base64\r\n"
    )
    encoded = base64.b64encode("Grüße aus München".encode("iso-8859-1")).decode()
    deliver(server, message("Encoded", encoded + "\r\n", headers))
    wait_for(lambda: len(server.messages()) == 3, what="deliveries")
    client = login(server)
    client.select("INBOX")
    assert client.search(None, "SUBJECT", "quarterly") == ("OK", [b"1"])
    assert client.search(None, "FROM", "alice") == ("OK", [b"1 2 3"])
    assert client.search(None, "TEXT", "pasta") == ("OK", [b"2"])
    client.literal = "grÜße".encode("utf-8")
    typ, data = client.uid("SEARCH", "CHARSET", "UTF-8", "BODY")
    assert typ == "OK" and data == [b"3"]
    assert client.search(None, "NOT", "SEEN") == ("OK", [b"1 2 3"])
    client.logout()


def test_append_and_refusals(server):
    client = login(server)
    msg = b"From: me@example.test\nSubject: appended\n\nbare LF body\n"
    typ, data = client.append("Drafts", "(\\Draft $Label)", imaplib.Time2Internaldate(time.time()), msg)
    assert typ == "OK" and b"APPENDUID" in data[0]
    stored = server.messages(mailbox="Drafts")
    assert stored[0][3] == msg.replace(b"\n", b"\r\n")
    typ, data = client.append("NoSuchBox", None, None, b"Subject: x\r\n\r\nx\r\n")
    assert typ == "NO" and b"TRYCREATE" in data[0]
    client.select("Drafts")
    typ, data = client.fetch("1", "(FLAGS)")
    assert b"\\Draft" in data[0] and b"$Label" in data[0]
    client.logout()


def test_idle_hears_delivery_quickly(server):
    client = login(server)
    client.select("INBOX")
    sock = client.socket()
    tag = b"I1"
    client.send(tag + b" IDLE\r\n")
    line = client.readline()
    assert line.startswith(b"+")
    sent = time.monotonic()
    deliver(server, message("wake up"))
    delivered = time.monotonic()
    sock.settimeout(5)
    line = client.readline()
    heard = time.monotonic()
    assert re.match(rb"\* 1 EXISTS", line), line
    assert heard - delivered < 0.1, f"IDLE heard the delivery after {heard - delivered:.3f}s"
    client.send(b"DONE\r\n")
    while True:
        line = client.readline()
        if line.startswith(tag):
            break
    assert b"OK" in line
    client.logout()


def test_two_sessions_see_flag_changes_and_expunges(server):
    for i in range(2):
        deliver(server, message(f"shared {i}"))
    wait_for(lambda: len(server.messages()) == 2, what="deliveries")
    a = login(server)
    b = login(server)
    a.select("INBOX")
    b.select("INBOX")
    a.store("1", "+FLAGS", "(\\Flagged)")
    typ, data = b.noop()
    responses = b.untagged_responses
    assert any(b"FLAGS" in x and b"\\Flagged" in x for x in responses.get("FETCH", [])), responses
    a.store("2", "+FLAGS", "(\\Deleted)")
    a.expunge()
    typ, data = b.fetch("1", "(UID)")  # FETCH must not report the expunge (RFC 9051 §7.5.1)
    assert "EXPUNGE" not in b.untagged_responses
    b.noop()
    assert b.untagged_responses.get("EXPUNGE") == [b"2"]
    a.logout()
    b.logout()


def test_search_update_context_hears_changes_during_idle(server):
    """CONTEXT=SEARCH (RFC 5267 §4.3) over implicit TLS: a session that keeps a UID SEARCH open
    with RETURN (UPDATE) hears, while in IDLE, that another session's STORE added a message to
    its result; after CANCELUPDATE it hears nothing more."""
    for i in range(3):
        deliver(server, message(f"context {i}"))
    wait_for(lambda: len(server.messages()) == 3, what="deliveries")
    watcher = login(server, tls="implicit")
    other = login(server)
    watcher.select("INBOX")
    other.select("INBOX")
    typ, _ = watcher.uid("SEARCH", "RETURN (UPDATE ALL) FLAGGED")
    assert typ == "OK"
    esearch = watcher.untagged_responses.pop("ESEARCH")[0]
    search_tag = re.match(rb'\(TAG "([^"]+)"\) UID$', esearch).group(1)  # nothing flagged yet
    typ, data = other.fetch("2", "(UID)")
    uid = re.search(rb"UID (\d+)", data[0]).group(1)

    watcher.send(b"I1 IDLE\r\n")
    assert watcher.readline().startswith(b"+")
    other.store("2", "+FLAGS", "(\\Flagged)")
    watcher.socket().settimeout(5)
    heard = [watcher.readline() for _ in range(2)]
    assert heard[0].startswith(b"* 2 FETCH (FLAGS (\\Flagged"), heard
    assert heard[1] == b'* ESEARCH (TAG "' + search_tag + b'") UID ADDTO (0 ' + uid + b")\r\n"
    watcher.send(b"DONE\r\n")
    assert watcher.readline().startswith(b"I1 OK")

    typ, _ = watcher.xatom("CANCELUPDATE", '"' + search_tag.decode() + '"')
    assert typ == "OK"
    other.store("3", "+FLAGS", "(\\Flagged)")
    watcher.noop()
    assert "ESEARCH" not in watcher.untagged_responses
    assert watcher.untagged_responses.get("FETCH"), "the flag change itself is still reported"
    watcher.logout()
    other.logout()


def test_partial_pages_from_the_newest_message(server):
    """PARTIAL (RFC 9394) over a real socket: the newest two messages of a UID range by FETCH,
    the newest two results of a SEARCH, and the empty page past the end."""
    for i in range(5):
        deliver(server, message(f"page {i}"))
    wait_for(lambda: len(server.messages()) == 5, what="deliveries")
    client = login(server)
    typ, data = client.select("INBOX")
    assert typ == "OK" and data == [b"5"]
    assert b"PARTIAL" in client.capability()[1][0].split()
    typ, data = client.uid("FETCH", "1:*", "(UID) (PARTIAL -1:-2)")
    assert typ == "OK"
    assert data == [b"4 (UID 4)", b"5 (UID 5)"], data
    typ, _ = client.uid("SEARCH", "RETURN (PARTIAL -2:-1 COUNT) ALL")
    assert client.untagged_responses.pop("ESEARCH")[0].endswith(b"UID COUNT 5 PARTIAL (-1:-2 4:5)")
    typ, _ = client.uid("SEARCH", "RETURN (PARTIAL 6:10) ALL")
    assert client.untagged_responses.pop("ESEARCH")[0].endswith(b"UID PARTIAL (6:10 NIL)")
    client.logout()


def test_within_searches_by_age(server):
    """WITHIN (RFC 5032): OLDER and YOUNGER compare the INTERNALDATE with the server's clock,
    to the second, over a real socket."""
    client = login(server)
    assert b"WITHIN" in client.capability()[1][0].split()
    assert client.create("Ages")[0] == "OK"
    now = time.time()
    for subject, age in (("three days", 3 * 86400), ("one hour", 3600), ("just now", 0)):
        typ, _ = client.append("Ages", None, now - age, message(subject))
        assert typ == "OK", subject
    assert client.select("Ages")[0] == "OK"
    assert client.search(None, "YOUNGER", "7200") == ("OK", [b"2 3"])
    assert client.search(None, "OLDER", "86400") == ("OK", [b"1"])
    assert client.search(None, "OLDER", "1800", "YOUNGER", "86400") == ("OK", [b"2"])
    with pytest.raises(imaplib.IMAP4.error, match="BAD"):  # nz-number (RFC 5032 §3)
        client.search(None, "YOUNGER", "0")
    client.logout()


def test_preview_of_delivered_mail(server):
    """PREVIEW (RFC 8970) of mail that came in over SMTP: the plain text of a
    multipart/alternative message without its quoted lines, an HTML-only message as text, NIL
    for LAZY when the FETCH does not read the file anyway."""
    deliver(server, (
        "From: ann@example.org\r\nTo: " + ADMIN + "\r\nSubject: alt\r\n"
        "MIME-Version: 1.0\r\nContent-Type: multipart/alternative; boundary=b\r\n\r\n"
        "--b\r\nContent-Type: text/plain; charset=iso-8859-1\r\n"
        "Content-Transfer-Encoding: quoted-printable\r\n\r\n"
        "Sch=F6n, see you there.\r\n> When do we meet?\r\n"
        "--b\r\nContent-Type: text/html\r\n\r\n<p>HTML twin</p>\r\n--b--\r\n"
    ).encode("latin-1"))
    deliver(server, (
        "From: news@example.org\r\nTo: " + ADMIN + "\r\nSubject: html\r\n"
        "MIME-Version: 1.0\r\nContent-Type: text/html; charset=utf-8\r\n\r\n"
        "<html><head><style>p{}</style></head><body><p>Big&nbsp;sale</p>"
        "<p>today&hellip;</p></body></html>\r\n"
    ).encode())
    wait_for(lambda: len(server.messages()) == 2, what="deliveries")
    client = login(server)
    assert b"PREVIEW" in client.capability()[1][0].split()
    assert client.select("INBOX")[0] == "OK"
    typ, data = client.fetch("1:2", "(PREVIEW)")
    assert typ == "OK"
    # 8-bit UTF-8 text: a literal for an IMAP4rev1 client.
    expected = ["Schön, see you there.".encode(), "Big sale today…".encode()]
    assert data == [(b"1 (PREVIEW {%d}" % len(expected[0]), expected[0]), b")",
                    (b"2 (PREVIEW {%d}" % len(expected[1]), expected[1]), b")"], data
    typ, data = client.fetch("1:2", "(UID PREVIEW (LAZY))")
    assert data == [b"1 (UID 1 PREVIEW NIL)", b"2 (UID 2 PREVIEW NIL)"], data
    typ, data = client.fetch("1", "(FLAGS)")
    assert b"\\Seen" not in data[0], data
    client.logout()


def test_selected_mailbox_deleted_elsewhere_ends_the_session(server):
    """A session whose selected mailbox another session deleted gets BYE and is closed, in IDLE
    too; it never sees the messages of a new mailbox of the same name."""
    a = login(server)
    idler = login(server)
    b = login(server)
    assert b.create("Work")[0] == "OK"
    assert b.append("Work", None, None, message("old"))[0] == "OK"
    assert a.select("Work")[0] == "OK"
    assert idler.select("Work")[0] == "OK"
    idler.send(b"I1 IDLE\r\n")
    assert idler.readline().startswith(b"+")

    assert b.delete("Work")[0] == "OK"
    assert b.create("Work")[0] == "OK"
    assert b.append("Work", None, None, message("new"))[0] == "OK"

    idler.socket().settimeout(5)
    assert idler.readline().startswith(b"* BYE "), "IDLE session told of the delete"
    assert idler.readline() == b"", "and closed"
    with pytest.raises(imaplib.IMAP4.abort):
        a.uid("FETCH", "1", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
    b.logout()


def test_failed_logins_are_slowed_down(server):
    client = imaplib.IMAP4_SSL("127.0.0.1", server.ports["imaps"], ssl_context=tls_context())
    timings = []
    for _ in range(4):
        start = time.monotonic()
        with pytest.raises(imaplib.IMAP4.error):
            client.login(ADMIN, "wrong password")
        timings.append(time.monotonic() - start)
    assert timings[3] >= 0.9 * 2 * 0.5, timings  # free, free, 0.5 s, 1 s
    assert timings[3] > timings[0] + 0.4
    client.login(ADMIN, PASSWORD)  # the right password is never delayed
    client.logout()


def test_append_takes_the_utf8_data_item(server):
    # RFC 6855 §4: with UTF8=ACCEPT enabled, a message with UTF-8 header fields is sent as
    # `UTF8 (literal8)` (imaplib has no call for it: the command goes out as raw bytes).
    client = login(server, "implicit")
    typ, _ = client.enable("UTF8=ACCEPT")
    assert typ == "OK"
    body = "Subject: Grüße aus Köln\r\nFrom: Zoë <zoe@example.org>\r\n\r\nHallo\r\n".encode()
    client.send(b"u1 APPEND INBOX UTF8 (~{%d+}\r\n" % len(body) + body + b")\r\n")
    line = client.readline()
    while not line.startswith(b"u1 "):
        line = client.readline()
    match = re.match(rb"u1 OK \[APPENDUID \d+ (\d+)\]", line)
    assert match, line
    client.select("INBOX")
    typ, data = client.uid("FETCH", match.group(1).decode(), "BODY.PEEK[]")
    assert typ == "OK" and data[0][1] == body, data
    client.logout()


def test_catenate_forwards_a_part_without_downloading_it(server):
    # RFC 4469: a draft put together from a literal and the body of a message already on the
    # server (imaplib has no call for CATENATE: the command goes out as raw bytes), then one
    # whose URL names a stale UIDVALIDITY, which must store nothing.
    deliver(server, message("to forward", "forwarded body\r\n"))
    wait_for(lambda: server.messages(), what="delivery")
    client = login(server, "implicit")
    typ, data = client.select("INBOX")
    assert typ == "OK"
    typ, data = client.response("UIDVALIDITY")
    validity = int(data[0])

    def append(tag, rest):
        client.send(tag + b" APPEND Archive " + rest + b"\r\n")
        line = client.readline()
        while not line.startswith(tag + b" "):
            line = client.readline()
        return line

    head = b"Subject: Fwd: to forward\r\n\r\n"
    url = b'"/INBOX;UIDVALIDITY=%d/;UID=1/;SECTION=TEXT"' % validity
    line = append(b"c1", b"CATENATE (TEXT {%d+}\r\n" % len(head) + head + b" URL " + url + b")")
    match = re.match(rb"c1 OK \[APPENDUID \d+ (\d+)\]", line)
    assert match, line
    stale = b'"/INBOX;UIDVALIDITY=%d/;UID=1"' % (validity + 1)
    line = append(b"c2", b"CATENATE (URL " + stale + b")")
    assert line.startswith(b"c2 NO [BADURL /INBOX;UIDVALIDITY="), line
    client.select("Archive", readonly=True)
    typ, data = client.uid("FETCH", "1:*", "BODY.PEEK[]")
    assert typ == "OK"
    bodies = [d[1] for d in data if isinstance(d, tuple)]
    assert bodies == [head + b"forwarded body\r\n"], bodies
    client.logout()


def test_curl_imaps_fetches_message(server):
    deliver(server, message("for curl", "curl body\r\n"))
    wait_for(lambda: server.messages(), what="delivery")
    url = f"imaps://127.0.0.1:{server.ports['imaps']}/INBOX;UID=1"
    out = subprocess.run(
        ["curl", "-sS", "-k", "--user", f"{ADMIN}:{PASSWORD}", url],
        capture_output=True, timeout=30,
    )
    assert out.returncode == 0, out.stderr
    assert b"Subject: for curl" in out.stdout and b"curl body" in out.stdout
    listing = subprocess.run(
        ["curl", "-sS", "-k", "--user", f"{ADMIN}:{PASSWORD}", f"imaps://127.0.0.1:{server.ports['imaps']}/"],
        capture_output=True, timeout=30,
    )
    assert b"INBOX" in listing.stdout and b"Archive" in listing.stdout


def test_bad_input_keeps_serving(server):
    s = socket.create_connection(("127.0.0.1", server.ports["imap"]), timeout=10)
    f = s.makefile("rwb")
    assert f.readline().startswith(b"* OK")
    f.write(b"a1 LOGIN {4294967296}\r\n")
    f.flush()
    line = f.readline()
    assert line.startswith(b"a1 BAD") or line.startswith(b"a1 NO"), line
    f.write(b"a2 NOOP ((((\r\n")
    f.flush()
    assert f.readline().startswith(b"a2 BAD")
    f.write(b"a3 NO\xffOP\r\n")
    f.flush()
    assert f.readline().startswith(b"a3 BAD")
    f.write(b"a4 CAPABILITY\r\n")
    f.flush()
    assert f.readline().startswith(b"* CAPABILITY")
    assert f.readline().startswith(b"a4 OK")
    s.close()
    # 200 bad commands: the connection is closed with BYE after imap.max_errors, the server
    # goes on serving others.
    s = socket.create_connection(("127.0.0.1", server.ports["imap"]), timeout=10)
    f = s.makefile("rwb")
    f.readline()
    f.write(b"".join(b"x%d FROB\r\n" % i for i in range(200)))
    f.flush()
    lines = f.read().splitlines()
    assert sum(1 for line in lines if b" BAD " in line) == 50
    assert lines[-1].startswith(b"* BYE")
    s.close()
    # Disconnect in the middle of an APPEND: nothing is stored, the server goes on.
    client = login(server)
    client.send(b"p1 APPEND INBOX {1000}\r\n")
    assert client.readline().startswith(b"+")
    client.send(b"Subject: cut\r\n\r\n" + b"x" * 100)
    client.shutdown()
    client2 = login(server)
    typ, data = client2.select("INBOX")
    assert data == [b"0"]
    assert not list((server.data_dir / "tmp").iterdir())
    client2.logout()


def test_compress_deflate(server):
    client = login(server, tls="implicit")
    assert b"COMPRESS=DEFLATE" in client.capability()[1][0]
    imaplib.Commands["COMPRESS"] = ("AUTH", "SELECTED")  # imaplib does not know RFC 4978
    typ, data = client._simple_command("COMPRESS", "DEFLATE")
    assert typ == "OK"
    sock = client.sock
    deflate = zlib.compressobj(wbits=-15)
    inflate = zlib.decompressobj(wbits=-15)

    def send(line: bytes):
        sock.sendall(deflate.compress(line) + deflate.flush(zlib.Z_SYNC_FLUSH))

    def read_until(tag: bytes) -> bytes:
        got = b""
        while not re.search(rb"(?m)^" + tag + rb" ", got):
            got += inflate.decompress(sock.recv(65536))
        return got

    send(b"z1 SELECT INBOX\r\n")
    assert b"z1 OK" in read_until(b"z1")
    send(b"z2 NOOP\r\nz3 COMPRESS DEFLATE\r\n")  # pipelined, and a second COMPRESS is refused
    out = read_until(b"z3")
    assert b"z2 OK" in out and b"z3 NO [COMPRESSIONACTIVE]" in out
    send(b"z4 LOGOUT\r\n")
    assert b"* BYE" in read_until(b"z4")


def test_stalled_client_is_dropped(server_factory):
    server = server_factory('[imap]\nlogin_timeout = "1s"\n')
    s = socket.create_connection(("127.0.0.1", server.ports["imap"]), timeout=10)
    assert s.recv(4096).startswith(b"* OK")
    start = time.monotonic()
    assert s.recv(4096) == b""  # closed by the server, not by our 10 s timeout
    assert time.monotonic() - start < 5
    s.close()
    wait_for(lambda: "reason=timeout" in server.log_text(), what="timeout logged")


def scram_client(user: str, password: str):
    """The client side of SCRAM-SHA-256 (RFC 5802 §3, RFC 7677), for imaplib.authenticate."""
    import hashlib
    import hmac
    import os

    nonce = base64.b64encode(os.urandom(18)).decode()
    first_bare = f"n={user},r={nonce}"
    state = {"step": 0}

    def respond(challenge: bytes):
        if state["step"] == 0:
            state["step"] = 1
            return ("n,," + first_bare).encode()
        if state["step"] == 1:
            state["step"] = 2
            server_first = challenge.decode()
            attrs = dict(a.split("=", 1) for a in server_first.split(","))
            assert attrs["r"].startswith(nonce)
            salted = hashlib.pbkdf2_hmac("sha256", password.encode(), base64.b64decode(attrs["s"]), int(attrs["i"]))
            client_key = hmac.new(salted, b"Client Key", "sha256").digest()
            stored_key = hashlib.sha256(client_key).digest()
            final_bare = f"c=biws,r={attrs['r']}"
            auth_message = f"{first_bare},{server_first},{final_bare}".encode()
            signature = hmac.new(stored_key, auth_message, "sha256").digest()
            proof = bytes(a ^ b for a, b in zip(client_key, signature))
            server_key = hmac.new(salted, b"Server Key", "sha256").digest()
            state["verifier"] = base64.b64encode(hmac.new(server_key, auth_message, "sha256").digest())
            return f"{final_bare},p={base64.b64encode(proof).decode()}".encode()
        assert challenge == b"v=" + state["verifier"], "server signature mismatch"
        state["verified"] = True
        return b""

    return respond, state


def test_scram_sha_256(server):
    # SCRAM credentials of a user created by quickstart appear after one password login.
    first = login(server, tls="implicit")
    first.logout()
    client = imaplib.IMAP4_SSL("127.0.0.1", server.ports["imaps"], ssl_context=tls_context())
    assert "AUTH=SCRAM-SHA-256" in client.capabilities
    respond, state = scram_client(ADMIN, PASSWORD)
    typ, _ = client.authenticate("SCRAM-SHA-256", respond)
    assert typ == "OK" and state.get("verified")
    assert client.select("INBOX")[0] == "OK"
    client.logout()
    bad = imaplib.IMAP4_SSL("127.0.0.1", server.ports["imaps"], ssl_context=tls_context())
    respond, _ = scram_client(ADMIN, "not the password")
    with pytest.raises(imaplib.IMAP4.error):
        bad.authenticate("SCRAM-SHA-256", respond)
