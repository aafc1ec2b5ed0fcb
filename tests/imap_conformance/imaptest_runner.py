#!/usr/bin/python3
"""Runs Dovecot imaptest scripted tests against an IMAP server over a raw socket.

The scripts and their .mbox fixtures live in tests/conformance/imap/dovecot-imaptest/tests/; their
format is specified in tests/conformance/imap/dovecot-imaptest/scripted_test.md ("the spec" below,
cited by section). Where the spec is silent, the runner does what upstream imaptest does (its
behaviour is described, never copied, in the comments marked "imaptest:").

    imaptest_runner.py --host 127.0.0.1 --port 143 --user U --password P [--starttls|--tls]
                       [--skips FILE] [--mailbox imaptest] [SCRIPT ...]

One line per script: PASS / FAIL (first mismatch: expected vs got) / SKIP (reason). Exit status 1
if a script fails that is not listed in the skip file, 2 on usage errors. Python 3 standard library
only; values are handled as bytes so that literals and 8-bit data round-trip exactly.
"""
import argparse
import base64
import os
import re
import socket
import ssl
import sys
import time
import urllib.parse
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DEFAULT_TESTS = REPO / "tests" / "conformance" / "imap" / "dovecot-imaptest" / "tests"
DEFAULT_SKIPS = Path(__file__).resolve().parent / "skips.txt"
FULL = sys.maxsize  # "everything matched" (a match returns how many args matched otherwise)
ALL_MESSAGES = -1

# RFCs behind the capabilities the scripts require, for skip reasons.
CAPABILITY_RFC = {
    "BINARY": "RFC 3516", "CATENATE": "RFC 4469", "MULTIAPPEND": "RFC 3502",
    "ESEARCH": "RFC 4731", "CONDSTORE": "RFC 7162", "QRESYNC": "RFC 7162",
    "ESORT": "RFC 5267", "CONTEXT=SEARCH": "RFC 5267", "CONTEXT=SORT": "RFC 5267",
    "ID": "RFC 2971", "LIST-EXTENDED": "RFC 5258", "MOVE": "RFC 6851", "NOTIFY": "RFC 5465",
    "SORT": "RFC 5256", "THREAD=REFERENCES": "RFC 5256", "THREAD=ORDEREDSUBJECT": "RFC 5256",
    "SORT=DISPLAY": "RFC 5957", "UIDPLUS": "RFC 4315", "URLAUTH": "RFC 4467",
    "URLAUTH=BINARY": "RFC 5524",
}


class ScriptError(Exception):
    """The script itself is malformed (or uses something this runner does not implement)."""


class TestFailure(Exception):
    """Stops the current script: disconnection, timeout, failed setup."""


# ================================================================================================
# IMAP values
# ================================================================================================
ATOM, STRING, LITERAL, NIL, LIST = "atom", "string", "literal", "nil", "list"
STATUS_WORDS = {b"OK", b"NO", b"BAD", b"BYE", b"PREAUTH"}
LITERAL_START = re.compile(rb"~?\{(\d+)\+?\}\r\n")


class Arg:
    __slots__ = ("kind", "value")

    def __init__(self, kind, value=b""):
        self.kind = kind
        self.value = value  # bytes, or a list of Arg for LIST

    def is_astring(self):
        return self.kind in (ATOM, STRING, LITERAL)

    def __repr__(self):
        return args_to_str([self])


def parse_args(data):
    """Parses one IMAP line (literals inline as `{N}\\r\\n<N octets>`, also `~{N}` and `{N+}`).

    Atoms take any character but SP, CR, LF and a `)` closing a list: the scripts' atoms contain
    `[`, `]`, `%`, `*`, `$` and `!`. `NIL` is NIL. A line whose first word is a status (OK, NO,
    BAD, BYE, PREAUTH) is split on spaces after that word: resp-text is human-readable and need
    not be balanced, and expectations only ever look at its first words (`ok [read-write]`)."""
    first = data.split(b" ", 1)[0].upper()
    if first in STATUS_WORDS:
        return [Arg(ATOM, w) for w in data.split(b" ") if w]
    args, pos = _parse_seq(data, 0, False)
    return args


def parse_args_lenient(data):
    """parse_args for server input: a syntax error yields plain words, which then do not match."""
    try:
        return parse_args(data)
    except ScriptError:
        return [Arg(ATOM, w) for w in data.split(b" ") if w]


def _parse_seq(data, pos, in_list):
    out = []
    n = len(data)
    while pos < n:
        c = data[pos:pos + 1]
        if c in (b" ", b"\r", b"\n"):
            pos += 1
        elif c == b"(":
            items, pos = _parse_seq(data, pos + 1, True)
            out.append(Arg(LIST, items))
        elif c == b")" and in_list:
            return out, pos + 1
        elif c == b'"':
            value, pos = _parse_quoted(data, pos + 1)
            out.append(Arg(STRING, value))
        elif (m := LITERAL_START.match(data, pos)) is not None:
            start = m.end()
            size = int(m.group(1))
            if start + size > n:
                raise ScriptError("literal longer than its data")
            out.append(Arg(LITERAL, data[start:start + size]))
            pos = start + size
        else:
            end = pos
            while end < n and data[end] not in b" \r\n" and not (in_list and data[end] == 0x29):
                end += 1
            word = data[pos:end]
            out.append(Arg(NIL) if word.upper() == b"NIL" else Arg(ATOM, word))
            pos = end
    if in_list:
        raise ScriptError("unterminated list")
    return out, pos


def _parse_quoted(data, pos):
    value = bytearray()
    while pos < len(data):
        c = data[pos]
        if c == 0x5C and pos + 1 < len(data):  # backslash
            value.append(data[pos + 1])
            pos += 2
        elif c == 0x22:
            return bytes(value), pos + 1
        else:
            value.append(c)
            pos += 1
    raise ScriptError("unterminated quoted string")


def args_to_str(args, limit=300, directives=True):
    """A readable rendering of parsed args for failure messages."""
    parts = []
    for a in args:
        if not directives and _is_directive(a):
            continue
        if a.kind == LIST:
            parts.append("(" + args_to_str(a.value, limit, directives) + ")")
        elif a.kind == NIL:
            parts.append("NIL")
        elif a.kind == ATOM:
            parts.append(a.value.decode("latin-1"))
        else:
            text = "".join(_SHOW.get(c, chr(c) if 0x20 <= c < 0x7F else f"\\x{c:02x}")
                           for c in a.value)
            parts.append(('{lit}"' if a.kind == LITERAL else '"') + text + '"')
    out = " ".join(parts)
    return out if len(out) <= limit else out[:limit] + "..."


_SHOW = {0x5C: "\\\\", 0x22: '\\"', 0x0D: "\\r", 0x0A: "\\n", 0x09: "\\t"}


def imap_quote(value):
    return b'"' + value.replace(b"\\", b"\\\\").replace(b'"', b'\\"') + b'"'


# ================================================================================================
# Scripts (spec: "Header", "Commands", "Preprocessing")
# ================================================================================================
class Untagged:
    """An expected untagged reply: `*` must exist, `!` must not, `?` may (imaptest)."""

    def __init__(self, args, existence, linenum):
        self.args = args
        self.existence = existence
        self.linenum = linenum


