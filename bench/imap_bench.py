#!/usr/bin/env python3
"""IMAP benchmark: one mailbox loaded into Sovereign and Dovecot 2.3, the same client operations
timed against both in the same run (bench/README.md, "IMAP").

    sudo bench/run.sh imap [--messages 10000] [--repeat 3] [--idle 5000] [--out r.json]

Flow: generate the corpus (bench/imap_corpus.py) -> start both servers (implicit TLS on
loopback, the same certificate) -> load it (Sovereign: `sovereign import`, checked for a full
text index; Dovecot: the Maildir copied into its home, indexed by a first SELECT) -> per
operation, both systems back to back (order alternating), each with --warmup untimed runs and
--repeat timed runs (median) -> server CPU per login -> mixed load -> idle-session memory, one
system at a time -> a Markdown table with the goals of the issue.

Shares run.py's helpers (cgroups, RSS/PSS sampling); the client is bench/imap_load (C++).
Needs root. Standard library only.
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import pwd
import re
import resource
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, str(Path(__file__).resolve().parent))
import imap_corpus  # noqa: E402
import run as bench  # noqa: E402  (run.py: cgroups, samplers, System base, helpers)

DOMAIN, USER, PASSWORD = bench.DOMAIN, bench.RECIPIENT, "bench password"
FD_LIMIT = 200_000  # 5,000 TLS sessions: Dovecot's log process alone holds one fd per process


# ---------------------------------------------------------------------------------------------
# Systems


class SovereignImap(bench.System):
    name, label = "sovereign", "Sovereign"

    def __init__(self, base: Path, args):
        super().__init__(base, args)
        self.data = base / "data"

    def prepare(self):
        """quickstart + user, listeners on port 0, connection limits for the idle phase."""
        password = self.base / "password"
        password.write_text(PASSWORD + "\n")
        bench.run([self.args.sovereign, "quickstart", "--domain", DOMAIN, "--hostname",
                   "mail." + DOMAIN, "--data", self.data, "--run-as", "", "--password-file",
                   password])
        bench.run([self.args.sovereign, "user", "add", USER, "--data", self.data],
                  input=PASSWORD + "\n")
        config = self.data / "sovereign.toml"
        text = re.sub(r"(?m)^port = \d+$", "port = 0", config.read_text())
        limit = max(2 * self.args.idle, 2000)
        text = re.sub(r"(?m)^\[connections\]\s*$",
                      f"[connections]\nmax_total = {limit}\nmax_per_ip = {limit}", text, count=1)
        # The corpus' largest messages and the 10,000 of them fit the default quota (1 GB).
        config.write_text(text)

    @property
    def certificate(self):
        return self.data / "keys" / "cert.pem", self.data / "keys" / "key.pem"

    def load(self, corpus: Path) -> dict:
        t0 = time.monotonic()
        out = run_cmd([self.args.sovereign, "import", USER, "--from", "maildir", corpus,
                       "--data", self.data], timeout=7200)
        seconds = time.monotonic() - t0
        db = self.data / "mail" / USER / "index.db"
        con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
        try:
            messages, unindexed = con.execute(
                "SELECT count(*), count(*) - count(text_id) FROM messages").fetchone()
        finally:
            con.close()
        last = out.stdout.strip().splitlines()[-1] if out.stdout.strip() else ""
        bench.log(f"sovereign import: {last} ({seconds:.1f} s); {unindexed} without a text row")
        return {"import_s": seconds, "messages": messages, "unindexed_text": unindexed,
                "import_output": last}

    def start(self):
        self.log_path = self.base / "server.log"
        self.cgroup = self.new_cgroup("server")
        with open(self.log_path, "wb") as out:
            self.process = subprocess.Popen(
                [self.args.sovereign, "serve", "--data", str(self.data)],
                stdout=out, stderr=subprocess.STDOUT, preexec_fn=self.cgroup.preexec)

        def ready():
            if self.process.poll() is not None:
                raise RuntimeError(f"sovereign exited early:\n{self.log_path.read_text()}")
            text = self.log_path.read_text(errors="replace")
            return text if "event=server.ready" in text else None

        text = bench.wait_for(ready, 120, "sovereign server.ready")
        ports = {m.group(1): int(m.group(2)) for m in
                 re.finditer(r"event=listener.ready listener=(\S+) .* port=(\d+)", text)}
        self.port = ports["imaps"]
        return self

    def stop(self):
        if getattr(self, "process", None) and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.release_cgroups()


class DovecotImap(bench.System):
    """A private Dovecot 2.3 (`dovecot -c`), IMAP over implicit TLS only, Maildir, defaults
    otherwise; limits raised so one user can hold --idle sessions from one address."""

    name, label = "dovecot", "Dovecot 2.3"

    CONF = """\
