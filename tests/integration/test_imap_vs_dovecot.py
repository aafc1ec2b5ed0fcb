"""FETCH answers compared with Dovecot's, message by message (Dovecot as a reference).

A real `sovereign serve` (implicit TLS) and a private Dovecot (tests/imap_conformance/
dovecot_instance.py: own config, loopback, plaintext) get the same corpus
(tests/integration/imap_corpus/*.eml) APPENDed to INBOX in the same order with the same flags and
internal date. For every message both are asked, one item per command, for ENVELOPE,
BODYSTRUCTURE, BODY, RFC822.SIZE, BODY.PEEK[<section>] for every section the BODYSTRUCTUREs show
(1, 1.MIME, 2.HEADER, 2.TEXT, 2.1, ...; HEADER, TEXT, HEADER.FIELDS (SUBJECT FROM) and []), and
BINARY.PEEK[<leaf>] / BINARY.SIZE[<leaf>] for leaves whose transfer encoding is not an identity
one. The untagged FETCH answers are parsed (lists, quoted strings, literals, NIL, atoms) and
compared after normalising only what the RFCs leave free (see `normalise_body`): ENVELOPE, BODY
and BODYSTRUCTURE field by field (`differences`), every other item whole, including the tagged
status and response code when a command fails.

Every difference must be explained, either by a RULE (a systematic difference; the rule checks
its own explanation, e.g. that the part's text really lacks a final CRLF) or by an entry in
KNOWN (message, key) -> (kind, reason):
  DOVECOT_WRONG  Dovecot's answer is wrong, ours is right (the reason cites the RFC);
  BOTH_ALLOWED   the RFCs allow both answers;
  OURS_WRONG     our answer is wrong: the message's test xfails with the list (reported, not
                 silently passed) until it is fixed.
An unexplained difference fails; so does a KNOWN entry that no longer differs, or a RULE that
explains nothing, so the table stays honest (an OURS_WRONG entry that stops differing means it
was fixed: delete the entry). docs/imap.md "Differences from Dovecot" summarises the table.
IMAP_COMPARE_REPORT=<file> writes every compared item and every difference to <file>.

    SOVEREIGN_BIN=build/release/src/cli/sovereign tests/integration/run.sh test_imap_vs_dovecot.py
"""
import os
import re
import socket
import ssl
import sys
from pathlib import Path

import pytest

from conftest import ADMIN, PASSWORD, Server, make_data_dir

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "imap_conformance"))
from dovecot_instance import DOVECOT, DovecotInstance  # noqa: E402

CORPUS = Path(__file__).resolve().parent / "imap_corpus"
MESSAGES = sorted(p.name for p in CORPUS.glob("*.eml"))
INTERNAL_DATE = "01-May-2025 12:00:00 +0000"
FLAGS = "(\\Seen $Corpus)"

pytestmark = pytest.mark.skipif(
    not (os.path.exists(DOVECOT) and os.path.exists("/usr/lib/dovecot/imap")),
    reason="Dovecot (dovecot-core, dovecot-imapd) is not installed",
)

OURS_WRONG = "ours-wrong"
DOVECOT_WRONG = "dovecot-wrong"
BOTH_ALLOWED = "both-allowed"

# (message, key) -> (kind, reason). Keys: whole items as in the FETCH answer (BODY[2.MIME],
# BINARY.SIZE[1], RFC822.SIZE), or one field of ENVELOPE / BODY / BODYSTRUCTURE:
#   ENVELOPE to[2].name             field of the 2nd address of To
#   BODYSTRUCTURE 2.1 lines         field of part 2.1 ("top": the message's own body;
#   BODY 3 shape                    "2/body": the multipart body of message/rfc822 part 2)
#   STRUCTURE 2 description         a field that differs alike in BODY and BODYSTRUCTURE
# Fields: type subtype params id description encoding size lines envelope.<env field> md5
# disposition language location; "shape"/"parts" when the part's layout itself differs.
KNOWN = {}


def known(kind, reason, message, *keys):
    for key in keys:
        assert (message, key) not in KNOWN, (message, key)
        KNOWN[(message, key)] = (kind, reason)


FROM3 = ("ENVELOPE from[1].name", "ENVELOPE sender[1].name", "ENVELOPE reply-to[1].name")

# --- our answer is wrong


# --- Dovecot's answer is wrong

known(DOVECOT_WRONG,
      "name*0*=iso-8859-1'de'Gr%FC%DFe%20; name*1=aus%20; name*2=\"M\\\"unchen.txt\": RFC 9051 "
      "§7.5.2 says to decode per RFC 2231, convert to UTF-8, concatenate and return 'name*', "
      "which we do. Dovecot concatenates but keeps ISO-8859-1 and leaves '\"' raw inside the "
      "extended value, where RFC 2231 §7 allows only attribute-chars and %-escapes.",
      "08-rfc2231.eml", "STRUCTURE 3 params")
EMPTY_MEDIA_TYPE = (
    "Invalid Content-Type ('text', '/plain', 'text/plain charset=utf-8' without ';', ';;;'): "
    "Dovecot reports an empty type and/or subtype, which is no media type (RFC 2045 §5.1: "
    "both are tokens). RFC 2045 §5.2 recommends treating an invalid Content-Type as "
    "text/plain; charset=us-ascii, as we do (keeping a charset we could still read).")