class Command:
    def __init__(self, linenum, text, tag, reply):
        self.linenum = linenum
        self.text = text  # bytes, literals inline
        self.tag = tag  # the script's `tagN` (0: none)
        self.reply = reply  # expected tagged reply args, None until Method 2/3 supplies it


class Group:
    """Commands sent together (pipelined, spec "Method 3") on one connection, and the untagged
    replies expected while they run."""

    def __init__(self, conn):
        self.conn = conn
        self.commands = []
        self.untagged = []
        self.ordered = False  # `!ordered`: untagged replies must arrive in the listed order
        self.sleep = 0.0
        self.output = []
        self.pending = 0  # commands still waiting for their expected reply line
        self.have_bye = False


class Script:
    def __init__(self, path):
        self.path = Path(path)
        self.name = self.path.name
        own_mbox = self.path.with_name(self.path.name + ".mbox")
        # imaptest: a script without its own .mbox uses default.mbox of the directory.
        self.mbox = own_mbox if own_mbox.exists() else self.path.with_name("default.mbox")
        self.capabilities = []
        self.connections = 1
        self.messages = ALL_MESSAGES  # spec "messages": default all messages
        self.state = "selected"
        self.ignore_extra_untagged = True
        self.users = {}  # connection index -> username ("user N: ..." header, imaptest)
        self.groups = []
        self.have_banner_check = False


STATES = ["nonauth", "auth", "created", "appended", "selected"]


def parse_script(path, env=os.environ):
    script = Script(path)
    parser = _ScriptParser(script, env)
    for linenum, is_header, line in _logical_lines(Path(path).read_bytes()):
        try:
            if is_header:
                parser.header_line(line)
            else:
                parser.command_line(linenum, line)
        except ScriptError as e:
            raise ScriptError(f"{script.name} line {linenum}: {e}") from None
    parser.finish()
    return script


def _logical_lines(data):
    """Yields (first line number, in header?, line). Joins `{{{` ... `}}}` multi-line blocks
    into inline literals `{N}\\r\\n<data>` (`~{{{` gives a literal8 `~{N}`).

    imaptest: block lines are joined with CRLF, but in `~{{{` blocks with LF, keeping any CR of
    the file, so binary data is byte-exact; the line break before `}}}` is not part of the data;
    `}}} {{{` ends one literal and starts the next."""
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    header = True
    block = None  # bytearray while inside {{{ }}}
    start = last_end = 0
    binary = False
    first_linenum = 0
    for linenum, line in enumerate(lines, 1):
        if block is not None:
            if not line.startswith(b"}}}"):
                block += line
                last_end = len(block)
                block += b"\n" if binary else b"\r\n"
                continue
            del block[last_end:]
            size = len(block) - start
            block[start:start] = (b"~" if binary else b"") + b"{%d}\r\n" % size
            rest = line[3:]
            if rest.endswith(b"{{{"):
                binary, text = _block_opener(rest)
                block += text
                start = last_end = len(block)
                continue
            block += rest
            line = bytes(block)
            block = None
        else:
            first_linenum = linenum
            if line == b"":
                header = False
                continue
            if line.startswith(b"#"):
                continue
            if line.endswith(b"{{{"):
                binary, text = _block_opener(line)
                block = bytearray(text)
                start = last_end = len(block)
                continue
        yield first_linenum, header, line
    if block is not None:
        raise ScriptError(f"multi-line block at line {first_linenum} not ended")


def _block_opener(line):
    if line.endswith(b"~{{{"):
        return True, line[:-4]
    return False, line[:-3]


class _ScriptParser:
    def __init__(self, script, env):
        self.script = script
        self.env = env
        self.group = None
        self.ifenv = []  # stack of (saved skip, else seen)
        self.skip = False

    # spec "Header"
    def header_line(self, line):
        key, sep, value = line.decode("utf-8", "replace").partition(":")
        if not sep:
            raise ScriptError("header line without ':'")
        key, value = key.strip().lower(), value.strip()
        s = self.script
        if key == "capabilities":
            s.capabilities = value.split()
        elif key == "connections":
            s.connections = int(value)
        elif key == "messages":
            s.messages = ALL_MESSAGES if value == "all" else int(value)
        elif key == "state":
            if value.lower() not in STATES:
                raise ScriptError(f"unknown state {value}")
            s.state = value.lower()
        elif key == "ignore_extra_untagged":
            s.ignore_extra_untagged = value.startswith("y")
        elif key.startswith("user ") and key[5:].isdigit():
            # imaptest: "user N: <name>" logs connection N in as another user ($user2: --user2).
            s.users[int(key[5:]) - 1] = value
        else:
            raise ScriptError(f"unknown header {key}")

    def command_line(self, linenum, line):
        if self._preprocess(line) or self.skip:
            return
        group = self.group
        if group is not None:
            if self._group_directive(group, line):
                return
            existence = _untagged_prefix(line)
            if existence:
                self._add_untagged(group, linenum, line[2:], existence)
                return
            if group.pending > 0 and self._reply_line(group, line):
                return
        self._new_command(linenum, line)

    # spec "Preprocessing": !ifenv / !ifnenv / !else / !endif
    def _preprocess(self, line):
        for prefix, want in ((b"!ifenv ", True), (b"!ifnenv ", False)):
            if line.startswith(prefix):
                name = line[len(prefix):].decode()
                self.ifenv.append([self.skip, False])
                if (name in self.env) != want:
                    self.skip = True
                return True
        if line == b"!else":
            if not self.ifenv or self.ifenv[-1][1]:
                raise ScriptError("!else without !ifenv")
            self.ifenv[-1][1] = True
            if not self.ifenv[-1][0]:
                self.skip = not self.skip
            return True
        if line == b"!endif":
            if not self.ifenv:
                raise ScriptError("!endif without !ifenv")
            self.skip = self.ifenv.pop()[0]
            return True
        return False

    def _group_directive(self, group, line):
        if line.startswith(b"!sleep "):
            group.sleep = _parse_interval(line[7:].decode())
        elif line.startswith(b"!output "):
            group.output.append(line[8:])
        elif line == b"!ordered":
            group.ordered = True
        else:
            return False
        return True

    def _add_untagged(self, group, linenum, text, existence):
        args = parse_args(text)
        name = _reply_name(args)
        apply_default_directives(args, name)
        if name.upper().startswith(b"BYE"):
            if existence == "?":
                raise ScriptError("? BYE is not supported")
            if existence == "*":
                group.have_bye = True
        group.untagged.append(Untagged(args, existence, linenum))

    def _strip_connection(self, line, required):
        """Multi-connection scripts prefix lines with the connection number (spec "connections")."""
        if self.script.connections <= 1:
            return None, line
        word, _, rest = line.partition(b" ")
        if word.isdigit() and int(word) > 0:
            return int(word) - 1, rest
        if required:
            raise ScriptError("missing connection number")
        return None, line

    def _reply_line(self, group, line):
        """Method 2/3: `[conn] [tagN] OK|NO|BAD|"" [prefix]` completes a pending command."""
        conn, rest = self._strip_connection(line, False)
        reply, tag, _ = _split_reply(rest)
        if reply is None:
            return False
        if self.script.connections > 1:
            if conn is None:
                raise ScriptError("missing connection number")
            if conn != group.conn:
                raise ScriptError("reply for the wrong connection")
        cmd = next((c for c in group.commands if c.tag == tag), None)
        if cmd is None:
            raise ScriptError("reply for an unknown tag")
        if cmd.reply is not None:
            raise ScriptError("command already has a reply")
        words = rest.split(b" ")[1 if tag else 0:]
        cmd.reply = [Arg(ATOM, b"" if w == b'""' else w) for w in words if w]
        group.pending -= 1
        return True

    def _new_command(self, linenum, line):
        s = self.script
        group = self.group
        if group is None or group.pending == 0:
            group = Group(0)
            self.group = group
            s.groups.append(group)
        conn, line = self._strip_connection(line, True)
        if conn is not None:
            if group.commands and group.conn != conn:
                raise ScriptError("all pipelined commands must use the same connection")
            group.conn = conn
            s.connections = max(s.connections, conn + 1)
        reply, tag, line = _split_reply(line)
        if tag == 0 and group.pending > 0:
            raise ScriptError("missing reply for the previous command")
        if tag and any(c.tag == tag for c in group.commands):
            raise ScriptError("tag reused within a command group")
        existence = _untagged_prefix(line)
        if not group.commands and existence:
            # imaptest: untagged lines before any command check the server greeting.
            s.have_banner_check = True
            self._add_untagged(group, linenum, line[2:], existence)
            return
        if reply is None:
            group.pending += 1
        group.commands.append(Command(linenum, line, tag, reply))

    def finish(self):
        if self.ifenv:
            raise ScriptError("!ifenv without !endif")
        if self.group is None:
            raise ScriptError("no commands")
        if self.group.pending:
            raise ScriptError("missing reply for the last command")
        s = self.script
        has_logout = any(g.have_bye or any(c.text.lower() == b"logout" for c in g.commands)
                         for g in s.groups)
        if not has_logout:
            # imaptest: a final LOGOUT on the first connection, which must succeed.
            group = Group(0)
            group.commands.append(Command(0, b"logout", 0, [Arg(ATOM, b"ok")]))
            s.groups.append(group)


