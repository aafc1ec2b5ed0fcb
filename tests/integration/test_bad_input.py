"""Hostile and broken SMTP clients against the MX listener, over raw sockets.

Every test ends by proving the server still serves: a fresh smtplib delivery gets 250 and lands.
"""
import smtplib
import socket
import struct
import time
import uuid

import pytest

from conftest import ADMIN, DOMAIN, strip_trace_headers, wait_for

RCPT = f"RCPT TO:<{ADMIN}>\r\n".encode()


class RawClient:
    """A line-level SMTP client on a plain socket; every read has a deadline."""

    def __init__(self, port, timeout=10):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.buffer = b""
        code, lines = self.reply()
        assert code == 220, lines

    def send(self, data: bytes):
        self.sock.sendall(data)

    def _fill(self, deadline) -> bool:
        """Reads more into the buffer; False on EOF. Raises TimeoutError past the deadline."""
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("no data before the deadline")
        self.sock.settimeout(remaining)
        try:
            chunk = self.sock.recv(65536)
        except socket.timeout:
            raise TimeoutError("no data before the deadline") from None
        except ConnectionResetError:
            return False
        if not chunk:
            return False
        self.buffer += chunk
        return True

    def reply(self, timeout=10):
        """(code, [text lines]) of one (possibly multi-line) reply."""
        deadline = time.monotonic() + timeout
        lines = []
        while True:
            while b"\r\n" not in self.buffer:
                if not self._fill(deadline):
                    raise EOFError(f"connection closed; partial reply {lines!r} {self.buffer!r}")
            line, self.buffer = self.buffer.split(b"\r\n", 1)
            lines.append(line.decode(errors="replace"))
            if len(line) < 4 or line[3:4] != b"-":
                return int(line[:3]), lines

    def replies(self, n, timeout=10):
        return [self.reply(timeout) for _ in range(n)]

    def command(self, line: bytes, timeout=10):
        self.send(line + b"\r\n")
        return self.reply(timeout)

    def wait_closed(self, timeout):
        """Reads until EOF; returns (bytes received meanwhile, seconds it took)."""
        start = time.monotonic()
        deadline = start + timeout
        data = self.buffer
        self.buffer = b""
        while self._fill(deadline):
            data += self.buffer
            self.buffer = b""
        return data, time.monotonic() - start

    def close(self):
        self.sock.close()


def code_and_enhanced(reply):
    code, lines = reply
    return code, lines[-1][4:9]


def ehlo(client):
    code, lines = client.command(b"EHLO client.test")
    assert code == 250, lines
    return lines


def assert_still_serving(server):
    """A well-behaved client still gets its message delivered."""
    tag = uuid.uuid4().hex
    body = f"Subject: still serving\r\nMessage-ID: <{tag}@client.test>\r\n\r\nok\r\n".encode()
    with smtplib.SMTP("127.0.0.1", server.ports["mx"], timeout=10) as client:
        assert client.sendmail("alice@sender.test", [ADMIN], body) == {}
    assert any(f"<{tag}@client.test>".encode() in m[3] for m in server.messages())


def spool_files(server):
    return sorted((server.data_dir / "tmp").iterdir())


# ------------------------------------------------------------------ command-line abuse

@pytest.mark.parametrize("size", [100_000, 1_000_000])
def test_overlong_command_line_gets_one_500_and_session_goes_on(server, size):
    client = RawClient(server.ports["mx"])
    ehlo(client)
    # RFC 5321 §4.5.3.1.4: "500 Line too long". One reply for the whole line, however long
    # (the server skips to the line end instead of buffering it), then the session continues.
    client.send(b"MAIL FROM:<" + b"A" * size + b"@sender.test>\r\nNOOP\r\n")
    assert code_and_enhanced(client.reply()) == (500, "5.5.2")
    assert client.reply()[0] == 250  # the NOOP: nothing of the long line was read as commands
    assert client.command(b"MAIL FROM:<alice@sender.test>")[0] == 250
    client.close()
    assert_still_serving(server)