known(DOVECOT_WRONG, EMPTY_MEDIA_TYPE, "17-bad-content-type.eml",
      "STRUCTURE 1 subtype",
      "STRUCTURE 2 type", "STRUCTURE 2 subtype", "STRUCTURE 2 params", "STRUCTURE 2 shape",
      "STRUCTURE 3 type", "STRUCTURE 3 subtype", "STRUCTURE 3 params", "STRUCTURE 3 shape",
      "STRUCTURE 6 type", "STRUCTURE 6 subtype", "STRUCTURE 6 params", "STRUCTURE 6 shape")
known(DOVECOT_WRONG,
      "'Content-Type: multipart/mixed' folded onto 'boundary=\"boundary\"' without ';'. Dovecot "
      "reports one leaf of type \"\"/\"\", which is no media type (RFC 2045 §5.1). We read "
      "the boundary anyway and show the multipart (lenient; RFC 2045 §5.2 would suggest "
      "text/plain).",
      "51-dovecot-malformed-017.eml", "STRUCTURE top shape")
known(BOTH_ALLOWED,
      "Follows from the structure difference above (RFC 9051 §6.4.5 numbers parts by the "
      "structure): our part 1 is the image, Dovecot's is the whole body.",
      "51-dovecot-malformed-017.eml", "BODY[1]", "BODY[1.MIME]", "BINARY[1]", "BINARY.SIZE[1]")
known(DOVECOT_WRONG,
      "Valid base64 parts: Dovecot answers BINARY[n] but fails BINARY.SIZE[n] with NO [PARSE] "
      "(because another part of the message is broken); RFC 3516 §4.3 and RFC 9051 §6.4.5: "
      "BINARY.SIZE is the size BINARY returns.",
      "26-binary-content.eml", "BINARY.SIZE[1]", "BINARY.SIZE[4]")
known(DOVECOT_WRONG,
      "Base64 with spaces inside and text after the '=' padding: RFC 2045 §6.8 says characters "
      "outside the alphabet are ignored and '=' marks the end of the data, so it decodes to "
      "'Hello world', as we send; Dovecot fails with NO [PARSE].",
      "26-binary-content.eml", "BINARY[3]", "BINARY.SIZE[3]")
NO_BLANK_LINE = (
    "A message (or encapsulated message) with no body and no blank line: header fetches "
    "include the blank line 'except in the case of a message which has no body and no blank "
    "line' (RFC 9051 §6.4.5, RFC 3501 §6.4.5), so HEADER.FIELDS has none, as BODY[HEADER] "
    "has none. Dovecot adds one to such a top-level header and to an empty encapsulated one, "
    "but not to other encapsulated headers (44-stalwart-rfc-008: BODY[2.HEADER.FIELDS] \"\").")
known(DOVECOT_WRONG, NO_BLANK_LINE, "19-header-only.eml", "BODY[HEADER.FIELDS (SUBJECT FROM)]")
known(DOVECOT_WRONG, NO_BLANK_LINE, "32-empty-parts.eml", "BODY[3.HEADER.FIELDS (SUBJECT FROM)]")
CLOSE_DELIMITER_CRLF = (
    "The CRLF before a (close) delimiter belongs to the delimiter (RFC 2046 §5.1.1); Dovecot "
    "counts it into the last part when the close delimiter ends the message without a CRLF "
    "of its own or follows a multipart without body parts.")
known(DOVECOT_WRONG, CLOSE_DELIMITER_CRLF, "32-empty-parts.eml", "BODY[4]")
known(DOVECOT_WRONG, CLOSE_DELIMITER_CRLF, "44-stalwart-rfc-008-base64-rfc822.eml",
      "STRUCTURE 2 size", "BODY[2]")

# --- the RFCs allow both

known(BOTH_ALLOWED,
      "Raw UTF-8 display name: we send RFC 2047 UTF-8 encoded words to an IMAP4rev1 client "
      "that has not enabled UTF8=ACCEPT (RFC 6855 §3 keeps UTF-8 out of its strings); Dovecot "
      "sends the raw octets in a literal, which RFC 3501 §9 (literal = CHAR8) allows.",
      "21-8bit-headers.eml", *FROM3)
known(BOTH_ALLOWED,
      "Raw UTF-8 parameter value: we send it RFC 2231-encoded (NAME*=utf-8''...), the form "
      "RFC 9051 §7.5.2 uses for decoded RFC 2231 values; Dovecot sends the raw octets in a "
      "literal (RFC 3501 §9 literal = CHAR8).",
      "21-8bit-headers.eml", "STRUCTURE top params")
known(BOTH_ALLOWED,
      "RFC 2231 value re-encoded as 'utf-8''...' where the message says 'UTF-8''...': charset "
      "names are case-insensitive (RFC 2046 §4.1.2).",
      "08-rfc2231.eml", "STRUCTURE 2 params", "BODYSTRUCTURE 2 disposition")
