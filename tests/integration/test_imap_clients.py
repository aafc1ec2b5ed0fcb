"""Real IMAP clients against the IMAP listeners on loopback: mbsync (isync) and offlineimap3 keep a
local Maildir in two-way sync with the server.

Each test pulls mail, changes the Maildir the way a mail reader does (flags in the file name's
`:2,` suffix, deleted files, new files, new folders), pushes that back and checks the message
store itself (server.messages(), read as an administrator would), then pulls a server-side change.

Both clients store messages in the Maildir with LF line endings; mbsync also inserts an
`X-TUID:` field into the header of every message it copies (either way). The comparisons undo
exactly those two transformations and are otherwise byte for byte.
"""
import hashlib
import imaplib
import re
import shutil
import smtplib
import ssl
import subprocess
from pathlib import Path

import pytest

from conftest import ADMIN, PASSWORD, wait_for


# --- helpers -------------------------------------------------------------------------------------


def tls_context():
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def deliver(server, body: bytes, rcpt=ADMIN):
    with smtplib.SMTP("127.0.0.1", server.ports["mx"], timeout=10) as c:
        c.ehlo("client.test")
        c.sendmail("alice@sender.test", [rcpt], body)


def message(subject: str, body: str = "hello\r\n") -> bytes:
    return (
        f"From: Alice <alice@sender.test>\r\nTo: {ADMIN}\r\nSubject: {subject}\r\n"
        f"Message-ID: <{subject.replace(' ', '.')}@sender.test>\r\n\r\n{body}"
    ).encode()


def deliver_all(server, subjects, mailbox="INBOX"):
    before = len(server.messages(mailbox=mailbox))
    for subject in subjects:
        deliver(server, message(subject, f"body of {subject}\r\nsecond line\r\n"))
    wait_for(
        lambda: len(server.messages(mailbox=mailbox)) == before + len(subjects),
        what=f"{len(subjects)} deliveries",
    )


def imap_login(server):
    client = imaplib.IMAP4_SSL("127.0.0.1", server.ports["imaps"], ssl_context=tls_context())
    client.login(ADMIN, PASSWORD)
    return client


def message_id(data: bytes) -> str:
    m = re.search(rb"(?mi)^Message-ID:\s*<([^>]+)>", data)
    assert m, f"no Message-ID in {data[:200]!r}"
    return m.group(1).decode()


def maildir_flags(path: Path) -> str:
    """The flag letters of a Maildir file name (`...:2,FS`)."""
    return path.name.rsplit(":2,", 1)[1] if ":2," in path.name else ""


def maildir(folder: Path):
    """{Message-ID: Path} of the messages in a Maildir folder (new/ and cur/)."""
    out = {}
    for sub in ("new", "cur"):
        for path in sorted((folder / sub).iterdir()) if (folder / sub).is_dir() else []:
            out[message_id(path.read_bytes())] = path
    return out


def server_by_id(server, mailbox="INBOX"):
    """{Message-ID: (uid, flags, bytes)} of a mailbox in the store."""
    return {message_id(data): (uid, flags, data) for uid, flags, _, data in server.messages(mailbox=mailbox)}


def set_maildir_flags(path: Path, flags: str) -> Path:
    """Sets a message's flags as a mail reader does: moves it to cur/ with a new `:2,` suffix."""
    base = path.name.rsplit(":2,", 1)[0]
    target = path.parent.parent / "cur" / f"{base}:2,{''.join(sorted(flags))}"
    path.rename(target)
    return target


def write_maildir_message(folder: Path, name: str, data: bytes, flags=None) -> Path:
    for sub in ("cur", "new", "tmp"):
        (folder / sub).mkdir(parents=True, exist_ok=True)
    # Written in tmp/ and renamed, as the Maildir protocol requires.
    tmp = folder / "tmp" / name
    tmp.write_bytes(data)
    target = folder / ("new" if flags is None else "cur") / (name if flags is None else f"{name}:2,{flags}")
    tmp.rename(target)
    return target