# Private Dovecot for the IMAP benchmark (bench/imap_bench.py).
instance_name = sovbench-imap-{tag}
base_dir = {base}/run
state_dir = {base}/state
protocols = imap
listen = 127.0.0.1
log_path = {base}/dovecot.log
info_log_path = {base}/dovecot.log
default_internal_user = dovecot
default_login_user = dovenull
first_valid_uid = {uid}
first_valid_gid = {gid}
mail_location = maildir:~/Maildir
mail_fsync = optimized
# TLS as Sovereign's imaps listener: required, with Sovereign's certificate and key.
ssl = required
ssl_cert = <{cert}
ssl_key = <{key}
auth_mechanisms = plain
passdb {{
  driver = passwd-file
  args = {base}/users
}}
userdb {{
  driver = passwd-file
  args = {base}/users
}}
# Defaults are 100 processes per service and 10 sessions per user and address; the idle phase
# holds {sessions} sessions of one user from 127.0.0.1. Process-per-connection stays (default).
default_process_limit = {processes}
default_client_limit = {clients}
protocol imap {{
  mail_max_userip_connections = {sessions}
}}
service imap-login {{
  inet_listener imap {{
    port = 0
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {port}
    ssl = yes
  }}
}}
# The imap service has its own default of 1024 processes.
service imap {{
  process_limit = {processes}
}}
service auth {{
  client_limit = {clients}
}}
service anvil {{
  client_limit = {clients}
}}
service stats {{
  client_limit = {clients}
}}
"""

    def __init__(self, base: Path, args):
        super().__init__(base, args)
        self.mail_user = pwd.getpwnam("mail")
        self.home = base / "home"
        self.maildir = self.home / "Maildir"

    def prepare(self, certificate):
        os.chmod(self.base, 0o755)
        self.port = bench.free_port()
        sessions = max(self.args.idle + 100, 1000)
        cert, key = certificate
        self.conf = self.base / "dovecot.conf"
        self.conf.write_text(self.CONF.format(
            base=self.base, tag=os.getpid(), uid=self.mail_user.pw_uid,
            gid=self.mail_user.pw_gid, cert=cert, key=key, port=self.port, sessions=sessions,
            processes=sessions + 100, clients=3 * sessions))
        if self.args.dovecot_tls_suites:
            # The same TLS 1.3 suites in the server's order as Sovereign (net/tls_context.cpp),
            # for a comparison on equal ciphers; without it Dovecot follows the client's order.
            with self.conf.open("a") as conf:
                conf.write(f"ssl_cipher_suites = {self.args.dovecot_tls_suites}\n"
                           "ssl_prefer_server_ciphers = yes\n")
        (self.base / "users").write_text(
            f"{USER}:{{PLAIN}}{PASSWORD}:{self.mail_user.pw_uid}:{self.mail_user.pw_gid}::"
            f"{self.home}::\n")

    def load(self, corpus: Path) -> dict:
        """The Maildir as Dovecot would have delivered it (names with S= and W=, a
        dovecot-uidlist); Dovecot builds its index on the first SELECT, timed in `index_s`."""
        t0 = time.monotonic()
        self.home.mkdir()
        shutil.copytree(corpus, self.maildir, copy_function=shutil.copy2,
                        ignore=shutil.ignore_patterns("corpus.json"))
        for path in [self.home, *self.maildir.rglob("*")]:
            os.chown(path, self.mail_user.pw_uid, self.mail_user.pw_gid)
        os.chown(self.maildir, self.mail_user.pw_uid, self.mail_user.pw_gid)
        return {"copy_s": time.monotonic() - t0}

    def start(self):
        self.cgroup = self.new_cgroup("dovecot")
        with open(self.base / "dovecot.out", "wb") as out:
            result = subprocess.run(["dovecot", "-c", str(self.conf)], stdout=out, stderr=out,
                                    stdin=subprocess.DEVNULL, timeout=60,
                                    preexec_fn=self.cgroup.preexec)
        if result.returncode != 0:
            raise RuntimeError(f"dovecot failed: {read(self.base / 'dovecot.out')}"
                               f"{read(self.base / 'dovecot.log')}")
        self.pid = bench.wait_for(self._master_pid, 30, "dovecot master.pid")
        bench.wait_for(lambda: accepts(self.port), 30, "dovecot imaps listener")
        warnings = [line for line in read(self.base / "dovecot.log").splitlines()
                    if "Warning" in line or "Error" in line]
        for line in warnings:
            bench.log("dovecot:", line)
        return self

    def _master_pid(self):
        try:
            pid = int((self.base / "run" / "master.pid").read_text())
        except (OSError, ValueError):
            return None
        return pid if bench.pid_alive(pid) else None

    def stop(self):
        pid = getattr(self, "pid", None)
        if pid and bench.pid_alive(pid):
            os.kill(pid, signal.SIGTERM)
            try:
                bench.wait_for(lambda: not bench.pid_alive(pid), 120, "dovecot exit", 0.1)
            except RuntimeError:
                os.kill(pid, signal.SIGKILL)
        self.pid = None
        self.release_cgroups()


def run_cmd(cmd, timeout):
    result = subprocess.run([str(c) for c in cmd], capture_output=True, text=True,
                            timeout=timeout)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(map(str, cmd))} failed:\n{result.stdout}{result.stderr}")
    return result


def read(path) -> str:
    try:
        return Path(path).read_text(errors="replace")
    except OSError:
        return ""


def accepts(port) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2):
            return True
    except OSError:
        return False


SYSTEMS = {cls.name: cls for cls in (SovereignImap, DovecotImap)}
BASELINE = "dovecot"


# ---------------------------------------------------------------------------------------------
# Running the client


def pin(systems, cpus: set[int]):
    """The servers' threads (and the client, see imap_load) on `cpus`: --pin-cpu."""
    for system in systems:
        for cg in system.cgroups:
            cg.set_affinity(cpus)