known(BOTH_ALLOWED,
      "The same disposition parameters in another order (we put the joined continuation where "
      "its first segment was, Dovecot appends it); MIME parameters are not order-sensitive "
      "(RFC 2231 §3 (2)).",
      "08-rfc2231.eml", "BODYSTRUCTURE 3 disposition")
known(BOTH_ALLOWED,
      "filename*=''plain-no-charset.txt: we decode it (empty charset, ASCII value) and send "
      "FILENAME; Dovecot sends the extended form unchanged. Both mean the same (RFC 2231 §4); "
      "RFC 9051 §7.5.2 asks dispositions only to have continuations decoded.",
      "08-rfc2231.eml", "BODYSTRUCTURE 4 disposition")
known(BOTH_ALLOWED,
      "Two Subject fields (RFC 5322 §3.6 allows at most one): we take the first, Dovecot the "
      "last; RFC 9051 §7.5.2 does not say.",
      "12-empty-sender-replyto.eml", "ENVELOPE subject")
NO_BODY_PARTS = (
    "A multipart without body parts (no boundary parameter, no delimiter line, or only the "
    "close delimiter): RFC 2046 §5.1.1 requires a boundary and at least one body part, and "
    "RFC 9051 §9 (body-type-mpart = 1*body) has no form for an empty multipart. We send a "
    "leaf with its own media type (media-basic allows any type string), so BODY[1] still "
    "reaches the bytes; Dovecot invents one empty text/plain part and the bytes are reachable "
    "only as BODY[TEXT]. The other items follow from that.")
known(BOTH_ALLOWED, NO_BODY_PARTS, "14-multipart-no-boundary.eml",
      "STRUCTURE top shape", "BODY[1]", "BODY[1.MIME]")
known(BOTH_ALLOWED, NO_BODY_PARTS, "15-boundary-never-used.eml",
      "STRUCTURE top shape", "BODY[1]", "BODY[1.MIME]")
known(BOTH_ALLOWED, NO_BODY_PARTS, "32-empty-parts.eml",
      "STRUCTURE 4 shape", "BODY[4.1]", "BODY[4.1.MIME]")
known(BOTH_ALLOWED,
      "charset=\"unterminated: a quoted-string without its closing quote. We keep the text up "
      "to the end of the field, Dovecot drops the parameter (so us-ascii); RFC 2045 §5.2 "
      "leaves the recovery open.",
      "17-bad-content-type.eml", "STRUCTURE 5 params")
known(BOTH_ALLOWED,
      "'Content-Transfer-Encoding: 7 bit' is no mechanism token (RFC 2045 §6.1). We report "
      "the first token, '7', an unknown encoding (BINARY then fails with UNKNOWN-CTE, RFC 3516 "
      "§4.3; RFC 2045 §6.4 says to treat such a part as application/octet-stream); Dovecot "
      "falls back to 7BIT.",
      "17-bad-content-type.eml", "STRUCTURE 7 encoding")
known(BOTH_ALLOWED,
      "Quoted-printable with '=ZZ' and a lone '=' is invalid (RFC 2045 §6.7). The RFC's note "
      "(2) suggests robust decoders keep such sequences as they are, which we do; Dovecot "
      "refuses with NO [PARSE] (RFC 5530 §3).",
      "26-binary-content.eml", "BINARY[2]", "BINARY.SIZE[2]")
known(BOTH_ALLOWED,
      "To has '<>' (an empty angle-addr is no address, RFC 5322 §3.4) and 'undisclosed' (no "
      "domain): we leave out '<>' and send '' as the missing host; Dovecot sends placeholder "
      "addresses (MISSING_MAILBOX, MISSING_DOMAIN). RFC 9051 §7.5.2 has a form for neither.",
      "28-comments.eml", "ENVELOPE to")


# --- a minimal IMAP client: one command at a time, literals read by their announced length

class ImapError(Exception):
    pass


class Client:
    def __init__(self, port, tls):
        sock = socket.create_connection(("127.0.0.1", port), timeout=30)
        if tls:
            ctx = ssl.create_default_context()
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
            sock = ctx.wrap_socket(sock)
        self.sock = sock
        self.buf = b""
        self.tag = 0
        greeting = self._response()
        if not greeting.startswith(b"* OK"):
            raise ImapError(f"greeting: {greeting!r}")

    def _line(self):
        while b"\r\n" not in self.buf:
            data = self.sock.recv(65536)
            if not data:
                raise ImapError(f"connection closed; pending {self.buf[:200]!r}")
            self.buf += data
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line + b"\r\n"

    def _exactly(self, n):
        while len(self.buf) < n:
            data = self.sock.recv(max(65536, n - len(self.buf)))
            if not data:
                raise ImapError("connection closed inside a literal")
            self.buf += data
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def _response(self):
        """One response line with its literals ("{n}" / "~{n}" at a line end), CRLF removed."""
        out = b""
        while True:
            line = self._line()
            out += line
            m = re.search(rb"\{(\d+)\+?\}\r\n$", line)
            if not m:
                return out[:-2]
            out += self._exactly(int(m.group(1)))

    def command(self, *parts):
        """Sends a command; bytes parts after the first are sent as synchronising literals.
        Returns (status, response code or None, [untagged responses])."""
        self.tag += 1
        tag = b"t%d" % self.tag
        head = tag + b" " + parts[0]
        for literal in parts[1:]:
            self.sock.sendall(head + b"{%d}\r\n" % len(literal))
            reply = self._response()
            if not reply.startswith(b"+"):
                raise ImapError(f"no continuation for {parts[0]!r}: {reply!r}")
            head = literal
        self.sock.sendall(head + b"\r\n")
        untagged = []
        while True:
            resp = self._response()
            if resp.startswith(tag + b" "):
                m = re.match(rb"\S+ (\S+)(?: \[([^\]]*)\])?", resp)
                code = m.group(2).decode() if m.group(2) is not None else None
                return m.group(1).decode().upper(), code, untagged
            untagged.append(resp)

    def close(self):
        try:
            self.command(b"LOGOUT")
        except (ImapError, OSError):
            pass
        self.sock.close()


