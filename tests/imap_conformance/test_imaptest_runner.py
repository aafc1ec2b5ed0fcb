#!/usr/bin/python3
"""Offline tests of imaptest_runner.py: script parsing, matching rules, mbox fixtures.

    /usr/bin/python3 -m unittest tests/imap_conformance/test_imaptest_runner.py   (or pytest)
"""
import sys
import tempfile
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import imaptest_runner as r  # noqa: E402


def args(text):
    return r.parse_args(text)


def untagged(text, name=None):
    parsed = r.parse_args(text)
    r.apply_default_directives(parsed, r._reply_name(parsed))
    return parsed


def script(text):
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "t"
        path.write_bytes(text)
        (Path(d) / "default.mbox").write_bytes(b"From a@b  Fri Feb 22 17:06:23 2008\nX: y\n\nz\n")
        return r.parse_script(path)


class ParseArgs(unittest.TestCase):
    def test_values(self):
        a = args(b'1 FETCH (UID 5 FLAGS (\\Seen) BODY[] {5}\r\nab\r\nc X "q\\"t" NIL)')
        self.assertEqual([x.kind for x in a], [r.ATOM, r.ATOM, r.LIST])
        inner = a[2].value
        self.assertEqual(inner[5].kind, r.LITERAL)
        self.assertEqual(inner[5].value, b"ab\r\nc")
        self.assertEqual(inner[7].value, b'q"t')
        self.assertEqual(inner[8].kind, r.NIL)

    def test_atoms_take_brackets_and_wildcards(self):
        a = args(b'list "" !#$$&\'+,-.0123456789:;<=>?@^_`|[}%*')
        self.assertEqual(a[2].value, b"!#$$&'+,-.0123456789:;<=>?@^_`|[}%*")
        a = args(b"1 FETCH (BODY[HEADER.FIELDS (FROM)] {0}\r\n)")
        self.assertEqual([x.kind for x in a[2].value], [r.ATOM, r.LIST, r.ATOM, r.LITERAL])

    def test_status_text_is_split_on_spaces(self):
        a = args(b'OK [UNSEEN 1] "unbalanced ( text')
        self.assertEqual([x.value for x in a], [b"OK", b"[UNSEEN", b"1]", b'"unbalanced', b"(",
                                                b"text"])

    def test_unterminated_list_is_an_error(self):
        with self.assertRaises(r.ScriptError):
            args(b"1 FETCH (UID 1")


class Scripts(unittest.TestCase):
    def test_multiline_literals(self):
        # Lines are joined with CRLF (LF in ~{{{ blocks, keeping the file's CRs); the line break
        # before }}} is not data.
        s = script(b"\nok fetch 1 x\n* 1 fetch (a {{{\nl1\n\n}}} b ~{{{\n3\r\n\n}}})\n")
        exp = s.groups[0].untagged[0].args[2].value
        self.assertEqual(exp[2].value, b"l1\r\n")
        self.assertEqual(exp[4].value, b"3\r\n")

    def test_methods_and_connections(self):
        s = script(b"connections: 2\nstate: auth\n\n"
                   b"1 ok create x\n"
                   b"2 select x\n* 0 exists\n2 ok [read-write]\n"
                   b"1 tag1 noop\n1 tag2 noop\n1 tag2 ok\n1 tag1 \"\"\n")
        g = s.groups
        self.assertEqual(len(g), 4)  # + the final LOGOUT
        self.assertEqual((g[0].conn, g[0].commands[0].reply[0].value), (0, b"ok"))
        self.assertEqual(g[1].conn, 1)
        self.assertEqual([a.value for a in g[1].commands[0].reply], [b"ok", b"[read-write]"])
        self.assertEqual([c.tag for c in g[2].commands], [1, 2])
        self.assertEqual(g[2].commands[0].reply[0].value, b"")
        self.assertEqual(g[3].commands[0].text, b"logout")

    def test_missing_reply_is_an_error(self):
        with self.assertRaises(r.ScriptError):
            script(b"\nselect x\n* 0 exists\n")

    def test_ifenv(self):
        s = script(b"\n!ifenv SOV_SURELY_UNSET_VAR\nok a\n!else\nok b\n!endif\n")
        self.assertEqual(s.groups[0].commands[0].text, b"b")

    def test_banner_check(self):
        s = script(b"state: nonauth\n\n* ok [capability $]\nok noop\n")
        self.assertTrue(s.have_banner_check)
        self.assertEqual(s.groups[0].commands, [])

    def test_every_corpus_script_parses(self):
        for path in r.find_scripts(r.DEFAULT_TESTS, []):
            with self.subTest(path.name):
                r.parse_script(path)
                r.MboxSource(r.Script(path).mbox)