def test_nul_bytes_in_commands_are_refused(server):
    client = RawClient(server.ports["mx"])
    ehlo(client)
    assert code_and_enhanced(client.command(b"NO\x00OP")) == (500, "5.5.2")
    assert code_and_enhanced(client.command(b"MAIL FROM:<alice\x00@sender.test>")) == (500, "5.5.2")
    # The MAIL with a NUL did not open a transaction.
    assert code_and_enhanced(client.command(RCPT.rstrip())) == (503, "5.5.1")
    # Bare CR inside a command is refused the same way (no CR/LF games with the parser).
    assert code_and_enhanced(client.command(b"NOOP\rMAIL FROM:<x@y.test>")) == (500, "5.5.2")
    assert client.command(b"NOOP")[0] == 250
    client.close()
    assert_still_serving(server)


def test_garbage_commands_hit_max_errors_then_421_and_close(server):
    client = RawClient(server.ports["mx"])
    ehlo(client)
    client.send(b"".join(b"GARBAGE %d \x01\xff\r\n" % i for i in range(200)))
    data, _ = client.wait_closed(timeout=10)
    lines = data.decode(errors="replace").split("\r\n")
    assert lines[-1] == ""
    # max_errors defaults to 20: twenty refusals, then 421 4.7.0 and the server hangs up.
    assert lines[:-2] == ["500 5.5.2 Command unrecognized"] * 20
    assert lines[-2].startswith("421 4.7.0 ")
    client.close()
    assert_still_serving(server)


# ------------------------------------------------------------------ broken transactions

def start_data(client):
    ehlo(client)
    client.send(b"MAIL FROM:<alice@sender.test>\r\n" + RCPT + b"DATA\r\n")
    assert [r[0] for r in client.replies(3)] == [250, 250, 354]


@pytest.mark.parametrize("how", ["fin", "rst"])
def test_disconnect_in_the_middle_of_data_leaves_nothing(server, how):
    client = RawClient(server.ports["mx"])
    start_data(client)
    client.send(b"Subject: half a message\r\n\r\n" + b"x" * 70000 + b"\r\n")
    # The spool file exists while the body streams in; it must go when the client does.
    wait_for(lambda: spool_files(server), what="spool file during DATA")
    if how == "rst":
        client.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    client.close()
    wait_for(lambda: not spool_files(server), what="spool file removed after the disconnect")
    wait_for(lambda: "event=smtp.disconnect" in server.log_text(), what="disconnect logged")
    assert server.messages() == []
    assert_still_serving(server)


def test_stalled_client_is_disconnected_after_the_command_timeout(server_factory):
    server = server_factory("[smtp.timeouts]\ncommand = 2")
    client = RawClient(server.ports["mx"])
    ehlo(client)
    data, elapsed = client.wait_closed(timeout=15)
    # Closed at the timeout, not long before or after; a 421 first is allowed (RFC 5321 §4.2.2
    # lets a server say why), silence is too.
    assert 1.5 <= elapsed <= 5.0, elapsed
    assert data == b"" or data.startswith(b"421 "), data
    wait_for(lambda: "reason=timeout" in server.log_text(), what="timeout logged")
    client.close()
    assert_still_serving(server)


def test_client_stalling_inside_data_is_disconnected_and_nothing_stored(server_factory):
    server = server_factory("[smtp.timeouts]\ndata_block = 2")
    client = RawClient(server.ports["mx"])
    start_data(client)
    client.send(b"Subject: stalls\r\n\r\npart one\r\n")
    data, elapsed = client.wait_closed(timeout=15)
    assert 1.5 <= elapsed <= 5.0, elapsed
    assert data == b"" or data.startswith(b"421 "), data
    wait_for(lambda: not spool_files(server), what="spool file removed after the timeout")
    assert server.messages() == []
    client.close()
    assert_still_serving(server)