def imap_load(args, system, mode, *extra, timeout=3600, cpus=None) -> dict:
    cmd = [args.imap_load, mode, "--port", str(system.port), "--user", USER,
           "--password", PASSWORD]
    for cg in system.cgroups:
        cmd += ["--cpu-file", str(cg.dirs["cpuacct"] / "cpuacct.usage")]
    cmd += [str(e) for e in extra]
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                            preexec_fn=(lambda: os.sched_setaffinity(0, cpus)) if cpus else None)
    if not result.stdout.strip():
        raise RuntimeError(f"imap_load {mode} against {system.label} failed "
                           f"(exit {result.returncode}): {result.stderr.strip()}")
    out = json.loads(result.stdout.strip().splitlines()[-1])
    if result.returncode != 0:
        bench.log(f"imap_load {mode} against {system.label}: exit {result.returncode}: "
                  f"{result.stderr.strip()} {out.get('error', '')}")
    return out


def operations(args, meta) -> list[dict]:
    """The timed rows: (key, label, command[, reset], goal as minimum Dovecot/Sovereign ratio)."""
    t = meta["terms"]
    return [
        {"key": "login_select", "label": "LOGIN + SELECT INBOX (fresh session)",
         "command": "@login_select", "goal": None, "repeat": max(args.repeat, 10)},
        {"key": "fetch_envelope",
         "label": "UID FETCH 1:* (UID FLAGS RFC822.SIZE INTERNALDATE ENVELOPE)",
         "command": "UID FETCH 1:* (UID FLAGS RFC822.SIZE INTERNALDATE ENVELOPE)", "goal": 3},
        {"key": "fetch_bodystructure", "label": "FETCH 1:* BODYSTRUCTURE",
         "command": "FETCH 1:* BODYSTRUCTURE", "goal": 3},
        {"key": "body_peek", "label": f"{args.body_peeks} x UID FETCH <random> BODY.PEEK[]",
         "command": f"@body_peek:{args.body_peeks}:{args.seed}", "goal": 3},
        {"key": "search_subject", "label": f'UID SEARCH SUBJECT "{t["subject"]}"',
         "command": f'UID SEARCH SUBJECT "{t["subject"]}"', "goal": None,
         "expect": "subject"},
        {"key": "search_from", "label": f'UID SEARCH FROM "{t["from"]}"',
         "command": f'UID SEARCH FROM "{t["from"]}"', "goal": None, "expect": "from"},
        {"key": "search_text_body", "label": f'UID SEARCH TEXT "{t["text_body"]}" (body only)',
         "command": f'UID SEARCH TEXT "{t["text_body"]}"', "goal": 20, "expect": "text_body"},
        {"key": "search_text_header",
         "label": f'UID SEARCH TEXT "{t["text_header"]}" (From: only)',
         "command": f'UID SEARCH TEXT "{t["text_header"]}"', "goal": 20,
         "expect": "text_header"},
        {"key": "store_all", "label": "STORE 1:* +FLAGS (\\Flagged)",
         "command": "STORE 1:* +FLAGS (\\Flagged)", "reset": "STORE 1:* -FLAGS (\\Flagged)",
         "goal": 3},
    ]


def merge_runs(runs: list[dict]) -> dict:
    """The sessions of one operation on one system as one result: their timed runs together,
    medians over all of them, and every problem any of them had."""
    r = dict(runs[0])
    for key in ("wall_ms", "server_cpu_ms", "client_cpu_ms", "steal_ms"):
        r[key] = [x for run in runs for x in run[key]]
    r["median_ms"] = statistics.median(r["wall_ms"])
    r["server_cpu_median_ms"] = statistics.median(r["server_cpu_ms"])
    r["client_cpu_median_ms"] = statistics.median(r["client_cpu_ms"])
    r["problems"] = [p for run in runs for p in run["problems"]]
    r["sessions"] = len(runs)
    return r