def _untagged_prefix(line):
    return {b"* ": "*", b"! ": "!", b"? ": "?"}.get(line[:2])


def _split_reply(line):
    """`[tagN] OK|NO|BAD|"" rest` -> (expected reply args or None, N or 0, rest)."""
    tag = 0
    word, sep, rest = line.partition(b" ")
    if sep and word[:3].lower() == b"tag" and word[3:].isdigit() and int(word[3:]) > 0:
        tag = int(word[3:])
        line = rest
        word = line.partition(b" ")[0]
    if word.lower() in (b"ok", b"no", b"bad"):
        reply = [Arg(ATOM, word.lower())]
    elif word == b'""':
        reply = [Arg(ATOM, b"")]
    else:
        return None, tag, line
    line = line[len(word):]
    return reply, tag, line[1:] if line.startswith(b" ") else line


def _reply_name(args):
    """The reply's name: `list` in `* list ...`, `fetch` in `* 3 fetch ...` or `* $3 fetch`."""
    if not args or args[0].kind != ATOM:
        return b""
    first = args[0].value
    if first[:1] == b"$" or first[:1].isdigit():
        return args[1].value if len(args) > 1 and args[1].kind == ATOM else b""
    return first


def _parse_interval(text):
    m = re.fullmatch(r"\s*(\d+)\s*(ms|msecs?|s|secs?)?\s*", text)
    if not m:
        raise ScriptError(f"bad !sleep value {text}")
    value = int(m.group(1))
    return value / 1000 if (m.group(2) or "s").startswith("m") else value


# spec "Directives": defaults for lists without explicit `$!` directives
FLAGS_DEFAULTS = [b"$!ignore=$HasNoAttachment", b"$!ignore=$HasAttachment", b"$!ignore=\\recent",
                  b"$!noextra", b"$!unordered"]
DIRECTIVE = re.compile(rb"\$!(unordered(=\d+)?|ordered|noextra|extra|ignore=.*|ban=.*)$")


def apply_default_directives(args, reply_name):
    name = reply_name.lower()
    for index, arg in enumerate(args):
        if arg.kind == LIST:
            _list_directives(arg.value, name, index, False, None)


def _list_directives(items, name, top_index, in_fetch_list, prev_atom):
    """top_index: position of this list in the reply (None when nested deeper); in_fetch_list:
    this list sits directly in `<seq> FETCH (...)`; prev_atom: the atom before it (`flags`)."""
    if not _has_directives(items):
        defaults = []
        if top_index == 1 and name in (b"list", b"lsub"):
            defaults = [b"$!unordered"]  # LIST (flags) sep mailbox
        elif top_index == 2 and name in (b"status", b"fetch"):
            defaults = [b"$!unordered=2"]  # STATUS mailbox (...), <seq> FETCH (...)
        elif in_fetch_list and prev_atom == b"flags":
            defaults = FLAGS_DEFAULTS  # <seq> FETCH (FLAGS (...))
        items[0:0] = [Arg(ATOM, d) for d in defaults]
    chain = 1
    count = 0
    for a in items:
        if not _is_directive(a):
            break
        if not DIRECTIVE.match(a.value):
            raise ScriptError(f"unknown directive {a.value.decode()}")
        if a.value.startswith(b"$!unordered="):
            chain = int(a.value[12:])
        count += 1
    if (len(items) - count) % chain:
        raise ScriptError(f"list length is not a multiple of the chain size {chain}")
    prev = None
    for a in items:
        if a.kind == ATOM:
            prev = a.value.lower()
        elif a.kind == LIST:
            _list_directives(a.value, name, None, top_index == 2 and name == b"fetch", prev)


def _is_directive(arg):
    return arg.kind == ATOM and arg.value.startswith(b"$!")


def _has_directives(items):
    return bool(items) and _is_directive(items[0])


# ================================================================================================
# Variables and matching (spec "Variables", "Directives")
# ================================================================================================
VAR_CHARS = re.compile(rb"[A-Za-z0-9_]*")