def lf(data: bytes) -> bytes:
    return data.replace(b"\r\n", b"\n")


def crlf(data: bytes) -> bytes:
    return lf(data).replace(b"\n", b"\r\n")


def without_tuid(data: bytes) -> bytes:
    """Removes the one `X-TUID:` header field mbsync inserts into the messages it copies."""
    blank = re.search(rb"\n\r?\n", data)
    end = blank.start() + 1 if blank else len(data)  # the header, with its last line's newline
    head = re.sub(rb"(?m)^X-TUID: [^\r\n]*\r?\n", b"", data[:end], count=1)
    return head + data[end:]


# --- mbsync --------------------------------------------------------------------------------------

# Bit values of server.messages() flags.
SEEN, ANSWERED, FLAGGED, DELETED, DRAFT = 1, 2, 4, 8, 16


def write_mbsyncrc(server, root: Path, listener: str, ssl_type: str, auth_mechs: str) -> Path:
    rc = root / "mbsyncrc"
    mail = root / "Mail"
    mail.mkdir(parents=True, exist_ok=True)
    # The self-signed certificate names mail.example.test, not 127.0.0.1: isync trusts a
    # certificate listed in CertificateFile as it is ("host" certificate), without the name check.
    cert = server.data_dir / "keys" / "cert.pem"
    rc.write_text(
        f"""IMAPAccount sovereign
Host 127.0.0.1
Port {server.ports[listener]}
User {ADMIN}
Pass "{PASSWORD}"
SSLType {ssl_type}
CertificateFile {cert}
SystemCertificates no
AuthMechs {auth_mechs}
Timeout 30

IMAPStore sovereign-remote
Account sovereign

MaildirStore local
Path {mail}/
Inbox {mail}/INBOX
SubFolders Verbatim

Channel sovereign
Far :sovereign-remote:
Near :local:
Patterns *
Sync All
Create Both
Expunge Both
SyncState *
"""
    )
    return rc


def mbsync(rc: Path, debug=False):
    args = ["mbsync", "-c", str(rc)] + (["-D"] if debug else ["-q"]) + ["-a"]
    result = subprocess.run(args, capture_output=True, timeout=120)
    output = (result.stdout + result.stderr).decode(errors="replace")
    assert result.returncode == 0, f"mbsync failed ({result.returncode}):\n{output[-6000:]}"
    return output