# Operations whose responses are compared between the systems, line by line.
COMPARED = ("fetch_envelope", "fetch_bodystructure")


def run_op(args, system, op, meta, repeat=None) -> dict:
    """One imap_load session: --warmup untimed runs of the operation, then `repeat` timed ones
    (default: the operation's or --repeat)."""
    repeat = repeat if repeat is not None else op.get("repeat", args.repeat)
    extra = ["--op", f"{op['key']}={op['command']}", "--repeat", repeat,
             "--warmup", args.warmup]
    if op["key"] in COMPARED:
        extra += ["--dump", system.base / f"{op['key']}.dump"]
    if op.get("reset"):
        extra += ["--reset", f"{op['key']}={op['reset']}"]
    if args.latencies and op["command"].startswith("@body_peek"):
        args.latencies.mkdir(parents=True, exist_ok=True)
        extra += ["--latencies", args.latencies / f"{system.name}.txt"]
    cpus = {args.pin_cpu} if args.pin_cpu is not None else None
    out = imap_load(args, system, "ops", *extra, cpus=cpus)
    r = out["ops"][0]
    r["exists"] = out["exists"]
    r["median_ms"] = statistics.median(r["wall_ms"])
    r["server_cpu_median_ms"] = statistics.median(r["server_cpu_ms"])
    r["client_cpu_median_ms"] = statistics.median(r["client_cpu_ms"])
    problems = []
    n = meta["messages"]
    if op.get("expect"):
        want = meta["expected_uids"][op["expect"]]
        if r["search"] != want:
            missing = sorted(set(want) - set(r["search"]))
            extra_ = sorted(set(r["search"]) - set(want))
            problems.append(f"SEARCH returned {len(r['search'])} UIDs, expected {len(want)}"
                            f" (missing {missing[:5]}, unexpected {extra_[:5]})")
    elif op["key"] in ("fetch_envelope", "fetch_bodystructure", "store_all"):
        if r["untagged"] < n:
            problems.append(f"{r['untagged']} untagged responses for {n} messages")
    r["problems"] = problems
    for p in problems:
        bench.log(f"  {system.label} {op['key']}: {p}")
    return r


def normalized(line: bytes) -> bytes:
    """What may legitimately differ between two correct servers: case (BODYSTRUCTURE's type,
    subtype, parameter names and encodings are case-insensitive, RFC 9051 §7.5.2), the day of
    INTERNALDATE (date-day-fixed = SP DIGIT / 2DIGIT, RFC 9051 §9) and the order of flags."""
    line = re.sub(rb'internaldate " (\d)-', rb'internaldate "0\1-', line.lower())
    return re.sub(rb"flags \(([^)]*)\)",
                  lambda m: b"flags (" + b" ".join(sorted(m.group(1).split())) + b")", line)


def compare_dumps(systems, key) -> dict:
    """The untagged responses of both systems to one operation, line by line (tagged status
    lines differ in their text and are left out), after `normalized`."""
    lines = []
    for system in systems:
        data = (system.base / f"{key}.dump").read_bytes()
        lines.append([normalized(l) for l in data.split(b"\r\n") if l.startswith(b"* ")])
    a, b = lines
    diffs = [(x, y) for x, y in zip(a, b) if x != y]
    return {"lines": [len(a), len(b)], "differing": len(diffs) + abs(len(a) - len(b)),
            "examples": [[x.decode(errors="replace")[:400], y.decode(errors="replace")[:400]]
                         for x, y in diffs[:3]]}


def idle_memory(args, system, select=True) -> dict:
    """KB per idle session = (memory with N sessions in IDLE - memory with none) / N, on a
    freshly restarted server (a long-running process keeps freed heap, which new sessions would
    reuse unseen) after one warm-up session (caches of the mailbox are not per session)."""
    system.stop()
    system.start()
    imap_load(args, system, "ops", "--op", "noop=NOOP", "--repeat", 1, "--warmup", 0)
    sampler = bench.RssSampler(system.cgroups)
    time.sleep(1)
    sampler.sample(True)
    before = {"rss_kb": sampler.peak_rss_kb, "pss_kb": sampler.peak_pss_kb,
              "processes": sampler.peak_processes}
    cmd = [args.imap_load, "idle", "--port", str(system.port), "--user", USER, "--password",
           PASSWORD, "--connections", str(args.idle), "--threads", "8"]
    if not select:
        cmd.append("--no-select")
    t0 = time.monotonic()
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    # Process-per-session servers need GBs for thousands of sessions; on a shared machine the
    # client is stopped (its sessions close) before memory runs out.
    low_memory = []
    done = threading.Event()

    def watchdog():
        while not done.wait(0.5):
            if mem_available_mb() < args.min_free_mb:
                low_memory.append(mem_available_mb())
                proc.kill()
                return

    threading.Thread(target=watchdog, daemon=True).start()
    try:
        line = proc.stdout.readline()
        if not line:
            if low_memory:
                raise RuntimeError(f"idle phase stopped: only {low_memory[0]} MB available")
            raise RuntimeError(f"imap_load idle: {proc.stderr.read()}")
        ready = json.loads(line)
        setup_s = time.monotonic() - t0
        time.sleep(args.idle_settle)
        samples = []
        for _ in range(3):
            s = bench.RssSampler(system.cgroups)
            s.sample(True)
            samples.append((s.peak_rss_kb, s.peak_pss_kb, s.peak_processes))
            time.sleep(1)
        memcg = sum(int((cg.dirs["memory"] / "memory.usage_in_bytes").read_text())
                    for cg in system.cgroups) // 1024
    finally:
        done.set()
        if proc.poll() is None:
            proc.stdin.close()
        try:
            proc.wait(timeout=600)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    rss = statistics.median(s[0] for s in samples)
    pss = statistics.median(s[1] for s in samples)
    n = max(ready["ready"], 1)
    return {"sessions": ready["ready"], "failed": ready["failed"], "error": ready["error"],
            "setup_s": setup_s, "before": before, "rss_kb": rss, "pss_kb": pss,
            "processes": max(s[2] for s in samples), "memcg_usage_kb": memcg,
            "rss_kb_per_session": (rss - before["rss_kb"]) / n,
            "pss_kb_per_session": (pss - before["pss_kb"]) / n}