class Matcher:
    def __init__(self):
        self.vars = {}
        self.added = []  # variables bound while matching the current reply (reverted on mismatch)
        self.seqmap = []  # initial sequence -> current sequence, 0 = expunged (spec "$n")
        self.modseq_idx = 0
        self.modseq_value = 0

    # ---- variable names
    @staticmethod
    def _var_name(text, pos):
        """Reads `$name` / `${name}` at text[pos] (just after the `$`): (name, end)."""
        if text[pos:pos + 1] == b"{":
            end = text.find(b"}", pos + 1)
            if end < 0:
                raise ScriptError("missing '}'")
            return text[pos + 1:end], end + 1
        m = VAR_CHARS.match(text, pos)
        return m.group(0), m.end()

    def relative_seq(self, n):
        if n == 0:
            return b"<zero seq>"
        if n > len(self.seqmap):
            return b"<out of range>"
        if self.seqmap[n - 1] == 0:
            return b"<expunged>"
        return str(self.seqmap[n - 1]).encode()

    # ---- commands: every variable must already have a value
    def expand_command(self, text, for_display=False):
        out = bytearray()
        pos = 0
        while pos < len(text):
            c = text[pos:pos + 1]
            if c != b"$" or pos + 1 == len(text):
                out += c
                pos += 1
                continue
            nxt = text[pos + 1:pos + 2]
            if nxt == b"$":
                out += b"$"
                pos += 2
            elif nxt == b"!":  # a directive: not sent
                end = text.find(b" ", pos)
                pos = len(text) if end < 0 else end
            else:
                name, pos = self._var_name(text, pos + 1)
                if name.isdigit():
                    out += self.relative_seq(int(name))
                elif name in self.vars:
                    out += self.vars[name]
                elif for_display:
                    out += b"$" + name
                else:
                    raise ScriptError(f"uninitialized variable ${name.decode()}")
        return bytes(out)

    def expand_command_keeping_literals(self, text):
        """Expands variables outside literals only: literal data is sent as written (its size
        was computed from the script text)."""
        out = bytearray()
        pos = 0
        for m in LITERAL_START.finditer(text):
            if m.start() < pos:
                continue
            out += self.expand_command(text[pos:m.start()]) + m.group(0)
            size = int(m.group(1))
            out += text[m.end():m.end() + size]
            pos = m.end() + size
        out += self.expand_command(text[pos:])
        return bytes(out)

    # ---- replies: unknown variables take their value from the input
    def expand_input(self, pattern, inp):
        """Expands `pattern` against the server's value `inp`: (expansion or None, icase).

        A known variable must appear verbatim; an unknown one is bound to the input up to the
        next literal character of the pattern (imaptest compares only that one character).
        `$` alone matches anything; `${case:X}` makes the comparison case-sensitive; `$N` is
        a sequence number adjusted for expunges; `$modseqN` must increase (spec)."""
        out = bytearray()
        icase = True
        i = j = 0
        while i < len(pattern):
            c = pattern[i:i + 1]
            if c != b"$" or pattern[i + 1:i + 2] == b"$":
                if c == b"$":
                    i += 1
                    c = pattern[i:i + 1]
                if inp[j:j + 1].upper() != c.upper():
                    return None, icase
                out += c
                i += 1
                j += 1
                continue
            name, i = self._var_name(pattern, i + 1)
            if name.isdigit():
                value = self.relative_seq(int(name))
            elif name.startswith(b"case:"):
                icase = False
                value = name[5:]
            else:
                value = self.vars.get(name) if name else None
                if value is None:
                    value = self._bind(name, pattern[i:], inp[j:])
            out += value
            if inp[j:j + len(value)] != value:
                return None, icase
            j += len(value)
        return bytes(out), icase

    def _bind(self, name, rest_pattern, rest_input):
        stop = rest_pattern
        stop_icase = True
        if rest_pattern[:1] == b"$":
            stop, stop_icase = self.expand_input(rest_pattern, rest_input)
            stop = stop or b""
        end = 0
        if stop:
            want = stop[:1]
            while end < len(rest_input):
                got = rest_input[end:end + 1]
                if (got.upper() == want.upper()) if stop_icase else (got == want):
                    break
                end += 1
        else:
            end = len(rest_input)
        value = rest_input[:end]
        if not name:
            return value  # `$`: matches, binds nothing
        m = re.fullmatch(rb"modseq(\d+)", name)
        if m:
            value = self._check_modseq(int(m.group(1)), value)
            self.vars[name] = value  # kept even on mismatch, so the failure shows it
            return value
        self.vars[name] = value
        self.added.append(name)
        return value

    def _check_modseq(self, idx, value):
        """spec "Modseq Variables": $modseqN >= previous value + (N - previous N)."""
        if not value.isdigit():
            return b"$modseq-not-number"
        if self.modseq_idx > idx:
            return b"$modseq-order-mismatch"
        at_least = self.modseq_value + (idx - self.modseq_idx)
        number = int(value)
        self.modseq_idx = idx
        if number < at_least:
            self.modseq_value = at_least
            return b"$modseq-at-least-%d" % at_least
        self.modseq_value = number
        return value

    def revert_added(self):
        for name in self.added:
            self.vars.pop(name, None)
        self.added.clear()

    # ---- structural matching
    def match_args(self, match, args, max_n=FULL, prefix=False):
        """Matches expected args against input args: FULL, or how many matched (for "best
        match" reporting). `prefix`: the input may continue, and the last expected word only
        needs to be a prefix (tagged replies and OK/NO/BAD/BYE: human-readable text follows)."""
        ret = 0
        mi = ai = 0
        while mi < len(match) and max_n > 0:
            m = match[mi]
            a = args[ai] if ai < len(args) else None
            if m.kind == NIL:
                if a is None or a.kind != NIL:
                    return ret
            elif m.kind == LIST:
                if a is None or a.kind != LIST:
                    return ret
                sub = self.match_list(m.value, a.value)
                if sub != FULL:
                    return ret + sub
            elif m.value == b"$" and a is not None and a.kind == LIST:
                pass  # `$` also skips over a list
            elif m.value == b"$]":
                # imaptest: skips words up to the one closing a `[`, as in `OK [CAPABILITY $]`.
                while ai < len(args) and args[ai].kind == ATOM and b"]" not in args[ai].value:
                    ai += 1
            else:
                if a is None or not a.is_astring():
                    return ret
                expanded, icase = self.expand_input(m.value, a.value)
                if expanded is None:
                    return ret
                last = prefix and mi == len(match) - 1
                got = a.value[:len(expanded)] if last else a.value
                if (got.upper() != expanded.upper()) if icase else (got != expanded):
                    return ret
            ret += 1
            mi += 1
            ai += 1
            max_n -= 1
        if prefix or ai >= len(args) or max_n == 0:
            return FULL
        return ret

    def match_list(self, match, args):
        """A parenthesized list, honouring its `$!` directives (spec "Directives")."""
        unordered, chain, noextra = False, 1, None
        ignores, bans = [], []
        while match and _is_directive(match[0]):
            d = match[0].value[2:]
            if d.startswith(b"unordered"):
                unordered = True
                noextra = 0 if noextra is None else noextra
                if d.startswith(b"unordered="):
                    chain = int(d[10:])
            elif d == b"ordered":
                unordered = False
            elif d == b"extra":
                noextra = 0
            elif d == b"noextra":
                noextra = 1
            elif d.startswith(b"ignore="):
                ignores.append(d[7:].upper())
            elif d.startswith(b"ban="):
                bans.append(d[4:].upper())
            match = match[1:]
        if noextra is None:
            noextra = 1
        if not unordered:
            return self.match_args(match, args)
        if len(args) % chain:
            return 0
        matched = [False] * len(args)
        ret = 0
        for mi in range(0, len(match), chain):
            for ai in range(0, len(args), chain):
                if self.match_args(match[mi:mi + chain], args[ai:ai + chain], chain) == FULL:
                    matched[ai] = True
                    break
            else:
                return ret
            ret += 1
        for ai in range(0, len(args), chain):
            if matched[ai] or not args[ai].is_astring():
                continue
            word = args[ai].value.upper()
            if noextra and word not in ignores:
                return ret
            if not noextra and word in bans:
                return ret
        return FULL