# --- IMAP response parsing

class Atom(str):
    """An atom (case-insensitive where the RFC says so; kept as sent, compared upper-cased)."""


class ParseError(Exception):
    pass


def parse_values(data: bytes, pos=0, end_char=None):
    """Parses IMAP values up to `end_char` (b")") or the end; returns (values, position)."""
    values = []
    n = len(data)
    while True:
        while pos < n and data[pos:pos + 1] == b" ":
            pos += 1
        if pos >= n:
            if end_char is not None:
                raise ParseError(f"missing {end_char!r} at {pos}")
            return values, pos
        c = data[pos:pos + 1]
        if end_char is not None and c == end_char:
            return values, pos + 1
        if c == b"(":
            inner, pos = parse_values(data, pos + 1, b")")
            values.append(inner)
        elif c == b'"':
            out = bytearray()
            pos += 1
            while True:
                if pos >= n:
                    raise ParseError("unterminated quoted string")
                ch = data[pos]
                if ch == 0x5C:  # backslash quotes the next character
                    out.append(data[pos + 1])
                    pos += 2
                elif ch == 0x22:
                    pos += 1
                    break
                else:
                    out.append(ch)
                    pos += 1
            values.append(bytes(out))
        elif c in (b"{", b"~"):
            m = re.compile(rb"~?\{(\d+)\+?\}\r\n").match(data, pos)
            if not m:
                raise ParseError(f"bad literal at {pos}: {data[pos:pos + 20]!r}")
            size = int(m.group(1))
            values.append(bytes(data[m.end():m.end() + size]))
            pos = m.end() + size
        else:
            start = pos
            # An atom, or a fetch item name with a section: BODY[HEADER.FIELDS (A B)]<0>.
            while pos < n and data[pos:pos + 1] not in (b" ", b"(", b")", b"[", b"\r", b"\n"):
                pos += 1
            if pos == start:
                raise ParseError(f"unexpected {c!r} at {pos}")
            if pos < n and data[pos:pos + 1] == b"[":
                close = data.index(b"]", pos)
                pos = close + 1
                m = re.compile(rb"<\d+>").match(data, pos)
                if m:
                    pos = m.end()
            token = data[start:pos].decode("latin-1")
            if token.upper() == "NIL":
                values.append(None)
            elif token.isdigit():
                values.append(int(token))
            else:
                values.append(Atom(token))


def parse_fetch(resp: bytes):
    """`* n FETCH (name value ...)` -> {NAME: value}."""
    m = re.match(rb"\* (\d+) FETCH ", resp, re.I)
    if not m:
        return None
    values, _ = parse_values(resp, m.end())
    if len(values) != 1 or not isinstance(values[0], list) or len(values[0]) % 2:
        raise ParseError(f"not a FETCH list: {resp[:200]!r}")
    items = values[0]
    return {str(items[i]).upper(): items[i + 1] for i in range(0, len(items), 2)}


def render(value) -> str:
    """IMAP-like text for messages (strings quoted, bytes escaped)."""
    if value is None:
        return "NIL"
    if isinstance(value, list):
        return "(" + " ".join(render(v) for v in value) + ")"
    if isinstance(value, bytes):
        text = repr(value)[2:-1].replace('"', '\\"')
        if len(text) > 400:
            text = text[:400] + f"...[{len(value)} bytes]"
        return f'"{text}"'
    return str(value)


# --- normalisation: only what the RFCs leave free

def _upper(v):
    return v.upper() if isinstance(v, bytes) else v


def _params(v):
    # body-fld-param: attribute names are case-insensitive (RFC 2045 §5.1); values are kept.
    if not isinstance(v, list):
        return v
    return [_upper(x) if i % 2 == 0 else x for i, x in enumerate(v)]


def _dsp(v):
    # body-fld-dsp: disposition type and parameter names are case-insensitive (RFC 2183 §2).
    if isinstance(v, list) and len(v) == 2:
        return [_upper(v[0]), _params(v[1])]
    return v


def _lang(v):
    # body-fld-lang = nstring / "(" string *(SP string) ")" (RFC 3501 §9): one string and a
    # one-element list say the same; language tags are case-insensitive (RFC 5646 §2.1.1).
    if isinstance(v, bytes):
        v = [v]
    if isinstance(v, list):
        return [_upper(x) for x in v]
    return v