HALT_POLL_NS = Path("/sys/module/haltpoll/parameters/guest_halt_poll_ns")


def guest_halt_poll_ns():
    """How long an idle vCPU of this guest polls before it halts (the haltpoll cpuidle
    governor, Documentation/virt/guest-halt-polling.rst; the kernel's default is 200000),
    or None where there is no such governor (bare metal, other hypervisors)."""
    try:
        return int(HALT_POLL_NS.read_text())
    except (OSError, ValueError):
        return None


CPUIDLE = Path("/sys/devices/system/cpu/cpuidle")


def cpuidle_setting(name: str) -> str:
    """A setting of the guest's cpuidle, e.g. `current_governor` ("?" where unreadable)."""
    try:
        return (CPUIDLE / name).read_text().strip()
    except OSError:
        return "?"


def halt_poll_text(ns, governor) -> str:
    if ns is None:
        return "n/a (no haltpoll governor)"
    if governor not in (None, "haltpoll"):  # None: a report from before it was recorded
        # The module's parameter exists, but another governor decides: it has no effect.
        return f"n/a (cpuidle governor {governor})"
    return f"{ns} ns"


def mem_available_mb() -> int:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemAvailable:"):
            return int(line.split()[1]) // 1024
    return 1 << 30


# ---------------------------------------------------------------------------------------------
# Report


def ratio(base, value):
    if not value:
        return None
    return base / value


def fmt_ratio(r):
    return "-" if r is None else (f"{r:.1f}x" if r >= 10 else f"{r:.2f}x")