# ================================================================================================
# mbox fixtures (spec: "Messages are appended to the test mailbox from the <name>.mbox file")
# ================================================================================================
MBOX_FROM = re.compile(
    rb"From \S+\s+\w{3} (\w{3})\s+(\d{1,2}) (\d\d:\d\d:\d\d) (\d{4})(?: ([+-]\d{4}))?\s*$")


class MboxSource:
    """The messages of an mbox, handed out in order and wrapping around at the end (spec
    "messages"). imaptest: a message is everything between two `From ` separator lines that
    parse as such (including the empty line before the next separator), with line ends turned
    into CRLF and no `>From` unquoting; its INTERNALDATE comes from the separator line (a line
    without a zone is taken as UTC)."""

    def __init__(self, path):
        self.messages = []
        current = None
        for line in Path(path).read_bytes().splitlines(keepends=True):
            m = MBOX_FROM.match(line.rstrip(b"\r\n"))
            if m:
                current = [self._date(m), bytearray()]
                self.messages.append(current)
            elif current is None:
                raise ScriptError(f"{path}: not an mbox file")
            else:
                if line.endswith(b"\n") and not line.endswith(b"\r\n"):
                    line = line[:-1] + b"\r\n"
                current[1] += line
        if not self.messages:
            raise ScriptError(f"{path}: empty mbox")
        self.next = 0

    @staticmethod
    def _date(m):
        month, day, hms, year, zone = (g.decode() if g else None for g in m.groups())
        return f"{int(day):02d}-{month}-{year} {hms} {zone or '+0000'}".encode()

    def at_end(self):
        return self.next == len(self.messages)

    def take(self):
        if self.next == len(self.messages):
            self.next = 0
        date, body = self.messages[self.next]
        self.next += 1
        return date, bytes(body)


# ================================================================================================
# Connections
# ================================================================================================
class Disconnected(Exception):
    pass


class Response:
    def __init__(self, raw):
        self.raw = raw
        if raw.startswith(b"+"):
            self.kind, self.tag, self.args = "cont", None, []
        elif raw.startswith(b"* "):
            self.kind, self.tag = "untagged", None
            self.args = parse_args_lenient(raw[2:])
        else:
            self.kind = "tagged"
            self.tag, _, rest = raw.partition(b" ")
            self.args = parse_args_lenient(rest)

    def word(self, index):
        if index < len(self.args) and self.args[index].kind == ATOM:
            return self.args[index].value.upper()
        return b""


class Connection:
    """One IMAP connection: raw lines with inline literals, tags `<id>.<n>` as imaptest uses."""

    def __init__(self, opts, index, global_id, transcript):
        self.index = index
        self.global_id = global_id
        self.transcript = transcript
        self.timeout = opts.timeout
        self.buf = b""
        self.closed = False
        self.seen_bye = False
        self.logout_sent = False
        self.tag_counter = 0
        self.exists = 0
        self.capabilities = set()
        self.mailbox = opts.mailbox.encode()  # imaptest: bare APPEND goes to the SELECTed box
        sock = socket.create_connection((opts.host, opts.port), timeout=opts.timeout)
        if opts.tls:
            sock = _tls_context().wrap_socket(sock, server_hostname=opts.host)
        self.sock = sock
        self.greeting = self.read()
        if opts.starttls:
            self.starttls(opts.host)

    def log(self, direction, data):
        text = data.decode("latin-1")
        if len(text) > 400:
            text = text[:400] + f"...({len(data)} bytes)"
        self.transcript.append(f"{self.index + 1}{direction} {text}".rstrip("\r\n"))

    def send(self, data):
        self.log(">", data)
        try:
            self.sock.sendall(data)
        except OSError as e:
            self.closed = True
            raise Disconnected(str(e)) from None

    def _fill(self):
        try:
            chunk = self.sock.recv(65536)
        except socket.timeout:
            raise TestFailure(f"timeout ({self.timeout}s) waiting for the server on "
                              f"connection {self.index + 1}") from None
        except OSError as e:
            chunk = b""
            self.transcript.append(f"{self.index + 1}! {e}")
        if not chunk:
            self.closed = True
            raise Disconnected("connection closed by the server")
        self.buf += chunk

    def read(self):
        """One response; literals `{N}` are read and kept inline."""
        line = bytearray()
        while True:
            while (nl := self.buf.find(b"\r\n")) < 0:
                self._fill()
            line += self.buf[:nl + 2]
            self.buf = self.buf[nl + 2:]
            m = re.search(rb"~?\{(\d+)\+?\}\r\n$", line)
            if not m:
                break
            size = int(m.group(1))
            while len(self.buf) < size:
                self._fill()
            line += self.buf[:size]
            self.buf = self.buf[size:]
        raw = bytes(line[:-2])
        self.log("<", raw)
        resp = Response(raw)
        self._track(resp)
        return resp

    def _track(self, resp):
        """What imaptest's client state keeps and the runner needs: message count, BYE,
        capabilities."""
        if resp.kind != "untagged":
            return
        w0, w1 = resp.word(0), resp.word(1)
        if w1 == b"EXISTS" and w0.isdigit():
            self.exists = int(w0)
        elif w1 == b"EXPUNGE" and w0.isdigit():
            self.exists = max(0, self.exists - 1)
        elif w0 == b"VANISHED" and len(resp.args) == 2 and resp.args[1].kind == ATOM:
            self.exists = max(0, self.exists - _set_size(resp.args[1].value))  # not (EARLIER)
        elif w0 == b"BYE":
            self.seen_bye = True
        elif w0 == b"CAPABILITY":
            self.capabilities = {a.value.upper().decode("latin-1") for a in resp.args[1:]
                                 if a.kind == ATOM}

    def next_tag(self):
        self.tag_counter += 1
        return b"%d.%d" % (self.global_id, self.tag_counter)

    def simple(self, command):
        """Setup command: sends it, returns (tagged response, untagged responses)."""
        tag = self.next_tag()
        self.send(tag + b" " + command + b"\r\n")
        untagged = []
        while True:
            resp = self.read()
            if resp.kind == "tagged" and resp.tag == tag:
                return resp, untagged
            if resp.kind == "untagged":
                untagged.append(resp)

    def starttls(self, host):
        resp, _ = self.simple(b"STARTTLS")
        if resp.word(0) != b"OK":
            raise TestFailure(f"STARTTLS failed: {resp.raw.decode('latin-1')}")
        self.sock = _tls_context().wrap_socket(self.sock, server_hostname=host)
        self.transcript.append(f"{self.index + 1}  [TLS started]")

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass
        self.closed = True


