"""`sovereign import` / `sovereign export` against a real Dovecot (no network).

A private Dovecot instance (its own base_dir, passwd-file userdb, no listeners) writes a Maildir
through its own IMAP code: /usr/lib/dovecot/imap runs pre-authenticated on a pipe, so APPEND
sets flags, keywords and internal dates exactly as an IMAP client would. We import that Maildir,
export it again, and let Dovecot read the export back (doveadm fetch). The same for mbox.
"""
import json
import os
import pwd
import re
import shutil
import signal
import sqlite3
import subprocess
import tempfile
from pathlib import Path

import pytest

from conftest import ADMIN, run_cli, wait_for

DOVECOT = shutil.which("dovecot") or "/usr/sbin/dovecot"
DOVEADM = shutil.which("doveadm") or "/usr/bin/doveadm"
IMAP = "/usr/lib/dovecot/imap"

pytestmark = pytest.mark.skipif(
    not (os.path.exists(DOVECOT) and os.path.exists(DOVEADM) and os.path.exists(IMAP)),
    reason="Dovecot (dovecot-core, dovecot-imapd) is not installed",
)

USER = "alice"


class Dovecot:
    """A private Dovecot: started with `dovecot -c`, stopped and awaited in close()."""

    def __init__(self):
        # Dovecot refuses mail access as root, so as root the mail user is nobody; its files must
        # be reachable, hence a world-traversable directory of our own (pytest's are 0700).
        self.root = Path(tempfile.mkdtemp(prefix="sov-dovecot-"))
        self.root.chmod(0o755)
        if os.getuid() == 0:
            nobody = pwd.getpwnam("nobody")
            self.uid, self.gid = nobody.pw_uid, nobody.pw_gid
        else:
            self.uid, self.gid = os.getuid(), os.getgid()
        (self.root / "run").mkdir()
        (self.root / "state").mkdir()
        self.home = self.mkdir("home")
        self.maildir = self.root / "Maildir"  # created by Dovecot
        self.mkdir("Maildir")
        (self.root / "passwd").write_text(f"{USER}:{{PLAIN}}secret:::::\n")
        self.conf = self.root / "dovecot.conf"
        self.conf.write_text(f"""
base_dir = {self.root}/run
state_dir = {self.root}/state
log_path = {self.root}/dovecot.log
protocols =
ssl = no
mail_location = maildir:{self.maildir}
mail_home = {self.home}
mail_uid = {self.uid}
mail_gid = {self.gid}
first_valid_uid = {min(self.uid, 500)}
first_valid_gid = {min(self.gid, 500)}
default_internal_user = {pwd.getpwuid(os.getuid()).pw_name if os.getuid() else "dovecot"}
passdb {{
  driver = passwd-file
  args = {self.root}/passwd
}}
userdb {{
  driver = passwd-file
  args = {self.root}/passwd
}}
namespace inbox {{
  inbox = yes
  separator = /
}}
""")
        subprocess.run([DOVECOT, "-c", str(self.conf)], check=True, timeout=30)
        self.pid = int(wait_for(lambda: self._read_pid(), timeout=20, what="dovecot master.pid"))
        wait_for(lambda: (self.root / "run" / "auth-userdb").exists(), timeout=20,
                 what="dovecot auth-userdb socket")

    def _read_pid(self):
        try:
            return (self.root / "run" / "master.pid").read_text().strip() or None
        except FileNotFoundError:
            return None

    def mkdir(self, name):
        path = self.root / name
        path.mkdir(exist_ok=True)
        os.chown(path, self.uid, self.gid)
        return path

    def give(self, path):
        """Hands a tree written by sovereign (as root) to the mail user, so Dovecot can read it."""
        if os.getuid() != 0:
            return
        for dirpath, dirnames, filenames in os.walk(path):
            os.chown(dirpath, self.uid, self.gid)
            for name in filenames:
                os.chown(os.path.join(dirpath, name), self.uid, self.gid)

    def doveadm(self, *args, location=None, stdin=None):
        cmd = [DOVEADM, "-c", str(self.conf)]
        if location:
            cmd += ["-o", f"mail_location={location}"]
        result = subprocess.run(cmd + list(args), input=stdin, capture_output=True, timeout=60)
        assert result.returncode == 0, result.stderr.decode(errors="replace")
        return result.stdout

    def imap(self, commands, location=None):
        """Runs one pre-authenticated IMAP session over a pipe; returns the server's output."""
        cmd = [IMAP, "-c", str(self.conf), "-u", USER]
        if location:
            cmd += ["-o", f"mail_location={location}"]
        result = subprocess.run(cmd, input=commands, capture_output=True, timeout=60)
        assert result.returncode == 0, result.stderr.decode(errors="replace")
        out = result.stdout.decode(errors="replace")
        assert " NO " not in out and " BAD " not in out, out
        return out

    def fetch(self, location=None):
        """{mailbox: [(uid, flags, date.received, text)]} as Dovecot sees it."""
        raw = self.doveadm("-f", "json", "fetch", "-u", USER,
                           "mailbox uid flags date.received text", "all", location=location)
        out = {}
        for row in json.loads(raw):
            flags = frozenset(f for f in row["flags"].split() if f != "\\Recent")
            out.setdefault(row["mailbox"], []).append(
                (int(row["uid"]), flags, row["date.received"], row["text"]))
        for rows in out.values():
            rows.sort()
        return out

    def subscribed(self, location=None):
        raw = self.doveadm("mailbox", "list", "-s", "-u", USER, location=location)
        return set(raw.decode().split())

    def close(self):
        subprocess.run([DOVECOT, "-c", str(self.conf), "stop"], capture_output=True, timeout=30)

        def gone():
            try:
                os.kill(self.pid, 0)
            except ProcessLookupError:
                return True
            return False

        try:
            wait_for(gone, timeout=20, what="dovecot to stop")
        except AssertionError:
            os.kill(self.pid, signal.SIGKILL)
            raise
        finally:
            shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture
def dovecot():
    instance = Dovecot()
    try:
        yield instance
    finally:
        instance.close()


def literal(text: str) -> bytes:
    data = text.replace("\n", "\r\n").encode()
    return b"{%d+}\r\n" % len(data) + data


def append(mailbox_mutf7, flags, date, text) -> bytes:
    return (b'a APPEND "%s" (%s) "%s" ' % (mailbox_mutf7.encode(), flags.encode(), date.encode())
            + literal(text) + b"\r\n")


# (mailbox as Dovecot names it, IMAP flags, internal date, message)
MESSAGES = [
    ("INBOX", "\\Seen \\Flagged $Label1", "14-Jul-2021 02:44:25 +0200",
     "From: a@example.org\nSubject: one\n\nFrom the start of a line\n>From quoted\nend\n"),
    ("INBOX", "\\Answered custom Work", "01-Feb-2020 10:00:00 +0000",
     "From: b@example.org\nSubject: two\n\nbody two\n"),
    ("INBOX", "", "31-Dec-2019 23:59:59 -0500",
     "From: c@example.org\nSubject: three (unseen)\n\nbody three\n\n\n"),
    ("Sent", "\\Seen", "02-Mar-2022 08:15:00 +0100",
     "From: postmaster@example.test\nTo: x@example.org\nSubject: sent\n\nhello\n"),
    ("Sub/F&APYA9g-l", "\\Seen \\Deleted \\Draft $Label1", "05-May-2023 05:05:05 +0000",
     "From: d@example.org\nSubject: =?UTF-8?Q?F=C3=B6=C3=B6l?=\n\nunicode folder\n"),
    ("Sub/F&APYA9g-l", "custom", "06-May-2023 06:06:06 +0000",
     "From: e@example.org\nSubject: second in folder\n\nx\n"),
    ("Spam", "\\Seen", "07-Jul-2023 07:07:07 +0000",
     "From: spammer@example.net\nSubject: buy\n\nspam\n"),
]
# Their names in our store (and so in the export): Spam is our special-use Junk.
OUR_NAME = {"INBOX": "INBOX", "Sent": "Sent", "Sub/Fööl": "Sub/Fööl", "Spam": "Junk"}


def fill(dovecot, location=None):
    script = b"".join(
        b'c CREATE "%s"\r\n' % m.encode() for m in ["Sent", "Sub/F&APYA9g-l", "Spam"])
    script += b"".join(append(*m) for m in MESSAGES)
    script += b'd SUBSCRIBE "Sub/F&APYA9g-l"\r\nz LOGOUT\r\n'
    dovecot.imap(script, location=location)
    # A message Dovecot delivered but no client has seen: new/, no info suffix.
    dovecot.doveadm("save", "-u", USER, location=location,
                    stdin=b"From: f@example.org\nSubject: fresh\n\nin new/\n")


def maildir_files(root: Path):
    """{folder dir: sorted [(bytes, mtime, info)]} of a Maildir++ tree, read directly."""
    out = {}
    for folder in [root] + sorted(p for p in root.iterdir() if p.name.startswith(".")
                                  and p.is_dir()):
        files = []
        for sub in ("new", "cur"):
            for f in (folder / sub).iterdir():
                info = f.name.split(":2,", 1)[1] if ":2," in f.name else ""
                flags = "".join(c for c in info if c.isupper())
                files.append((f.read_bytes(), int(f.stat().st_mtime), flags))
        out["INBOX" if folder == root else folder.name] = sorted(files)
    return out