# ------------------------------------------------------------------ limits

def test_oversize_messages_get_552_and_nothing_is_stored(server_factory):
    server = server_factory('[smtp]\nmax_message_size = "64K"')
    client = RawClient(server.ports["mx"])
    lines = ehlo(client)
    assert "250-SIZE 65536" in lines
    # Declared too big: refused at MAIL (RFC 1870 §6.2).
    assert code_and_enhanced(client.command(b"MAIL FROM:<alice@sender.test> SIZE=100000")) == (
        552, "5.3.4")
    # Undeclared: the body is read to the final dot, then refused (RFC 1870 §6.3).
    client.send(b"MAIL FROM:<alice@sender.test>\r\n" + RCPT + b"DATA\r\n")
    assert [r[0] for r in client.replies(3)] == [250, 250, 354]
    client.send(b"Subject: too big\r\n\r\n" + (b"y" * 998 + b"\r\n") * 100 + b".\r\n")
    assert code_and_enhanced(client.reply()) == (552, "5.3.4")
    assert server.messages() == []
    wait_for(lambda: not spool_files(server), what="oversize spool file removed")
    # The session is still usable for a message that fits.
    client.send(b"MAIL FROM:<alice@sender.test> SIZE=2000\r\n" + RCPT + b"DATA\r\n")
    assert [r[0] for r in client.replies(3)] == [250, 250, 354]
    client.send(b"Subject: fits\r\n\r\n" + b"z" * 1000 + b"\r\n.\r\n")
    assert client.reply()[0] == 250
    assert len(server.messages()) == 1
    client.close()
    assert_still_serving(server)


def test_recipients_beyond_max_recipients_get_452(server_factory):
    server = server_factory("[smtp]\nmax_recipients = 100")
    client = RawClient(server.ports["mx"])
    ehlo(client)
    client.send(b"MAIL FROM:<alice@sender.test>\r\n" + RCPT * 101 + b"DATA\r\n")
    replies = client.replies(103)
    assert replies[0][0] == 250
    assert [r[0] for r in replies[1:101]] == [250] * 100
    # RFC 5321 §4.5.3.1.10: 452 for the recipients beyond the limit; the client sends them later.
    assert code_and_enhanced(replies[101]) == (452, "4.5.3")
    assert replies[102][0] == 354
    client.send(b"Subject: a hundred times\r\n\r\nbody\r\n.\r\n")
    assert client.reply()[0] == 250
    # One mailbox named a hundred times gets one copy.
    assert len(server.messages()) == 1
    client.close()
    assert_still_serving(server)


# ------------------------------------------------------------------ injection and smuggling

def test_starttls_with_pipelined_commands_is_refused(server):
    client = RawClient(server.ports["mx"])
    ehlo(client)
    # CVE-2011-0411 style: plaintext commands behind STARTTLS must never run as if they came
    # through TLS. The server refuses the whole connection.
    client.send(b"STARTTLS\r\nMAIL FROM:<injected@evil.test>\r\n" + RCPT + b"DATA\r\n")
    data, _ = client.wait_closed(timeout=10)
    assert data.startswith(b"421 4.7.0 "), data
    assert data.count(b"\r\n") == 1, data
    assert server.messages() == []
    assert "injected@evil.test" not in server.log_text()
    client.close()
    assert_still_serving(server)


def test_starttls_forgets_the_plaintext_session(server):
    import ssl

    client = RawClient(server.ports["mx"])
    ehlo(client)
    assert client.command(b"STARTTLS")[0] == 220
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    client.sock = ctx.wrap_socket(client.sock)
    # RFC 3207 §4.2: the EHLO before TLS is forgotten; a transaction needs a new EHLO.
    assert code_and_enhanced(client.command(b"MAIL FROM:<alice@sender.test>")) == (503, "5.5.1")
    lines = ehlo(client)
    assert not any("STARTTLS" in line for line in lines)
    assert client.command(b"MAIL FROM:<alice@sender.test>")[0] == 250
    client.close()
    assert_still_serving(server)