def markdown(report) -> str:
    res = report["results"]
    s, d = res.get("sovereign", {}), res.get("dovecot", {})
    lines = []
    if report.get("pinned_cpu") is not None:
        lines += [f"Operations with both servers and the client on CPU {report['pinned_cpu']} "
                  "(--pin-cpu).", ""]
    if report.get("interleave") == "on":
        lines += ["Operations: medians of runs in sessions of their own, the two systems' "
                  "alternating (--interleave on).", ""]
    lines += ["| operation | Sovereign | Dovecot 2.3 | ratio Dovecot / Sovereign | goal | met? | "
             "server CPU ms Sovereign / Dovecot | steal ms Sovereign / Dovecot |",
             "|---|---|---|---|---|---|---|---|"]
    for op in report["operations"]:
        a, b = s.get("ops", {}).get(op["key"]), d.get("ops", {}).get(op["key"])
        if not a or not b:
            continue
        r = ratio(b["median_ms"], a["median_ms"])
        goal = f"≥ {op['goal']}x" if op["goal"] else "-"
        met = "-" if not op["goal"] else ("yes" if r and r >= op["goal"] else "**no**")
        if a["problems"] or b["problems"]:
            met += " (wrong answer, see notes)"
        lines.append(f"| {op['label']} | {a['median_ms']:.1f} ms | {b['median_ms']:.1f} ms | "
                     f"{fmt_ratio(r)} | {goal} | {met} | {a['server_cpu_median_ms']:.1f} / "
                     f"{b['server_cpu_median_ms']:.1f} | {sum(a['steal_ms']):.0f} / "
                     f"{sum(b['steal_ms']):.0f} |")
    if "logins" in s and "logins" in d:
        a, b = s["logins"], d["logins"]
        r = ratio(b["server_cpu_ms_per_login"], a["server_cpu_ms_per_login"])
        lines.append(f"| server CPU per login (TLS handshake + LOGIN + LOGOUT, {a['count']} "
                     f"sessions) | {a['server_cpu_ms_per_login']:.2f} ms | "
                     f"{b['server_cpu_ms_per_login']:.2f} ms | {fmt_ratio(r)} | - | - | | |")
    if "mixed" in s and "mixed" in d:
        a, b = s["mixed"], d["mixed"]
        r = ratio(a["ops_per_s"], b["ops_per_s"])
        met = "yes" if r and r >= 3 else "**no**"
        lines.append(f"| mixed load, {a['connections']} sessions, {a['duration_s']:.0f} s "
                     f"(ops/s; ratio Sovereign / Dovecot) | {a['ops_per_s']:.0f} ops/s | "
                     f"{b['ops_per_s']:.0f} ops/s | {fmt_ratio(r)} | ≥ 3x | {met} | "
                     f"{1000 * a['server_cpu_s'] / max(a['ops'], 1):.2f} / "
                     f"{1000 * b['server_cpu_s'] / max(b['ops'], 1):.2f} per op | |")
    idle_rows = (("idle", "LOGIN + SELECT + IDLE", True),
                 ("idle-auth", "LOGIN + IDLE, no SELECT", False))
    for phase, what, has_goal in idle_rows:
        a, b = s.get(phase), d.get(phase)
        if not a and not b:
            continue

        def cell(x):
            if not x:
                return "-"
            return f"{x['pss_kb_per_session']:.1f} KB PSS ({x['rss_kb_per_session']:.1f} RSS)"

        r = ratio(b["pss_kb_per_session"], a["pss_kb_per_session"]) if a and b else None
        met = "-"
        if a and has_goal:
            met = "yes" if a["pss_kb_per_session"] <= 50 else "**no**"
        lines.append(f"| memory per idle session ({(a or b)['sessions']} sessions, {what}; "
                     f"lower is better) | {cell(a)} | {cell(b)} | {fmt_ratio(r)} | "
                     f"{'≤ 50 KB' if has_goal else '-'} | {met} | | |")
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------
# Driver


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    build = bench.ROOT / "build" / "bench"
    parser.add_argument("--sovereign", default=str(build / "src" / "cli" / "sovereign"))
    parser.add_argument("--imap-load", default=str(build / "bench" / "imap_load"))
    parser.add_argument("--systems", default="sovereign,dovecot")
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--corpus", type=Path,
                        help="reuse this corpus directory (made by imap_corpus.py) if it exists")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs per operation")
    parser.add_argument("--warmup", type=int, default=1, help="untimed runs first (caches)")
    parser.add_argument("--body-peeks", type=int, default=500)
    parser.add_argument("--logins", type=int, default=200)
    parser.add_argument("--mixed-connections", type=int, default=32)
    parser.add_argument("--mixed-duration", type=float, default=60)
    parser.add_argument("--idle", type=int, default=5000, help="idle sessions (0: skip)")
    parser.add_argument("--idle-settle", type=float, default=5,
                        help="seconds between the last IDLE and the memory samples")
    parser.add_argument("--min-free-mb", type=int, default=2048,
                        help="stop the idle phase if MemAvailable falls below this")
    parser.add_argument("--phases", default="ops,logins,mixed,idle",
                        help="comma list of ops, logins, mixed, idle, idle-auth")
    parser.add_argument("--nice", type=int, default=0,
                        help="niceness of the driver, both servers and the client (e.g. -10 "
                             "on a machine busy with other work; both systems alike)")
    parser.add_argument("--pin-cpu", type=int, default=None,
                        help="in the ops phase, run both servers and the client on this one CPU "
                             "(measures the servers' work per round trip without the cost of "
                             "waking a thread on another CPU, large in a VM)")
    parser.add_argument("--guest-halt-poll-ns", type=int, default=None, metavar="NS",
                        help="for the run, set the guest's idle polling (haltpoll governor, "
                             f"{HALT_POLL_NS}) to NS and restore it afterwards: 200000 is the "
                             "kernel's default; a guest with 0 halts its idle vCPUs at once, "
                             "and waking one costs every round trip tens of µs")
    parser.add_argument("--interleave", choices=("on", "off"), default="on",
                        help="ops phase: each timed run in a session of its own, the systems "
                             "alternating run by run (on), or all of one system's runs in one "
                             "session, then the other's (off)")
    parser.add_argument("--dovecot-tls-suites", metavar="SUITES",
                        help="give Dovecot these TLS 1.3 suites, in its own order (e.g. "
                             "Sovereign's: TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:"
                             "TLS_CHACHA20_POLY1305_SHA256); default: Dovecot's own settings, "
                             "which follow the client's order (AES-256-GCM first)")
    parser.add_argument("--latencies", type=Path,
                        help="ops phase: append each timed BODY.PEEK[]'s size and time to "
                             "DIR/<system>.txt (bench/peek_latency.py sums them up by size)")
    parser.add_argument("--out", help="write all results as JSON here")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = parser.parse_args()

    if os.geteuid() != 0:
        sys.exit("bench/imap_bench.py needs root (cgroups, Dovecot)")
    for binary in (args.sovereign, args.imap_load):
        if not os.access(binary, os.X_OK):
            sys.exit(f"{binary} missing: ninja -C build/bench sovereign imap_load")
    if args.nice:
        os.nice(args.nice)  # inherited by every process the run starts
    names = [n for n in args.systems.split(",") if n]
    phases = set(args.phases.split(","))
    # Inherited by the servers and the client; only as high as the hard limit here allows.
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    fds = hard if hard == resource.RLIM_INFINITY else min(FD_LIMIT, hard)
    resource.setrlimit(resource.RLIMIT_NOFILE, (fds, hard))
    if fds < 3 * args.idle:
        bench.log(f"warning: fd limit {fds} is tight for {args.idle} idle sessions")

    root = Path(tempfile.mkdtemp(prefix="sovbench-imap-", dir="/var/tmp"))
    os.chmod(root, 0o755)
    began = datetime.datetime.now().astimezone()
    load_at_start = os.getloadavg()
    systems: dict[str, bench.System] = {}
    results = {n: {"ops": {}} for n in names}
    report = {"date": began.isoformat(timespec="seconds"), "command": " ".join(sys.argv),
              "revision": bench.git_revision(), "results": results}

    def on_signal(signum, _frame):
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, on_signal)
    halt_poll_before = guest_halt_poll_ns()
    try:
        if args.guest_halt_poll_ns is not None:
            if halt_poll_before is None:
                raise SystemExit(f"--guest-halt-poll-ns: no {HALT_POLL_NS} on this machine")
            if (governor := cpuidle_setting("current_governor")) != "haltpoll":
                raise SystemExit(f"--guest-halt-poll-ns: the cpuidle governor is {governor}, "
                                 "so the setting would have no effect")
            HALT_POLL_NS.write_text(str(args.guest_halt_poll_ns))
        report["guest_halt_poll_ns"] = guest_halt_poll_ns()
        report["cpuidle_governor"] = cpuidle_setting("current_governor")
        corpus = args.corpus or root / "corpus"
        if not (corpus / "corpus.json").exists():
            t0 = time.monotonic()
            imap_corpus.generate(corpus, args.messages, args.seed)
            bench.log(f"corpus: {args.messages} messages in {time.monotonic() - t0:.0f} s")
        meta = json.loads((corpus / "corpus.json").read_text())
        report["corpus"] = {k: v for k, v in meta.items() if k != "expected_uids"}
        bench.log(f"corpus {corpus}: {meta['messages']} messages, "
                  f"{meta['bytes'] / 1e6:.0f} MB, {meta['kinds']}")

        sov = SovereignImap(root / "sovereign", args)
        sov.base.mkdir()
        sov.prepare()  # also the certificate both servers use
        if "sovereign" in names:
            systems["sovereign"] = sov
        if "dovecot" in names:
            dc = DovecotImap(root / "dovecot", args)
            dc.base.mkdir()
            dc.prepare(sov.certificate)
            systems["dovecot"] = dc
        for name, system in systems.items():
            results[name]["load"] = system.load(corpus)
            system.start()
            # The first session also makes Dovecot index the Maildir (its "load" step).
            t0 = time.monotonic()
            first = imap_load(args, system, "ops", "--op", "noop=NOOP", "--repeat", 1,
                              "--warmup", 0)
            results[name]["load"]["first_select_s"] = time.monotonic() - t0
            if first["exists"] != meta["messages"]:
                raise RuntimeError(f"{system.label} shows {first['exists']} messages, "
                                   f"expected {meta['messages']}")
            bench.log(f"{system.label}: {first['exists']} messages; first SELECT "
                      f"{results[name]['load']['first_select_s']:.1f} s")

        ops = operations(args, meta)
        report["operations"] = ops
        report["interleave"] = args.interleave
        report["dovecot_tls_suites"] = args.dovecot_tls_suites or "Dovecot's default"
        order = list(systems)
        if "ops" in phases:
            if args.pin_cpu is not None:
                pin(systems.values(), {args.pin_cpu})
                report["pinned_cpu"] = args.pin_cpu
            for i, op in enumerate(ops):
                # Interleaved (the default): each timed run is a session of its own, the
                # systems' sessions alternate (A B, B A, ...), so a slow period of the host
                # falls on both alike. Otherwise one session per system runs every repeat.
                interleave = args.interleave == "on"
                rounds = op.get("repeat", args.repeat) if interleave else 1
                runs = {name: [] for name in order}
                for round_ in range(rounds):
                    for name in (order if (i + round_) % 2 == 0 else order[::-1]):
                        runs[name].append(run_op(args, systems[name], op, meta,
                                                 1 if interleave else None))
                for name in order:
                    r = merge_runs(runs[name])
                    results[name]["ops"][op["key"]] = r
                    bench.log(f"{op['key']}: {systems[name].label} {r['median_ms']:.1f} ms "
                              f"(runs {r['wall_ms']}), server CPU {r['server_cpu_median_ms']:.1f}"
                              f" ms, client CPU {r['client_cpu_median_ms']:.1f} ms, steal"
                              f" {r['steal_ms']}")
            if len(systems) == 2:
                report["comparisons"] = {}
                for key in COMPARED:
                    c = compare_dumps(list(systems.values()), key)
                    report["comparisons"][key] = c
                    bench.log(f"{key}: {c['differing']} of {c['lines']} response lines differ"
                              + (f"; first: {c['examples'][0]}" if c["examples"] else ""))
            if args.pin_cpu is not None:
                pin(systems.values(), set(range(os.cpu_count() or 1)))
        if "logins" in phases:
            for name in order:
                r = imap_load(args, systems[name], "logins", "--count", args.logins)
                results[name]["logins"] = r
                bench.log(f"logins: {systems[name].label} {r['server_cpu_ms_per_login']:.2f} ms "
                          f"server CPU per login, p50 {r['p50_ms']:.1f} ms, failed {r['failed']}")
        if "mixed" in phases:
            for name in order[::-1]:
                r = imap_load(args, systems[name], "mixed", "--connections",
                              args.mixed_connections, "--duration", args.mixed_duration,
                              "--seed", args.seed)
                results[name]["mixed"] = r
                bench.log(f"mixed: {systems[name].label} {r['ops_per_s']:.0f} ops/s, p99 "
                          f"{r['p99_ms']:.1f} ms, failed {r['failed']} {r['error']}, server CPU "
                          f"{r['server_cpu_s']:.1f} s, client CPU {r['client_cpu_s']:.1f} s")
        # "idle": LOGIN + SELECT INBOX + IDLE; "idle-auth": LOGIN + IDLE (no mailbox view).
        for phase in ("idle", "idle-auth"):
            if phase not in phases or args.idle <= 0:
                continue
            for name in order:
                r = idle_memory(args, systems[name], select=phase == "idle")
                results[name][phase] = r
                bench.log(f"{phase}: {systems[name].label} {r['sessions']} sessions "
                          f"({r['failed']} failed {r['error']}) in {r['setup_s']:.0f} s: "
                          f"{r['pss_kb_per_session']:.1f} KB PSS / {r['rss_kb_per_session']:.1f}"
                          f" KB RSS per session, {r['processes']} processes")
    except KeyboardInterrupt as e:
        bench.log(f"interrupted ({e or 'SIGINT'})")
    finally:
        if args.guest_halt_poll_ns is not None and halt_poll_before is not None:
            HALT_POLL_NS.write_text(str(halt_poll_before))
        for system in systems.values():
            system.stop()
        for ctl in bench.CGROUP_ROOTS.values():
            try:
                (ctl / bench.CGROUP_PARENT).rmdir()
            except OSError:
                pass
        if args.keep:
            bench.log(f"kept {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)

    load = os.getloadavg()
    report["machine"] = {"cpus": os.cpu_count(), "kernel": os.uname().release,
                         "loadavg_at_start": load_at_start, "loadavg_at_end": load}
    report["sovereign_built"] = datetime.datetime.fromtimestamp(
        os.stat(args.sovereign).st_mtime).astimezone().isoformat(timespec="seconds")
    if args.out:
        Path(args.out).write_text(json.dumps(report, indent=2))
    corpus_text = report.get("corpus", {})
    print(f"\nimap, {began:%Y-%m-%d %H:%M %Z}, tree {report['revision']}, sovereign built "
          f"{report['sovereign_built']}, {corpus_text.get('messages', '?')} messages "
          f"({corpus_text.get('bytes', 0) / 1e6:.0f} MB), {os.cpu_count()} CPUs, "
          f"load average at start "
          f"{load_at_start[0]:.1f}, at end {load[0]:.1f}, guest halt polling "
          f"{halt_poll_text(report.get('guest_halt_poll_ns'), report.get('cpuidle_governor'))}\n")
    print(markdown(report) if "operations" in report else "(no operations ran)")
    notes = [f"{SYSTEMS[n].label} {k}: {p}" for n in names
             for k, r in results[n]["ops"].items() for p in r["problems"]]
    for key, c in report.get("comparisons", {}).items():
        if c["differing"]:
            notes.append(f"{key}: {c['differing']} of {c['lines'][0]} FETCH lines differ between "
                         f"{' and '.join(SYSTEMS[n].label for n in systems)}; first: "
                         f"{c['examples'][:1]}")
    if notes:
        print("\nNotes:\n" + "\n".join(f"* {n}" for n in notes))


if __name__ == "__main__":
    main()