def test_maildir_round_trip_through_dovecot(dovecot, data_dir, tmp_path):
    fill(dovecot)
    source = dovecot.fetch()
    assert set(source) == set(OUR_NAME)
    assert sum(len(v) for v in source.values()) == len(MESSAGES) + 1
    # Dovecot wrote what we mean to read: Maildir++, keywords file, uidlist, subscriptions.
    assert (dovecot.maildir / ".Sub.F&APYA9g-l" / "cur").is_dir()
    assert "$Label1" in (dovecot.maildir / "dovecot-keywords").read_text()
    assert any((dovecot.maildir / "new").iterdir())

    result = run_cli(data_dir, "import", ADMIN, "--from", "maildir", str(dovecot.maildir))
    assert f"imported {len(MESSAGES) + 1} messages" in result.stdout, result.stdout
    assert "0 failed" in result.stdout

    # In our store: CRLF line ends, flags as bits, keywords sorted, Spam in Junk.
    db = sqlite3.connect(data_dir / "mail" / ADMIN / "index.db")
    rows = db.execute(
        "SELECT b.name, m.uid, m.flags, m.keywords, m.internal_date, m.file FROM messages m "
        "JOIN mailboxes b ON m.mailbox_id = b.id ORDER BY b.name, m.uid").fetchall()
    db.close()
    by_box = {}
    for name, uid, flags, keywords, date, file in rows:
        by_box.setdefault(name, []).append((uid, flags, keywords, date, file))
    assert sorted(by_box) == ["INBOX", "Junk", "Sent", "Sub/Fööl"]
    first = by_box["INBOX"][0]
    assert first[1] == 1 | 4 and first[2] == "$Label1"  # \Seen \Flagged
    assert first[3] == 1626223465  # 14-Jul-2021 02:44:25 +0200
    stored = (data_dir / "mail" / ADMIN / first[4]).read_bytes()
    assert b"\r\n" in stored and b"\n" not in stored.replace(b"\r\n", b"")

    export = dovecot.root / "export"
    result = run_cli(data_dir, "export", ADMIN, "--format", "maildir", str(export))
    assert f"exported {len(MESSAGES) + 1} messages" in result.stdout, result.stdout
    dovecot.give(export)

    # Same bytes, same mtimes (internal dates), same flag letters, folder for folder.
    src_files = maildir_files(dovecot.maildir)
    out_files = maildir_files(export)
    assert set(out_files) == {"INBOX", ".Sent", ".Sub.F&APYA9g-l", ".Junk", ".Trash",
                              ".Drafts", ".Archive"}
    for folder, files in src_files.items():
        target = ".Junk" if folder == ".Spam" else folder
        assert [(b, t) for b, t, _ in out_files[target]] == [(b, t) for b, t, _ in files], folder
        assert sorted(f for _, _, f in out_files[target]) == sorted(f for _, _, f in files)

    # Dovecot reads the export back with the same UIDs, flags, keywords, dates and text.
    exported = dovecot.fetch(location=f"maildir:{export}")
    expected = {OUR_NAME[box]: rows for box, rows in source.items()}
    for box in expected:
        assert exported[box] == expected[box], box
    assert "Sub/Fööl" in dovecot.subscribed(location=f"maildir:{export}")

    # Bad input is a clear error, not a crash.
    bad = run_cli(data_dir, "import", ADMIN, "--from", "maildir", str(tmp_path / "nope"),
                  check=False)
    assert bad.returncode == 1 and "no such file" in bad.stderr
    again = run_cli(data_dir, "export", ADMIN, "--format", "maildir", str(export), check=False)
    assert again.returncode == 1 and "not empty" in again.stderr
    usage = run_cli(data_dir, "import", ADMIN, str(dovecot.maildir), check=False)
    assert usage.returncode == 2


def test_dovecot_layout_fs_is_read(dovecot, data_dir):
    tree = dovecot.mkdir("fs")
    location = f"maildir:{tree}:LAYOUT=fs"
    fill(dovecot, location=location)
    assert (tree / "Sub" / "F&APYA9g-l" / "cur").is_dir()
    source = dovecot.fetch(location=location)
    run_cli(data_dir, "import", ADMIN, "--from", "maildir", str(tree))
    export = dovecot.root / "export-fs"
    run_cli(data_dir, "export", ADMIN, "--format", "maildir", str(export))
    dovecot.give(export)
    exported = dovecot.fetch(location=f"maildir:{export}")
    for box, rows in source.items():
        assert exported[OUR_NAME[box]] == rows, box