@pytest.mark.skipif(shutil.which("mbsync") is None, reason="isync not installed (tools/install-deps.sh)")
@pytest.mark.parametrize(
    "listener,ssl_type,auth_mechs,auth_sent",
    [
        ("imaps", "IMAPS", "*", r">>> \d+ AUTHENTICATE SCRAM-SHA-256"),
        ("imap", "STARTTLS", "LOGIN", r">>> \d+ LOGIN "),
    ],
    ids=["imaps-sasl", "starttls-login"],
)
def test_mbsync_two_way_sync(server, tmp_path, listener, ssl_type, auth_mechs, auth_sent):
    deliver_all(server, ["first", "second", "third"])
    rc = write_mbsyncrc(server, tmp_path / "mbsync", listener, ssl_type, auth_mechs)
    mail = tmp_path / "mbsync" / "Mail"

    # 1. Pull: every server folder appears locally; INBOX holds the delivered messages unchanged.
    log = mbsync(rc, debug=True)
    assert re.search(auth_sent, log), "mbsync did not authenticate the way this case tests"
    for folder in ("INBOX", "Sent", "Drafts", "Trash", "Junk", "Archive"):
        assert (mail / folder / "cur").is_dir(), f"{folder} was not created locally"
    local = maildir(mail / "INBOX")
    stored = server_by_id(server)
    assert sorted(local) == sorted(stored) == ["first@sender.test", "second@sender.test", "third@sender.test"]
    for mid, path in local.items():
        assert without_tuid(path.read_bytes()) == lf(stored[mid][2]), mid
        assert maildir_flags(path) == ""

    # 2. Local changes, as a mail reader makes them.
    set_maildir_flags(local["first@sender.test"], "S")
    local["second@sender.test"].unlink()  # deleted and expunged locally
    new_inbox = (
        b"From: Postmaster <postmaster@example.test>\nTo: bob@example.test\n"
        b"Subject: written offline\nMessage-ID: <offline.1@example.test>\n\nsaved while offline\n"
    )
    write_maildir_message(mail / "INBOX", "1700000000.local1.laptop", new_inbox, flags="F")
    nested = (
        b"From: Postmaster <postmaster@example.test>\nSubject: plans\n"
        b"Message-ID: <plans.1@example.test>\n\nnew folder, nested\n"
    )
    write_maildir_message(mail / "Projects" / "2026", "1700000001.local2.laptop", nested)
    mbsync(rc)

    stored = server_by_id(server)
    assert sorted(stored) == ["first@sender.test", "offline.1@example.test", "third@sender.test"]
    assert stored["first@sender.test"][1] == SEEN
    assert stored["third@sender.test"][1] == 0
    assert stored["offline.1@example.test"][1] == FLAGGED
    assert without_tuid(stored["offline.1@example.test"][2]) == crlf(new_inbox)
    projects = server_by_id(server, "Projects/2026")
    assert list(projects) == ["plans.1@example.test"]
    assert without_tuid(projects["plans.1@example.test"][2]) == crlf(nested)
    # What another IMAP client sees agrees with the store.
    client = imap_login(server)
    typ, data = client.select("INBOX")
    assert data == [b"3"]
    typ, data = client.list('""', "Projects/*")
    assert any(b"Projects/2026" in line for line in data), data
    client.uid("STORE", str(stored["third@sender.test"][0]), "+FLAGS", "(\\Flagged)")
    client.uid("STORE", str(stored["first@sender.test"][0]), "+FLAGS", "(\\Deleted)")
    client.expunge()
    client.logout()

    # 3. Server-side changes are pulled: a flag, an expunge, a new delivery.
    deliver_all(server, ["fourth"])
    mbsync(rc)
    local = maildir(mail / "INBOX")
    stored = server_by_id(server)
    expected = ["fourth@sender.test", "offline.1@example.test", "third@sender.test"]
    assert sorted(local) == sorted(stored) == expected
    assert maildir_flags(local["third@sender.test"]) == "F"
    assert maildir_flags(local["offline.1@example.test"]) == "F"
    assert without_tuid(local["fourth@sender.test"].read_bytes()) == lf(stored["fourth@sender.test"][2])

    # 4. Nothing changed anywhere: another run changes nothing.
    files = sorted(p.name for p in (mail / "INBOX").glob("*/*"))
    mbsync(rc)
    assert sorted(p.name for p in (mail / "INBOX").glob("*/*")) == files
    assert server_by_id(server) == stored


# --- offlineimap3 --------------------------------------------------------------------------------


def write_offlineimaprc(server, root: Path) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    rc = root / "offlineimaprc"
    der = ssl.PEM_cert_to_DER_cert((server.data_dir / "keys" / "cert.pem").read_text())
    rc.write_text(
        f"""[general]
accounts = sovereign
metadata = {root / "metadata"}

[Account sovereign]
localrepository = local
remoterepository = remote

[Repository local]
type = Maildir
localfolders = {root / "Mail"}

[Repository remote]
type = IMAP
remotehost = 127.0.0.1
remoteport = {server.ports["imaps"]}
ssl = yes
# Pinned self-signed certificate: its name is mail.example.test, we connect to 127.0.0.1.
cert_fingerprint = {hashlib.sha256(der).hexdigest()}
remoteuser = {ADMIN}
remotepass = {PASSWORD}
"""
    )
    return rc