def is_multipart(body):
    return isinstance(body, list) and body and isinstance(body[0], list)


def subparts(body):
    """The body parts of a multipart body: the lists before the subtype string."""
    out = []
    for part in body:
        if not isinstance(part, list):
            break
        out.append(part)
    return out


def is_message(body):
    """A message/rfc822 (or message/global) body: envelope, body and lines follow the size."""
    return (isinstance(body, list) and len(body) >= 10 and isinstance(body[7], list)
            and isinstance(body[8], list) and _upper(body[0]) == b"MESSAGE")


def normalise_body(body):
    """BODY / BODYSTRUCTURE: media type, subtype, encoding, parameter and disposition names are
    case-insensitive (RFC 2045 §5.1, §6.1); everything else is compared as sent."""
    if not isinstance(body, list):
        return body
    if is_multipart(body):
        parts = [normalise_body(p) for p in subparts(body)]
        rest = body[len(parts):]
        out = parts + [_upper(rest[0]) if rest else None]
        ext = rest[1:]
        if len(ext) >= 1:
            out.append(_params(ext[0]))
        if len(ext) >= 2:
            out.append(_dsp(ext[1]))
        if len(ext) >= 3:
            out.append(_lang(ext[2]))
        out += ext[3:]
        return out
    out = list(body)
    if len(out) >= 7:
        out[0], out[1] = _upper(out[0]), _upper(out[1])
        out[2] = _params(out[2])
        out[5] = _upper(out[5])
        fixed = 7
        if is_message(out):
            out[8] = normalise_body(out[8])
            fixed = 10
        elif out[0] == b"TEXT":
            fixed = 8
        ext = out[fixed:]
        # ext: md5, dsp, lang, loc, extensions
        if len(ext) >= 2:
            ext[1] = _dsp(ext[1])
        if len(ext) >= 3:
            ext[2] = _lang(ext[2])
        out[fixed:] = ext
    return out


def normalise(item, value):
    if item in ("BODY", "BODYSTRUCTURE"):
        return normalise_body(value)
    return value


# --- which items to ask for

def sections(structures):
    """FETCH items for a message, from the BODYSTRUCTUREs both servers returned (union, in
    order): every part, its MIME header, encapsulated messages' HEADER/TEXT, BINARY for leaves
    with a decoding transfer encoding."""
    items = []

    def add(item):
        if item not in items:
            items.append(item)

    def leaf(body, path):
        enc = body[5] if isinstance(body, list) and len(body) > 5 else None
        if isinstance(enc, bytes) and enc.upper() not in (b"7BIT", b"8BIT", b"BINARY"):
            add(f"BINARY[{path}]")
            add(f"BINARY.SIZE[{path}]")

    def child(body, path):
        """`body` is the part numbered `path`."""
        if is_multipart(body):
            children(body, path)
        elif is_message(body):
            add(f"BODY[{path}.HEADER]")
            add(f"BODY[{path}.TEXT]")
            add(f"BODY[{path}.HEADER.FIELDS (SUBJECT FROM)]")
            inner = body[8]
            if is_multipart(inner):
                children(inner, path)
            else:
                add(f"BODY[{path}.1]")
                add(f"BODY[{path}.1.MIME]")
                child(inner, f"{path}.1")
        else:
            leaf(body, path)

    def children(body, path):
        for i, part in enumerate(subparts(body), 1):
            p = f"{path}.{i}" if path else str(i)
            add(f"BODY[{p}]")
            add(f"BODY[{p}.MIME]")
            child(part, p)

    for item in ("BODY[]", "BODY[HEADER]", "BODY[TEXT]", "BODY[HEADER.FIELDS (SUBJECT FROM)]"):
        add(item)
    for root in structures:
        if not isinstance(root, list):
            continue
        if is_multipart(root):
            children(root, "")
        else:
            add("BODY[1]")
            add("BODY[1.MIME]")
            child(root, "1")
    return items


def request_for(item):
    """The FETCH argument that returns `item` without setting \\Seen."""
    if item.startswith("BODY["):
        return "BODY.PEEK" + item[4:]
    if item.startswith("BINARY["):
        return "BINARY.PEEK" + item[6:]
    return item


# --- running both servers

class Peer:
    def __init__(self, name, port, tls, user, password):
        self.name = name
        self.client = Client(port, tls)
        status, _, _ = self.client.command(
            b'LOGIN "%s" "%s"' % (user.encode(), password.encode()))
        assert status == "OK", f"{name}: LOGIN {status}"
        status, _, _ = self.client.command(b"SELECT INBOX")
        assert status == "OK", f"{name}: SELECT {status}"
        self.uids = {}

    def append(self, name, data):
        status, code, _ = self.client.command(
            f'APPEND INBOX {FLAGS} "{INTERNAL_DATE}" '.encode(), data)
        m = re.match(r"APPENDUID \d+ (\d+)", code or "")
        if status == "OK" and m:
            self.uids[name] = int(m.group(1))
        return status

    def fetch(self, name, item):
        """(status, code, value): value is the normalised answer (None if the command failed)."""
        uid = self.uids.get(name)
        if uid is None:
            return ("APPEND-FAILED", None, None)
        status, code, untagged = self.client.command(
            f"UID FETCH {uid} ({request_for(item)})".encode())
        if status != "OK":
            return (status, code, None)
        found = {}
        for resp in untagged:
            items = parse_fetch(resp)
            if items:
                found.update(items)
        found.pop("UID", None)
        found.pop("FLAGS", None)
        if len(found) != 1:
            return (status, None, ("unexpected items", sorted(found)))
        (answered, value), = found.items()
        if answered != item:
            # The item name in the answer is part of the answer (RFC 9051 §7.5.2).
            return (status, None, ("answered as", answered, normalise(item, value)))
        return (status, None, normalise(item, value))