def test_mbox_round_trip_through_dovecot(dovecot, data_dir):
    tree = dovecot.mkdir("mbox")
    location = f"mbox:{tree}:INBOX={tree}/inbox"
    fill(dovecot, location=location)
    source = dovecot.fetch(location=location)
    assert (tree / "Sub" / "F&APYA9g-l").is_file()

    result = run_cli(data_dir, "import", ADMIN, "--from", "mbox", str(tree))
    assert f"imported {len(MESSAGES) + 1} messages" in result.stdout, result.stdout

    export = dovecot.root / "mbox-export"
    run_cli(data_dir, "export", ADMIN, "--format", "mbox", str(export))
    assert (export / "Sub" / "F&APYA9g-l").is_file()
    text = (export / "INBOX").read_text()
    assert "\n>From the start of a line\n>>From quoted\n" in text  # mboxrd quoting
    assert "X-Keywords: $Label1\n" in text

    # Our own reader takes the export back to the same store contents.
    second = data_dir.parent / "second"
    from conftest import make_data_dir
    second = make_data_dir(second)
    run_cli(second, "import", ADMIN, "--from", "mbox", str(export))
    export2 = dovecot.root / "mbox-export2"
    run_cli(second, "export", ADMIN, "--format", "mbox", str(export2))
    def same_but_uidvalidity(data: bytes) -> bytes:  # each account has its own UIDVALIDITY
        return re.sub(rb"(?m)^X-IMAPbase: \d+ ", b"X-IMAPbase: * ", data)

    for path in sorted(p for p in export.rglob("*") if p.is_file()):
        assert same_but_uidvalidity((export2 / path.relative_to(export)).read_bytes()) == \
            same_but_uidvalidity(path.read_bytes()), path

    # Dovecot reads our mboxrd files with the same flags, keywords and dates. (Dovecot does not
    # unquote mboxrd, so a body line starting with "From " comes back as ">From ".)
    dovecot.give(export)
    exported = dovecot.fetch(location=f"mbox:{export}:INBOX={export}/INBOX")
    for box, rows in source.items():
        got = exported[OUR_NAME[box]]
        assert [(u, f, d) for u, f, d, _ in got] == [(u, f, d) for u, f, d, _ in rows], box
        for (_, _, _, ours), (_, _, _, theirs) in zip(got, rows):
            assert re.sub(r"(?m)^>(>*From )", r"\1", ours) == theirs


def test_mbox_single_file_and_bad_input(data_dir, tmp_path):
    mbox = tmp_path / "sent.mbox"
    mbox.write_bytes(
        b"From x@example.org Wed Jul 14 00:44:25 2021\n"
        b"Subject: a\nStatus: RO\nX-Status: A\n\n>From quoted\nbody\n\n"
        b"From x@example.org Thu Jul 15 00:44:25 2021\n"
        b"Subject: b\n\nbody\n\n")
    result = run_cli(data_dir, "import", ADMIN, "--from", "mbox", "--mailbox", "Sent Items",
                     str(mbox))
    assert "imported 2 messages" in result.stdout and "Sent: 2 messages" in result.stdout
    db = sqlite3.connect(data_dir / "mail" / ADMIN / "index.db")
    rows = db.execute(
        "SELECT m.flags, m.internal_date, m.file FROM messages m JOIN mailboxes b "
        "ON m.mailbox_id = b.id WHERE b.name = 'Sent' ORDER BY m.uid").fetchall()
    db.close()
    assert [(f, d) for f, d, _ in rows] == [(1 | 2, 1626223465), (0, 1626309865)]
    assert (data_dir / "mail" / ADMIN / rows[0][2]).read_bytes() == \
        b"Subject: a\r\n\r\nFrom quoted\r\nbody\r\n"

    big = tmp_path / "big.mbox"
    big.write_bytes(b"From x Wed Jul 14 00:44:25 2021\nSubject: big\n\n" + b"x" * 5000 + b"\n")
    result = run_cli(data_dir, "import", ADMIN, "--from", "mbox", "--max-message-bytes", "1000",
                     str(big), check=False)
    assert result.returncode == 1 and "too big" in result.stderr
    not_mbox = tmp_path / "notes.txt"
    not_mbox.write_text("hello\n")
    result = run_cli(data_dir, "import", ADMIN, "--from", "mbox", str(not_mbox), check=False)
    assert "not an mbox" in result.stderr
    unknown = run_cli(data_dir, "import", "nobody@example.test", "--from", "mbox", str(mbox),
                      check=False)
    assert unknown.returncode == 1