def _set_size(text):
    total = 0
    for part in text.split(b","):
        lo, _, hi = part.partition(b":")
        if lo.isdigit() and (not hi or hi.isdigit()):
            total += abs(int(hi or lo) - int(lo)) + 1
    return total


def _tls_context():
    # Loopback test servers use self-signed certificates: no verification.
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def split_literals(command):
    """Cuts a command at its literals: ([(text up to the size, size digits, data)], tail)."""
    parts = []
    pos = 0
    for m in re.finditer(rb" (~?)\{(\d+)\+?\}\r\n", command):
        if m.start() < pos:
            continue
        size = int(m.group(2))
        data = command[m.end():m.end() + size]
        parts.append((command[pos:m.start()] + b" " + m.group(1) + b"{" + m.group(2), data))
        pos = m.end() + size
    return parts, command[pos:]


# ================================================================================================
# Running one script
# ================================================================================================
class GroupState:
    def __init__(self, group):
        self.found = [False] * len(group.untagged)
        self.best = [(0, "")] * len(group.untagged)
        self.mismatches = 0
        self.first_extra = None


class ScriptRun:
    def __init__(self, script, opts, first_global_id):
        self.script = script
        self.opts = opts
        self.next_global_id = first_global_id
        self.m = Matcher()
        self.conns = []
        self.transcript = []
        self.failures = []
        self.source = MboxSource(script.mbox)
        self.setup_done = False

    def fail(self, line, message):
        self.failures.append(f"line {line}: {message}" if line else message)

    # ---- spec "state": connect, log in, clear/create/fill/select the test mailbox
    def setup(self):
        s = self.script
        if any(u in ("$user2", "${user2}") for u in s.users.values()) and not self.opts.user2:
            return "needs a second account: give --user2/--password2"
        for index in range(s.connections):
            self.conns.append(self._connect(index))
        target = STATES.index(s.state)
        first = self.conns[0]
        missing = self._missing_capabilities(first, target)
        if missing:
            return missing
        if target >= STATES.index("auth"):
            self._delete_test_mailboxes(first)
        if target >= STATES.index("created") and self.opts.mailbox.upper() != "INBOX":
            self._expect_ok(first, b"CREATE " + imap_quote(self.opts.mailbox.encode()))
        if target >= STATES.index("appended"):
            if s.messages == ALL_MESSAGES:
                while not self.source.at_end():
                    self._append_next(first, None)
            else:
                for _ in range(s.messages):
                    self._append_next(first, None)
        if target >= STATES.index("selected"):
            for conn in self.conns:
                if conn.index in s.users:
                    continue  # another user's connection: the test mailbox is not in its account
                conn.exists = 0
                self._expect_ok(conn, b"SELECT " + imap_quote(self.opts.mailbox.encode()))
        self._define_variables()
        self.setup_done = True
        return None

    def _connect(self, index):
        conn = Connection(self.opts, index, self.next_global_id, self.transcript)
        self.next_global_id += 1
        if STATES.index(self.script.state) == 0:
            return conn
        user, password = self._credentials(index)
        if conn.greeting.word(0) != b"PREAUTH":
            self._expect_ok(conn, b"LOGIN " + imap_quote(user.encode()) + b" " +
                            imap_quote(password.encode()))
        self._expect_ok(conn, b"CAPABILITY")
        return conn

    def _credentials(self, index):
        user = self.script.users.get(index)
        if user in ("$user2", "${user2}"):
            return self.opts.user2, self.opts.password2
        if user:
            raise ScriptError(f"unsupported user header value {user}")
        return self.opts.user, self.opts.password

    def _missing_capabilities(self, conn, target):
        if target == 0:
            self._expect_ok(conn, b"CAPABILITY")  # imaptest: pre-login capabilities
        have = conn.capabilities
        missing = [c for c in self.script.capabilities if c.upper() not in have]
        if not missing:
            return None
        rfcs = sorted({CAPABILITY_RFC.get(c.upper(), "?") for c in missing})
        return f"server does not advertise {' '.join(missing)} ({', '.join(rfcs)})"

    def _expect_ok(self, conn, command):
        resp, untagged = conn.simple(command)
        if resp.word(0) != b"OK":
            raise TestFailure(f"setup: {command.decode('latin-1')[:80]} failed: "
                              f"{resp.raw.decode('latin-1')}")
        return untagged

    def _delete_test_mailboxes(self, conn):
        """imaptest: LIST and LSUB "<mailbox>*", then DELETE (children first) and UNSUBSCRIBE
        what they return; a failing DELETE is ignored (\\Noselect parents)."""
        pattern = imap_quote(self.opts.mailbox.encode() + b"*")
        names = {}
        for verb in (b"LIST", b"LSUB"):
            for resp in self._expect_ok(conn, verb + b' "" ' + pattern):
                if resp.word(0) == verb and len(resp.args) >= 4 and resp.args[3].is_astring():
                    names.setdefault(verb, set()).add(resp.args[3].value)
        for verb, command in ((b"LIST", b"DELETE "), (b"LSUB", b"UNSUBSCRIBE ")):
            for name in sorted(names.get(verb, ()), key=bytes.upper, reverse=True):
                conn.simple(command + imap_quote(name))

    def _define_variables(self):
        """spec "Predefined Variables"."""
        v = self.m.vars
        for index in range(self.script.connections):
            user = self._credentials(index)[0]
            suffix = b"" if index == 0 else str(index + 1).encode()
            username, _, domain = user.partition("@")
            v[b"user" + suffix] = user.encode()
            v[b"username" + suffix] = username.encode()
            v[b"domain" + suffix] = (domain or self.opts.host).encode()
            v[b"password" + suffix] = self._credentials(index)[1].encode()
        v[b"mailbox"] = self.opts.mailbox.encode()
        v[b"mailbox_url"] = mailbox_url(self.opts.mailbox)

    # ---- APPEND of the next fixture message
    def _append_next(self, conn, args, on_response=None):
        """imaptest: a bare `append` appends the next mbox message to the selected (or test)
        mailbox with the separator line's date; `append <mailbox> [flags]` without a message
        appends it with those arguments and no date."""
        date, body = self.source.take()
        if args is None:
            prefix = b"APPEND " + imap_quote(conn.mailbox) + b' "' + date + b'"'
        else:
            prefix = b"APPEND " + args
        tag = conn.next_tag()
        done = self._send_command(conn, tag, [(prefix + b" {%d" % len(body), body)], b"",
                                  on_response)
        if not self.setup_done:
            resp = done or self._read_until_tagged(conn, tag)
            if resp.word(0) != b"OK":
                raise TestFailure(f"setup: APPEND failed: {resp.raw.decode('latin-1')}")
        return tag, done

    def _read_until_tagged(self, conn, tag):
        while True:
            resp = conn.read()
            if resp.kind == "tagged" and resp.tag == tag:
                return resp

    # ---- sending, with synchronizing literals when the server lacks LITERAL+ (RFC 7888)
    def _send_command(self, conn, tag, parts, tail, on_response):
        """Returns the tagged response if it arrived early (a rejected literal), else None."""
        plus = "LITERAL+" in conn.capabilities and not self.opts.sync_literals
        head = tag + b" "
        for text, data in parts:
            if plus:
                conn.send(head + text + b"+}\r\n" + data)
            else:
                conn.send(head + text + b"}\r\n")
                early = self._await_continuation(conn, tag, on_response)
                if early is not None:
                    return early
                conn.send(data)
            head = b""
        conn.send(head + tail + b"\r\n")
        return None

    def _await_continuation(self, conn, tag, on_response):
        while True:
            resp = conn.read()
            if resp.kind == "cont":
                return None
            if resp.kind == "tagged" and resp.tag == tag:
                return resp
            if on_response is not None:
                on_response(resp)

    # ---- spec "Commands"
    def run(self):
        for index, group in enumerate(self.script.groups):
            try:
                if index == 0 and self.script.have_banner_check:
                    self._banner_check(group)
                    continue
                if not self._run_group(group):
                    break
            except ScriptError as e:
                self.fail(group.commands[0].linenum if group.commands else 0, str(e))
                break

    def _banner_check(self, group):
        state = GroupState(group)
        greeting = self.conns[group.conn].greeting
        self._match_untagged(group, state, greeting.args, None)
        self._check_group(group, state)

    def _run_group(self, group):
        """Sends the group's commands, reads until each has its tagged reply, checks the
        replies. Returns False when the script cannot continue."""
        conn = self.conns[group.conn]
        if conn.closed:
            self.fail(group.commands[0].linenum, f"connection {group.conn + 1} is closed")
            return False
        self.m.seqmap = list(range(1, conn.exists + 1))
        state = GroupState(group)
        pending = {}
        first_tag = []

        def on_response(resp):
            self._dispatch(group, state, pending, first_tag, resp)

        try:
            for cmd in group.commands:
                tag, early = self._send(conn, group, cmd, on_response)
                pending[tag] = cmd
                first_tag.append(tag)
                if early is not None:
                    on_response(early)
            while pending:
                on_response(conn.read())
        except Disconnected:
            return self._disconnected(group, state)
        self._check_group(group, state)
        if group.sleep:
            time.sleep(group.sleep)
        for text in group.output:
            if self.opts.verbose:
                print("   ", self.m.expand_command(text, True).decode("latin-1"))
        return True

    def _send(self, conn, group, cmd, on_response):
        text = self.m.expand_command_keeping_literals(cmd.text)
        low = text.lower()
        if cmd.linenum == 0 or low == b"logout" or group.have_bye:
            conn.logout_sent = True
        if low.split(b" ", 1)[0] in (b"select", b"examine"):
            args = parse_args_lenient(text.split(b" ", 1)[1] if b" " in text else b"")
            if args and args[0].is_astring():
                conn.mailbox = args[0].value
                conn.exists = 0
        if low == b"append":
            return self._append_next(conn, None, on_response)
        if low.startswith(b"append ") and not _append_has_body(text[7:]):
            return self._append_next(conn, text[7:], on_response)
        tag = conn.next_tag()
        parts, tail = split_literals(text)
        return tag, self._send_command(conn, tag, parts, tail, on_response)

    def _dispatch(self, group, state, pending, first_tag, resp):
        conn = self.conns[group.conn]
        if resp.kind == "untagged":
            tag = first_tag[0] if first_tag and first_tag[0] in pending else None
            self._match_untagged(group, state, resp.args, tag)
            if resp.word(1) == b"EXPUNGE" and resp.word(0).isdigit():
                self._expunged(int(resp.word(0)))
        elif resp.kind == "tagged" and resp.tag in pending:
            cmd = pending.pop(resp.tag)
            self.m.vars[b"tag"] = resp.tag
            ok = self.m.match_args(cmd.reply, resp.args, FULL, True) == FULL
            self.m.vars.pop(b"tag", None)
            if not ok:
                self.fail(cmd.linenum, f"{self._cmd_text(cmd)}: expected tagged "
                          f"'{args_to_str(cmd.reply)}', got '{args_to_str(resp.args)}'")
            if resp.word(0) == b"OK" and cmd.text.lower() in (b"close", b"unselect"):
                conn.exists = 0

    def _expunged(self, seq):
        """spec "$n": keeps initial sequence numbers mapped to current ones."""
        seqs = self.m.seqmap
        if seq > len(seqs):
            return
        for i in range(seq - 1, len(seqs)):
            if seqs[i] == seq:
                seqs[i] = 0
            elif seqs[i] > seq:
                seqs[i] -= 1

    def _match_untagged(self, group, state, args, tag):
        """Tries one untagged reply against every expected line not yet matched (any order,
        unless `!ordered`); one reply may satisfy several expected lines."""
        conn = self.conns[group.conn]
        if not group.untagged and (self.script.ignore_extra_untagged or conn.logout_sent):
            return
        first = args[0].value.upper() if args and args[0].kind == ATOM else b""
        prefix = first in (b"OK", b"NO", b"BAD", b"BYE")
        self.m.added.clear()
        found_some = False
        for i, expected in enumerate(group.untagged):
            if state.found[i]:
                continue
            if tag is not None:
                self.m.vars[b"tag"] = tag
            count = self.m.match_args(expected.args, args, FULL, prefix)
            self.m.vars.pop(b"tag", None)
            if count == FULL:
                if expected.existence == "!":
                    self.fail(expected.linenum, f"forbidden untagged reply received: "
                              f"'* {args_to_str(args)}' matches '! {args_to_str(expected.args)}'")
                    return
                state.found[i] = True
                found_some = True
                self.m.added.clear()
                if group.ordered:
                    break
                continue
            if state.best[i][0] < count:
                state.best[i] = (count, args_to_str(args))
            self.m.revert_added()
            if group.ordered and expected.existence == "*":
                break
        if not found_some:
            state.mismatches += 1
            if not self.script.ignore_extra_untagged and state.first_extra is None:
                state.first_extra = args_to_str(args)

    def _check_group(self, group, state):
        missing = [i for i, u in enumerate(group.untagged)
                   if u.existence == "*" and not state.found[i]]
        if missing:
            expected = group.untagged[missing[0]]
            shown = self.m.expand_command(args_to_str(expected.args, 10000, False).encode(), True)
            best = state.best[missing[0]][1] or "(no similar reply)"
            self.fail(expected.linenum,
                      f"{self._group_text(group)}: missing {len(missing)} untagged "
                      f"(of {len(group.untagged)}); expected '* {shown.decode('latin-1')[:300]}', "
                      f"best match '{best}'")
        if state.first_extra is not None:
            self.fail(group.commands[0].linenum if group.commands else 0,
                      f"{state.mismatches} unexpected untagged, first: '{state.first_extra}'")

    def _disconnected(self, group, state):
        conn = self.conns[group.conn]
        if group.have_bye and conn.seen_bye:
            for cmd in group.commands:
                if not (len(cmd.reply) == 1 and cmd.reply[0].value == b""):
                    self.fail(cmd.linenum, f"{self._cmd_text(cmd)}: disconnected after BYE "
                              f"but the script expects '{args_to_str(cmd.reply)}'")
            self._check_group(group, state)
            return True
        line = group.commands[0].linenum if group.commands else 0
        self.fail(line, f"{self._group_text(group)}: unexpected disconnection")
        return False

    def _cmd_text(self, cmd):
        text = self.m.expand_command(cmd.text, True).decode("latin-1")
        text = text.split("\r\n", 1)[0]
        return f"'{text[:100]}'"

    def _group_text(self, group):
        if not group.commands:
            return "greeting"
        return self._cmd_text(group.commands[0])

    def close(self):
        for conn in self.conns:
            if not conn.closed:
                try:
                    conn.sock.settimeout(2)
                    if not conn.logout_sent:
                        conn.send(conn.next_tag() + b" LOGOUT\r\n")
                except (OSError, Disconnected):
                    pass
                conn.close()