def describe(answer):
    """An answer (status, code, value) or a compared value, as IMAP-like text."""
    if isinstance(answer, tuple) and len(answer) == 3 and answer[0] in (
            "OK", "NO", "BAD", "APPEND-FAILED"):
        status, code, value = answer
        if status != "OK":
            return f"{status}" + (f" [{code}]" if code else "")
        answer = value
    if isinstance(answer, tuple):
        return " ".join(render(v) if not isinstance(v, str) else v for v in answer)
    return render(answer)


@pytest.fixture(scope="module")
def comparison(tmp_path_factory):
    """{message: {item: (our answer, Dovecot's answer)}} for the whole corpus; an answer is
    (tagged status, response code, normalised value)."""
    server = Server(make_data_dir(tmp_path_factory.mktemp("sovereign")))
    server.configure()
    server.start()
    dovecot = DovecotInstance()
    peers = []
    try:
        dovecot.start()
        user, password = dovecot.users[0]
        ours = Peer("sovereign", server.ports["imaps"], True, ADMIN, PASSWORD)
        theirs = Peer("dovecot", dovecot.port, False, user, password)
        peers = [ours, theirs]
        results = {}
        for name in MESSAGES:
            data = (CORPUS / name).read_bytes()
            results[name] = {"APPEND": (ours.append(name, data), theirs.append(name, data))}
        for name in MESSAGES:
            answers = results[name]
            for item in ("ENVELOPE", "BODYSTRUCTURE", "BODY", "RFC822.SIZE"):
                answers[item] = (ours.fetch(name, item), theirs.fetch(name, item))
            structures = [a[2] for a in answers["BODYSTRUCTURE"]]
            for item in sections(structures):
                answers[item] = (ours.fetch(name, item), theirs.fetch(name, item))
        report = os.environ.get("IMAP_COMPARE_REPORT")
        if report:
            write_report(Path(report), results)
        return results
    finally:
        for peer in peers:
            peer.client.close()
        dovecot.stop()
        server.stop()


# --- differences, field by field

ENVELOPE_FIELDS = ("date", "subject", "from", "sender", "reply-to", "to", "cc", "bcc",
                   "in-reply-to", "message-id")
ADDRESS_FIELDS = ("name", "adl", "mailbox", "host")
BASIC_FIELDS = ("type", "subtype", "params", "id", "description", "encoding", "size")
ONEPART_EXTENSION = ("md5", "disposition", "language", "location")
MULTIPART_EXTENSION = ("params", "disposition", "language", "location")


def _diff(out, key, a, b):
    if a != b:
        out[key] = (a, b)


def diff_envelope(out, prefix, a, b):
    """Keys like `ENVELOPE to[2].name`: one per differing address field."""
    if not (isinstance(a, list) and isinstance(b, list) and len(a) == len(b) == 10):
        _diff(out, prefix, a, b)
        return
    for i, field in enumerate(ENVELOPE_FIELDS):
        x, y = a[i], b[i]
        key = f"{prefix} {field}" if prefix == "ENVELOPE" else f"{prefix}.{field}"
        if 2 <= i <= 7 and isinstance(x, list) and isinstance(y, list) and len(x) == len(y):
            for j, (ax, ay) in enumerate(zip(x, y), 1):
                if isinstance(ax, list) and isinstance(ay, list) and len(ax) == len(ay) == 4:
                    for k, name in enumerate(ADDRESS_FIELDS):
                        _diff(out, f"{key}[{j}].{name}", ax[k], ay[k])
                else:
                    _diff(out, f"{key}[{j}]", ax, ay)
        else:
            _diff(out, key, x, y)


def _tail_fields(body, extended):
    """Names of the fields after the basic ones, by the part's own type."""
    names = []
    if is_message(body):
        names = ["envelope", "body", "lines"]
    elif _upper(body[0]) == b"TEXT":
        names = ["lines"]
    if extended:
        names += list(ONEPART_EXTENSION)
    return names


