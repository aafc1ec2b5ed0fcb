"""Durability: concurrent deliveries while the server is killed with SIGKILL at random moments.

After the last restart (recovery runs at start-up):
- every message acknowledged with 250 is in each recipient's mailbox exactly once, byte-intact;
- a message that was not acknowledged may be there or not, but never truncated;
- every file under <data>/mail/<account>/msg/ has an index row and every row has its file;
- mailbox and account counters match the rows; <data>/tmp is empty.

The seed is printed (and can be forced with SOV_CRASH_SEED) so a failure can be replayed as far
as timing allows.
"""
import os
import random
import re
import smtplib
import sqlite3
import threading
import time
from collections import Counter

from conftest import ADMIN, DOMAIN, run_cli, strip_trace_headers, wait_for

BOB = f"bob@{DOMAIN}"
THREADS = 8
ROUNDS = int(os.environ.get("SOV_CRASH_ROUNDS", "6"))
MSGID = re.compile(rb"^Message-ID: <([^>]+)>\r$", re.M)


def recipients_for(n):
    return [[ADMIN], [BOB], [ADMIN, BOB]][n % 3]


def message_bytes(msg_id: str, size: int) -> bytes:
    """A deterministic message: from its id and size alone the test knows every byte."""
    head = (
        f"From: <load@sender.test>\r\nTo: <{ADMIN}>\r\nSubject: crash load {msg_id}\r\n"
        f"Message-ID: <{msg_id}>\r\n\r\n"
    ).encode()
    line = (msg_id + " ").encode() * 8
    body = b""
    i = 0
    while len(body) < size:
        body += b"%06d " % i + line[:70] + b"\r\n"
        i += 1
    return head + body


class Load:
    """THREADS clients sending numbered messages; each records what got a 250."""

    def __init__(self, seed):
        self.seed = seed
        self.port = None
        self.up = threading.Event()
        self.done = threading.Event()
        self.lock = threading.Lock()
        self.sent = {}  # msg_id -> (recipients, bytes)
        self.acked = set()
        self.errors = Counter()

    def client(self, t):
        rng = random.Random(f"{self.seed}-{t}")
        n = 0
        while not self.done.is_set():
            if not self.up.wait(timeout=0.5):
                continue
            msg_id = f"t{t}-m{n}@crash.test"
            rcpts = recipients_for(n)
            # Mostly small, sometimes large enough to be cut mid-DATA.
            size = rng.choice([200, 2000, 20000, 300_000])
            data = message_bytes(msg_id, size)
            n += 1
            with self.lock:
                self.sent[msg_id] = (rcpts, data)
            try:
                client = smtplib.SMTP("127.0.0.1", self.port, timeout=20)
            except OSError as e:
                self.errors[type(e).__name__] += 1
                continue
            try:
                client.ehlo("load.test")
                refused = client.sendmail("load@sender.test", rcpts, data)
                if not refused:
                    with self.lock:
                        self.acked.add(msg_id)
            except (smtplib.SMTPException, OSError) as e:
                self.errors[type(e).__name__] += 1
            finally:
                try:
                    client.quit()
                except (smtplib.SMTPException, OSError):
                    pass
                client.close()


def index_rows(server, account):
    db = server.data_dir / "mail" / account / "index.db"
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        rows = con.execute("SELECT mailbox_id, size, file FROM messages").fetchall()
        boxes = con.execute("SELECT id, message_count, total_size FROM mailboxes").fetchall()
        used = con.execute("SELECT used_messages, used_bytes FROM account").fetchone()
    finally:
        con.close()
    return rows, boxes, used


def check_store_consistency(server, account):
    """Files vs index rows vs counters of one account; returns a list of problems."""
    problems = []
    root = server.data_dir / "mail" / account
    rows, boxes, used = index_rows(server, account)
    indexed = {file for _, _, file in rows}
    on_disk = {
        str(p.relative_to(root)) for p in (root / "msg").rglob("*") if p.is_file()
    }
    for file in sorted(on_disk - indexed):
        problems.append(f"{account}: file without index row: {file}")
    for file in sorted(indexed - on_disk):
        problems.append(f"{account}: index row without file: {file}")
    for _, size, file in rows:
        path = root / file
        if path.exists() and path.stat().st_size != size:
            problems.append(f"{account}: {file} is {path.stat().st_size} bytes, index says {size}")
    for box_id, count, total in boxes:
        mine = [size for mailbox_id, size, _ in rows if mailbox_id == box_id]
        if (count, total) != (len(mine), sum(mine)):
            problems.append(
                f"{account}: mailbox {box_id} counters {(count, total)} != {(len(mine), sum(mine))}"
            )
    if tuple(used) != (len(rows), sum(size for _, size, _ in rows)):
        problems.append(f"{account}: account usage {tuple(used)} != rows")
    return problems