# Policy (src/smtp/wire/dot_decoder.hpp, like Postfix 3.9 smtpd_forbid_bare_newline=normalize):
# a bare LF is stored as CRLF and never ends the data; a bare CR fails the message (550 5.6.0).
SMUGGLING_ENDS = {
    b"\n.\n": "stored",
    b"\n.\r\n": "stored",
    b"\r\n.\n": "stored",
    b"\r.\r\n": "refused",
    b"\r\n.\r\r\n": "refused",
}


@pytest.mark.parametrize("fake_end", list(SMUGGLING_ENDS), ids=lambda b: b.hex())
def test_bare_line_ends_cannot_smuggle_a_second_message(server, fake_end):
    client = RawClient(server.ports["mx"])
    start_data(client)
    # SMTP smuggling (SEC Consult, 2023): a fake end-of-data that some receiver accepts, followed
    # by a second transaction. Only <CRLF>.<CRLF> ends the data (RFC 5321 §4.1.1.4).
    client.send(
        b"Subject: smuggler\r\n\r\nhello" + fake_end
        + b"MAIL FROM:<evil@evil.test>\r\n" + RCPT + b"DATA\r\n"
        + b"Subject: smuggled\r\n\r\nsmuggled\r\n.\r\nQUIT\r\n"
    )
    data, _ = client.wait_closed(timeout=10)
    # Exactly one transaction was answered: its final reply, then QUIT's 221.
    lines = data.decode().split("\r\n")
    assert len(lines) == 3 and lines[1].startswith("221 ") and lines[2] == "", lines
    messages = server.messages()
    if SMUGGLING_ENDS[fake_end] == "refused":
        assert lines[0].startswith("550 5.6.0 "), lines
        assert messages == []
    else:
        assert lines[0].startswith("250 "), lines
        assert len(messages) == 1
        stored = messages[0][3]
        assert stored.startswith(b"Return-Path: <alice@sender.test>\r\n")
        # The would-be second message is just text inside the first one, with CRLF line ends.
        body = stored.split(b"\r\n\r\n", 1)[1]
        assert body.startswith(b"hello\r\n.\r\nMAIL FROM:<evil@evil.test>\r\n")
        assert body.endswith(b"\r\nsmuggled\r\n")
        assert b"\n" not in body.replace(b"\r\n", b"")
    wait_for(lambda: not spool_files(server), what="spool empty")
    client.close()
    assert_still_serving(server)


# ------------------------------------------------------------------ pipelining

def test_pipelined_transaction_in_one_write(server):
    client = RawClient(server.ports["mx"])
    lines = ehlo(client)
    assert "250-PIPELINING" in lines
    body = b"Subject: pipelined\r\nMessage-ID: <p1@client.test>\r\n\r\nline\r\n..dot\r\n"
    # RFC 2920 §3.1: MAIL, RCPTs and DATA in one group; the replies come back in order.
    client.send(
        b"MAIL FROM:<alice@sender.test>\r\n" + RCPT + f"RCPT TO:<nobody@{DOMAIN}>\r\n".encode()
        + b"DATA\r\n"
    )
    assert [code_and_enhanced(r)[0] for r in client.replies(4)] == [250, 250, 550, 354]
    client.send(body + b".\r\n")
    assert client.reply()[0] == 250
    # And a whole second transaction, body and QUIT included, in a single write.
    client.send(b"MAIL FROM:<bob@sender.test>\r\n" + RCPT + b"DATA\r\n" + body + b".\r\nQUIT\r\n")
    assert [r[0] for r in client.replies(5)] == [250, 250, 354, 250, 221]
    messages = server.messages()
    assert len(messages) == 2
    expected = body.replace(b"\r\n..dot", b"\r\n.dot")
    assert [strip_trace_headers(m[3]) for m in messages] == [expected, expected]
    client.close()
    assert_still_serving(server)