def diff_body(out, item, num, label, a, b, extended):
    """Keys like `BODYSTRUCTURE 2.1 lines`: `num` is the section number of the part ("" for
    the top of a multipart message), `label` how keys name it ("top" for the message itself,
    "2/body" for the multipart body of the message/rfc822 part 2)."""
    prefix = f"{item} {label}"
    if not (isinstance(a, list) and isinstance(b, list)):
        _diff(out, f"{prefix} shape", a, b)
        return
    if is_multipart(a) != is_multipart(b):
        _diff(out, f"{prefix} shape", a, b)
        return
    if is_multipart(a):
        pa, pb = subparts(a), subparts(b)
        if len(pa) != len(pb):
            _diff(out, f"{prefix} parts", a, b)
            return
        for i, (x, y) in enumerate(zip(pa, pb), 1):
            child = f"{num}.{i}" if num else str(i)
            diff_body(out, item, child, child, x, y, extended)
        ra, rb = a[len(pa):], b[len(pb):]
        names = ["subtype"] + (list(MULTIPART_EXTENSION) if extended else [])
        for i in range(max(len(ra), len(rb))):
            name = names[i] if i < len(names) else f"extension{i}"
            _diff(out, f"{prefix} {name}", ra[i] if i < len(ra) else "<absent>",
                  rb[i] if i < len(rb) else "<absent>")
        return
    for i, name in enumerate(BASIC_FIELDS):
        _diff(out, f"{prefix} {name}", a[i] if i < len(a) else "<absent>",
              b[i] if i < len(b) else "<absent>")
    na, nb = _tail_fields(a, extended), _tail_fields(b, extended)
    if na != nb:
        _diff(out, f"{prefix} shape", a[7:], b[7:])
        return
    for i, name in enumerate(na, 7):
        x = a[i] if i < len(a) else "<absent>"
        y = b[i] if i < len(b) else "<absent>"
        if name == "envelope":
            diff_envelope(out, f"{prefix} envelope", x, y)
        elif name == "body":
            # The encapsulated message's body: a multipart's parts are num.1, num.2, ...; a
            # single part is num.1.
            if is_multipart(x) and is_multipart(y):
                diff_body(out, item, num, f"{num}/body", x, y, extended)
            else:
                diff_body(out, item, f"{num}.1", f"{num}.1", x, y, extended)
        else:
            _diff(out, f"{prefix} {name}", x, y)
    for i in range(7 + len(na), max(len(a), len(b))):
        _diff(out, f"{prefix} extension{i}", a[i] if i < len(a) else "<absent>",
              b[i] if i < len(b) else "<absent>")


def differences(answers):
    """{key: (ours, theirs)}: ENVELOPE, BODY and BODYSTRUCTURE field by field, other items
    whole. A field that differs alike in BODY and BODYSTRUCTURE is reported once, as
    `STRUCTURE <part> <field>`."""
    out = {}
    for item, (ours, theirs) in answers.items():
        if ours == theirs:
            continue
        both_ok = ours[0] == theirs[0] == "OK" and not isinstance(ours[2], tuple) \
            and not isinstance(theirs[2], tuple)
        if both_ok and item == "ENVELOPE":
            diff_envelope(out, "ENVELOPE", ours[2], theirs[2])
        elif both_ok and item in ("BODY", "BODYSTRUCTURE"):
            a, b = ours[2], theirs[2]
            multipart = is_multipart(a) and is_multipart(b)
            diff_body(out, item, "" if multipart else "1", "top", a, b, item == "BODYSTRUCTURE")
        else:
            out[item] = (ours, theirs)
    for key in [k for k in out if k.startswith("BODY ")]:
        twin = "BODYSTRUCTURE " + key[len("BODY "):]
        if twin in out:
            out["STRUCTURE " + key[len("BODY "):]] = out.pop(twin)
            del out[key]
    return out


# --- classification: systematic rules (each checks its own explanation), then KNOWN

def _section_text(answers, num):
    """Our BODY[num]; the body of a single-part message ("top") is BODY[1]."""
    answer = answers.get("BODY[1]" if num == "top" else f"BODY[{num}]")
    return answer[0][2] if answer and answer[0][0] == "OK" else None


def rule_lines_last_line(answers, key, ours, theirs):
    """The part's text does not end with CRLF (the CRLF before the boundary belongs to the
    boundary, RFC 2046 §5.1.1): we count that last line, Dovecot counts CRLFs."""
    m = re.fullmatch(r"(?:STRUCTURE|BODY|BODYSTRUCTURE) (\S+) lines", key)
    if not m or not (isinstance(ours, int) and isinstance(theirs, int)) or ours != theirs + 1:
        return False
    num = m.group(1)
    text = _section_text(answers, num)
    return isinstance(text, bytes) and text != b"" and not text.endswith(b"\n") \
        and text.count(b"\n") == theirs


def rule_missing_domain(answers, key, ours, theirs):
    """An address without a domain: we send the empty host, Dovecot invents MISSING_DOMAIN."""
    return key.endswith(".host") and ours == b"" and theirs == b"MISSING_DOMAIN"


RULES = [
    (rule_lines_last_line, BOTH_ALLOWED,
     "body-fld-lines is 'the size of the body in text lines' (RFC 9051 §7.5.2, RFC 3501 "
     "§7.4.2); neither says whether a last line without CRLF (its CRLF is the boundary's, "
     "RFC 2046 §5.1.1) is a line. We count it (RFC 2046's own example calls such text 'two "
     "lines'... that 'does NOT end with a linebreak'), Dovecot counts CRLFs."),
    (rule_missing_domain, BOTH_ALLOWED,
     "RFC 9051 §7.5.2 has no value for an address without a domain (RFC 5322 §3.4.1 requires "
     "one) and reserves NIL for group syntax; we send the empty string, Dovecot a made-up "
     "host 'MISSING_DOMAIN' (after UW-IMAP's .MISSING-HOST-NAME.)."),
]