class Directives(unittest.TestCase):
    def test_defaults(self):
        fetch = untagged(b"1 fetch (uid 1 flags (\\seen))")[2].value
        self.assertEqual(fetch[0].value, b"$!unordered=2")
        self.assertEqual([a.value for a in fetch[-1].value][-2:], [b"$!unordered", b"\\seen"])
        self.assertEqual(untagged(b"list () / x")[1].value[0].value, b"$!unordered")
        self.assertEqual(untagged(b"status x (messages 1)")[2].value[0].value, b"$!unordered=2")

    def test_explicit_directives_replace_defaults(self):
        fetch = untagged(b"1 fetch (flags ($!extra))")[2].value
        self.assertEqual(fetch[0].value, b"$!unordered=2")
        self.assertEqual([a.value for a in fetch[2].value], [b"$!extra"])


class Matching(unittest.TestCase):
    def setUp(self):
        self.m = r.Matcher()

    def match(self, expected, got, prefix=False):
        return self.m.match_args(untagged(expected), args(got), r.FULL, prefix) == r.FULL

    def test_binding_and_reuse(self):
        self.assertTrue(self.match(b"1 fetch (uid $uid1)", b"1 FETCH (UID 42)"))
        self.assertEqual(self.m.vars[b"uid1"], b"42")
        self.assertTrue(self.match(b"search $uid1:$x", b"SEARCH 42:50"))
        self.assertEqual(self.m.vars[b"x"], b"50")
        self.assertFalse(self.match(b"1 fetch (uid $uid1)", b"1 FETCH (UID 43)"))

    def test_dollar_matches_anything_but_named_vars_not_lists(self):
        self.assertTrue(self.match(b"1 fetch (body $)", b"1 FETCH (BODY (\"text\" \"plain\"))"))
        self.assertFalse(self.match(b"1 fetch (body $b)", b"1 FETCH (BODY (\"text\"))"))

    def test_fetch_is_unordered_with_extras_flags_exact(self):
        self.assertTrue(self.match(b"1 fetch (flags (\\seen) uid 1)",
                                   b"1 FETCH (UID 1 MODSEQ (3) FLAGS (\\Recent \\Seen))"))
        self.assertFalse(self.match(b"1 fetch (flags (\\seen))",
                                    b"1 FETCH (FLAGS (\\Seen \\Flagged))"))
        self.assertFalse(self.match(b"1 fetch (flags (\\seen \\draft))",
                                    b"1 FETCH (FLAGS (\\Seen))"))

    def test_top_level_is_exact(self):
        self.assertTrue(self.match(b"search 1 2", b"SEARCH 1 2"))
        self.assertFalse(self.match(b"search 1", b"SEARCH 1 2"))
        self.assertFalse(self.match(b"search 1 2", b"SEARCH 1"))

    def test_prefix_for_status_text(self):
        self.assertTrue(self.match(b"ok [read-write]", b"OK [READ-WRITE] done", prefix=True))
        self.assertFalse(self.match(b"ok [read-only]", b"OK [READ-WRITE] done", prefix=True))
        self.assertTrue(self.match(b'""', b"BAD whatever", prefix=True))

    def test_case(self):
        self.assertTrue(self.match(b"list () / inbox", b"LIST () / INBOX"))
        self.assertFalse(self.match(b"list () / ${case:INBOX/Inbox}", b"LIST () / INBOX/INBOX"))
        self.assertTrue(self.match(b"list () / ${case:INBOX/Inbox}", b"LIST () / INBOX/Inbox"))

    def test_modseq_must_grow(self):
        self.assertTrue(self.match(b"1 fetch (modseq ($modseq2))", b"1 FETCH (MODSEQ (10))"))
        self.assertFalse(self.match(b"1 fetch (modseq ($modseq5))", b"1 FETCH (MODSEQ (12))"))

    def test_relative_sequence_numbers(self):
        self.m.seqmap = [1, 2, 3, 0, 4]
        self.assertTrue(self.match(b"$5 expunge", b"4 EXPUNGE"))
        self.assertFalse(self.match(b"$4 expunge", b"4 EXPUNGE"))

    def test_command_expansion(self):
        self.m.vars[b"mailbox"] = b"box"
        self.assertEqual(self.m.expand_command(b"select ${mailbox}2 $$x"), b"select box2 $x")
        with self.assertRaises(r.ScriptError):
            self.m.expand_command(b"fetch $nope")
        self.assertEqual(self.m.expand_command_keeping_literals(b"append $mailbox {2}\r\n$x"),
                         b"append box {2}\r\n$x")


class Mbox(unittest.TestCase):
    def test_messages(self):
        with tempfile.NamedTemporaryFile(suffix=".mbox") as f:
            f.write(b"From a@b  Fri Feb 22 17:06:23 2008\nA: 1\n\nFrom the start\n\n"
                    b"From a@b  Sat Mar 24 23:00:00 2007 +0200\nB: 2\r\n\r\nx\n")
            f.flush()
            src = r.MboxSource(f.name)
        self.assertEqual(src.take(), (b"22-Feb-2008 17:06:23 +0000",
                                      b"A: 1\r\n\r\nFrom the start\r\n\r\n"))
        self.assertEqual(src.take(), (b"24-Mar-2007 23:00:00 +0200", b"B: 2\r\n\r\nx\r\n"))
        self.assertTrue(src.at_end())
        self.assertEqual(src.take()[0], b"22-Feb-2008 17:06:23 +0000")  # wraps around


if __name__ == "__main__":
    unittest.main()