def _append_has_body(args_text):
    """imaptest: APPEND args carry a message if a literal or CATENATE follows the mailbox,
    optional flags list and optional date string."""
    try:
        args = parse_args(args_text)
    except ScriptError:
        return False
    i = 0
    if len(args) > i + 1 and args[i + 1].kind == LIST:
        i += 1
    if len(args) > i + 1 and args[i + 1].kind == STRING:
        i += 1
    if len(args) <= i + 1:
        return False
    nxt = args[i + 1]
    return nxt.kind == LITERAL or (nxt.kind == ATOM and nxt.value.lower() == b"catenate")


def mailbox_url(name):
    """$mailbox_url: the mailbox name (modified UTF-7, RFC 3501 5.1.3) as a URL path (RFC 5092)."""
    text = re.sub(r"&([^-]*)-", lambda m: "&" if not m.group(1) else base64.b64decode(
        m.group(1).replace(",", "/") + "=" * (-len(m.group(1)) % 4)).decode("utf-16-be"), name)
    return urllib.parse.quote(text, safe="/!$&'()*+,=:@").encode()


# ================================================================================================
# Driver
# ================================================================================================
def load_skips(path):
    skips = {}
    if path and Path(path).exists():
        for line in Path(path).read_text().splitlines():
            line = line.strip()
            if line and not line.startswith("#"):
                name, _, reason = line.partition(" ")
                skips[name] = reason.strip() or "listed in the skip file"
    return skips