def test_sigkill_during_concurrent_delivery_loses_nothing_acknowledged(server_factory):
    seed = int(os.environ.get("SOV_CRASH_SEED") or random.randrange(1 << 32))
    print(f"crash test seed: {seed} (SOV_CRASH_SEED={seed} to replay)")
    rng = random.Random(seed)

    server = server_factory()
    run_cli(server.data_dir, "user", "add", BOB, stdin="pw-bob-123\n")
    load = Load(seed)
    threads = [threading.Thread(target=load.client, args=(t,), daemon=True) for t in range(THREADS)]
    load.port = server.ports["mx"]
    load.up.set()
    for t in threads:
        t.start()

    recoveries = []
    try:
        for round_ in range(ROUNDS):
            # The random moment of the crash: a fixed sleep is the point here, not a wait.
            time.sleep(rng.uniform(0.1, 1.5))
            load.up.clear()
            server.restart()  # SIGKILL, then a new process on the same data directory
            recoveries.append(
                re.findall(r"event=store.recovered .*", server.log_text())[-1]
            )
            load.port = server.ports["mx"]
            load.up.set()
        time.sleep(rng.uniform(0.1, 1.5))
    finally:
        load.done.set()
        load.up.set()
        for t in threads:
            t.join(timeout=30)
    assert not any(t.is_alive() for t in threads)
    # One more crash with the clients gone, so the final state is what recovery made of it.
    load.up.clear()
    server.restart()
    recoveries.append(re.findall(r"event=store.recovered .*", server.log_text())[-1])
    print("\n".join(recoveries))
    print(f"sent={len(load.sent)} acked={len(load.acked)} client errors={dict(load.errors)}")

    # ---- what is in the store
    found = {}  # (account, msg_id) -> [stored bytes]
    for account in (ADMIN, BOB):
        for _, _, _, stored in server.messages(account):
            match = MSGID.search(stored)
            assert match, f"stored message without our Message-ID: {stored[:300]!r}"
            found.setdefault((account, match.group(1).decode()), []).append(stored)

    problems = []
    duplicates = []
    unacked_present = 0
    for msg_id, (rcpts, data) in load.sent.items():
        for account in rcpts:
            copies = found.pop((account, msg_id), [])
            for stored in copies:
                if strip_trace_headers(stored) != data:
                    problems.append(f"{account}: {msg_id} is damaged ({len(stored)} bytes)")
            if msg_id in load.acked:
                if not copies:
                    problems.append(f"{account}: acknowledged {msg_id} is missing")
                elif len(copies) > 1:
                    duplicates.append(f"{account}: {msg_id} x{len(copies)}")
            elif copies:
                unacked_present += 1
                if len(copies) > 1:
                    duplicates.append(f"{account}: unacknowledged {msg_id} x{len(copies)}")
    for (account, msg_id), copies in found.items():
        problems.append(f"{account}: {msg_id} stored but never sent to this account")
    for account in (ADMIN, BOB):
        problems += check_store_consistency(server, account)
    spool = sorted(p.name for p in (server.data_dir / "tmp").iterdir())
    if spool:
        problems.append(f"<data>/tmp not empty after recovery: {spool}")

    print(f"unacknowledged but present (allowed): {unacked_present}")
    assert not problems, "\n".join(problems[:50])
    assert not duplicates, "duplicates:\n" + "\n".join(duplicates[:50])
    # The test did something: plenty of deliveries got through between the crashes, and the
    # server is still fine for a new one.
    assert len(load.acked) >= 20, (len(load.acked), dict(load.errors))
    with smtplib.SMTP("127.0.0.1", server.ports["mx"], timeout=10) as client:
        assert client.sendmail("x@sender.test", [ADMIN], message_bytes("final@crash.test", 100)) == {}
    wait_for(lambda: any(b"<final@crash.test>" in m[3] for m in server.messages()), what="final")