def offlineimap(rc: Path):
    # -o: one sync and exit; -u quiet: errors only. offlineimap exits 0 after some folder
    # errors, so its stderr must stay empty too.
    result = subprocess.run(
        ["offlineimap", "-c", str(rc), "-o", "-u", "quiet"], capture_output=True, timeout=120
    )
    output = (result.stdout + result.stderr).decode(errors="replace")
    assert result.returncode == 0 and not result.stderr.strip(), f"offlineimap failed:\n{output[-6000:]}"
    return output


@pytest.mark.skipif(shutil.which("offlineimap") is None, reason="offlineimap3 not installed (tools/install-deps.sh)")
def test_offlineimap_two_way_sync(server, tmp_path):
    deliver_all(server, ["alpha", "beta"])
    archived = message("archived", "kept for later\r\n")
    client = imap_login(server)
    typ, data = client.append("Archive", "(\\Seen $Work)", None, archived)
    assert typ == "OK"
    client.logout()
    root = tmp_path / "offlineimap"
    rc = write_offlineimaprc(server, root)
    mail = root / "Mail"

    # 1. Pull every folder.
    offlineimap(rc)
    local = maildir(mail / "INBOX")
    stored = server_by_id(server)
    assert sorted(local) == sorted(stored) == ["alpha@sender.test", "beta@sender.test"]
    for mid, path in local.items():
        assert path.read_bytes() == lf(stored[mid][2]), mid
        assert maildir_flags(path) == ""
    local_archive = maildir(mail / "Archive")
    assert list(local_archive) == ["archived@sender.test"]
    assert local_archive["archived@sender.test"].read_bytes() == lf(archived)
    assert maildir_flags(local_archive["archived@sender.test"]) == "S"
    for folder in ("Sent", "Drafts", "Trash", "Junk"):
        assert (mail / folder / "cur").is_dir(), f"{folder} was not created locally"

    # 2. Local changes pushed back: answered, deleted, a new draft, a new folder.
    set_maildir_flags(local["alpha@sender.test"], "RS")
    local["beta@sender.test"].unlink()
    draft = (
        b"From: Postmaster <postmaster@example.test>\nSubject: reply\n"
        b"Message-ID: <draft.1@example.test>\n\nhalf written\n"
    )
    write_maildir_message(mail / "Drafts", "1700000002.local3.laptop", draft, flags="D")
    note = b"Subject: note\nMessage-ID: <note.1@example.test>\n\nin a folder the server does not have\n"
    write_maildir_message(mail / "Notes", "1700000003.local4.laptop", note)
    offlineimap(rc)

    stored = server_by_id(server)
    assert list(stored) == ["alpha@sender.test"]
    assert stored["alpha@sender.test"][1] == SEEN | ANSWERED
    drafts = server_by_id(server, "Drafts")
    assert list(drafts) == ["draft.1@example.test"]
    assert drafts["draft.1@example.test"][1] == DRAFT
    assert drafts["draft.1@example.test"][2] == crlf(draft)
    notes = server_by_id(server, "Notes")
    assert list(notes) == ["note.1@example.test"]
    assert notes["note.1@example.test"][2] == crlf(note)

    # 3. A flag set and a message delivered on the server reach the Maildir.
    client = imap_login(server)
    client.select("INBOX")
    client.uid("STORE", str(stored["alpha@sender.test"][0]), "+FLAGS", "(\\Flagged)")
    client.logout()
    deliver_all(server, ["gamma"])
    offlineimap(rc)
    local = maildir(mail / "INBOX")
    assert sorted(local) == ["alpha@sender.test", "gamma@sender.test"]
    assert maildir_flags(local["alpha@sender.test"]) == "FRS"
    assert local["gamma@sender.test"].read_bytes() == lf(server_by_id(server)["gamma@sender.test"][2])