def find_scripts(directory, names):
    directory = Path(directory)
    if names:
        return [directory / n if not Path(n).exists() else Path(n) for n in names]
    # imaptest: every file of the directory except *.mbox and subdirectories (tests/broken/).
    return sorted(p for p in directory.iterdir()
                  if p.is_file() and not p.name.endswith(".mbox") and not p.name.startswith("."))


def run_script(path, opts, global_id):
    """-> (status, message, transcript)."""
    try:
        script = parse_script(path)
    except ScriptError as e:
        return "FAIL", f"script error: {e}", []
    except (OSError, UnicodeDecodeError) as e:
        return "FAIL", f"cannot read script: {e}", []
    try:
        run = ScriptRun(script, opts, global_id)
    except ScriptError as e:
        return "FAIL", f"fixture error: {e}", []
    try:
        skip = run.setup()
        if skip:
            return "SKIP", skip, run.transcript
        run.run()
    except TestFailure as e:
        run.fail(0, str(e))
    except Disconnected as e:
        run.fail(0, f"setup: {e}")
    except ScriptError as e:
        run.fail(0, f"script error: {e}")
    except OSError as e:
        run.fail(0, f"connection error: {e}")
    finally:
        run.close()
    if run.failures:
        extra = f" (+{len(run.failures) - 1} more)" if len(run.failures) > 1 else ""
        return "FAIL", run.failures[0] + extra, run.transcript, run.failures
    return "PASS", "", run.transcript


def main(argv=None):
    ap = argparse.ArgumentParser(description="Run Dovecot imaptest scripts against an IMAP server.")
    ap.add_argument("scripts", nargs="*", help="script names or paths (default: all)")
    ap.add_argument("--tests", default=str(DEFAULT_TESTS), help="directory of the scripts")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=143)
    tls = ap.add_mutually_exclusive_group()
    tls.add_argument("--tls", action="store_true", help="implicit TLS (no certificate check)")
    tls.add_argument("--starttls", action="store_true", help="STARTTLS before anything else")
    ap.add_argument("--user", required=True)
    ap.add_argument("--password", required=True)
    ap.add_argument("--user2", help="second account for scripts with 'user 2: $user2'")
    ap.add_argument("--password2")
    ap.add_argument("--mailbox", default="imaptest", help="test mailbox (spec: default imaptest)")
    ap.add_argument("--skips", default=str(DEFAULT_SKIPS),
                    help="skip list: lines '<script> <reason>' (default: %(default)s)")
    ap.add_argument("--run-skipped", action="store_true",
                    help="run listed scripts anyway and show how they fare")
    ap.add_argument("--sync-literals", action="store_true",
                    help="wait for continuation requests even if the server has LITERAL+")
    ap.add_argument("--timeout", type=float, default=20.0, help="seconds to wait for a reply")
    ap.add_argument("--transcripts", metavar="DIR",
                    help="write protocol transcripts of failures to DIR/<script>.log")
    ap.add_argument("-v", "--verbose", action="store_true",
                    help="print every mismatch and the end of the transcript of failures")
    opts = ap.parse_args(argv)
    if opts.mailbox.upper() == "INBOX":
        ap.error("--mailbox INBOX: the runner deletes the test mailbox and its children")

    skips = load_skips(opts.skips)
    counts = {"PASS": 0, "FAIL": 0, "SKIP": 0}
    unexpected = 0
    global_id = 1
    for path in find_scripts(opts.tests, opts.scripts):
        name = path.name
        if name in skips and not opts.run_skipped:
            print(f"SKIP {name} ({skips[name]})", flush=True)
            counts["SKIP"] += 1
            continue
        status, message, transcript, *rest = run_script(path, opts, global_id)
        global_id += 10
        if name in skips:
            message = f"{skips[name]}; ran: {status} {message}".rstrip()
            status = "SKIP"
        counts[status] += 1
        if status == "FAIL":
            unexpected += 1
        print(f"{status} {name}" + (f" ({message})" if status == "SKIP" else
                                    f": {message}" if message else ""), flush=True)
        if status == "FAIL":
            _report_failure(opts, name, rest[0] if rest else [message], transcript)
    print(f"# {counts['PASS']} pass, {counts['FAIL']} fail, {counts['SKIP']} skip")
    return 1 if unexpected else 0


def _report_failure(opts, name, failures, transcript):
    if opts.verbose:
        for failure in failures[1:]:
            print(f"     also: {failure}")
        for line in transcript[-30:]:
            print(f"     | {line}")
    if opts.transcripts:
        out = Path(opts.transcripts)
        out.mkdir(parents=True, exist_ok=True)
        text = "\n".join(failures) + "\n\n" + "\n".join(transcript) + "\n"
        (out / f"{name}.log").write_text(text, errors="backslashreplace")


if __name__ == "__main__":
    sys.exit(main())