def classify(name, answers, key, ours, theirs):
    """(kind, reason) for a difference, or None if it is unexplained."""
    for rule, kind, reason in RULES:
        if rule(answers, key, ours, theirs):
            return kind, reason
    return KNOWN.get((name, key))


def write_report(path, results):
    """Every compared item per message, then every difference with its classification."""
    lines = [f"{name}: {' '.join(results[name])}\n" for name in MESSAGES]
    for name in MESSAGES:
        for key, (ours, theirs) in differences(results[name]).items():
            entry = classify(name, results[name], key, ours, theirs)
            kind = entry[0] if entry else "UNEXPLAINED"
            lines.append(f"{name} | {key} | {kind}\n  ours:    {describe(ours)}\n"
                         f"  dovecot: {describe(theirs)}\n")
    path.write_text("".join(lines))


@pytest.mark.parametrize("name", MESSAGES)
def test_fetch_answers_match_dovecot(comparison, name):
    answers = comparison[name]
    assert answers["APPEND"] == ("OK", "OK"), f"APPEND: ours {answers['APPEND']}"
    diffs = differences(answers)
    unexpected, fixed, ours_wrong = [], [], []
    for key, (ours, theirs) in diffs.items():
        entry = classify(name, answers, key, ours, theirs)
        text = f"{key}\n    ours:    {describe(ours)}\n    dovecot: {describe(theirs)}"
        if entry is None:
            unexpected.append(text)
        elif entry[0] == OURS_WRONG:
            ours_wrong.append(f"{text}\n    why:     {entry[1]}")
    for (message, key), (kind, _) in KNOWN.items():
        if message == name and key not in diffs:
            fixed.append(f"{key} ({kind}): no longer differs, delete the KNOWN entry")
    assert not unexpected, "differences not in KNOWN:\n  " + "\n  ".join(unexpected)
    assert not fixed, "\n".join(fixed)
    if ours_wrong:
        pytest.xfail("our answer is wrong (OURS_WRONG):\n  " + "\n  ".join(ours_wrong))


def test_every_rule_still_explains_a_difference(comparison):
    used = set()
    for name in MESSAGES:
        for key, (ours, theirs) in differences(comparison[name]).items():
            for rule, _, _ in RULES:
                if rule(comparison[name], key, ours, theirs):
                    used.add(rule.__name__)
    unused = [rule.__name__ for rule, _, _ in RULES if rule.__name__ not in used]
    assert not unused, f"rules that no longer explain any difference: {unused}"


def test_known_table_is_well_formed():
    for (message, item), (kind, reason) in KNOWN.items():
        assert message in MESSAGES, message
        assert kind in (OURS_WRONG, DOVECOT_WRONG, BOTH_ALLOWED), (message, item)
        assert re.search(r"RFC \d+", reason), f"{message} {item}: reason must cite an RFC"


def test_parser_reads_literals_quoted_strings_and_sections():
    values, _ = parse_values(
        b'(BODY[HEADER.FIELDS (SUBJECT FROM)] {5}\r\nab\r\nc "q\\"x" NIL 12 ~{2}\r\n\x00\x01'
        b' (a "b") BINARY.SIZE[1]<0> Atom)')
    assert values == [[Atom("BODY[HEADER.FIELDS (SUBJECT FROM)]"), b"ab\r\nc", b'q"x', None, 12,
                       b"\x00\x01", [Atom("a"), b"b"], Atom("BINARY.SIZE[1]<0>"), Atom("Atom")]]
    # String and literal forms of the same string compare equal; case of type names does not
    # matter, case of parameter values does.
    a = normalise_body([b"text", b"plain", [b"charset", b"UTF-8"], None, None, b"7bit", 3, 1])
    b = normalise_body([b"TEXT", b"PLAIN", [b"CHARSET", b"UTF-8"], None, None, b"7BIT", 3, 1])
    c = normalise_body([b"TEXT", b"PLAIN", [b"CHARSET", b"utf-8"], None, None, b"7BIT", 3, 1])
    assert a == b and b != c
    assert sections([[[b"TEXT", b"PLAIN", None, None, None, b"BASE64", 4, 1],
                      [b"MESSAGE", b"RFC822", None, None, None, b"7BIT", 9,
                       [None] * 10, [b"TEXT", b"PLAIN", None, None, None, b"7BIT", 1, 1], 2],
                      b"MIXED"]])[4:] == [
        "BODY[1]", "BODY[1.MIME]", "BINARY[1]", "BINARY.SIZE[1]", "BODY[2]", "BODY[2.MIME]",
        "BODY[2.HEADER]", "BODY[2.TEXT]", "BODY[2.HEADER.FIELDS (SUBJECT FROM)]", "BODY[2.1]",
        "BODY[2.1.MIME]"]
