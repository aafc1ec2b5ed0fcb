#!/usr/bin/env python3
"""Benchmark driver: the same load against Sovereign and against Postfix + Dovecot.

    sudo bench/run.sh [--quick] [--workload smtp-inbound] [options]   (see --help, README.md)
    sudo bench/run.sh --workload smtp-submission [--messages 500]     (vs Postfix + OpenDKIM)

Design (README.md, "Adding a workload"):
  * SYSTEMS: the mail systems under test. Each one starts a fresh private instance in a temporary
    directory, puts its processes into its own cgroups (v1 cpuacct + memory) and can say what has
    reached the mailbox. `features` says which workloads it can serve.
  * WORKLOADS: a workload turns the command line into cases and runs one case against one started
    system inside a `Measurement` (server CPU, peak RSS, fsync counts), returning a flat dict.
  * The driver runs every case against every system, alternating systems case by case so drifting
    background load hits both alike, and prints a Markdown table with Sovereign / baseline ratios.

Needs root (cgroups, perf, Postfix's master). Standard library only.
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import pwd
import grp
import re
import resource
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOMAIN = "example.test"
RECIPIENT = f"bench@{DOMAIN}"
CGROUP_ROOTS = {"cpuacct": Path("/sys/fs/cgroup/cpuacct"), "memory": Path("/sys/fs/cgroup/memory")}
CGROUP_PARENT = "sovbench"


def log(*parts):
    print("[bench]", *parts, file=sys.stderr, flush=True)


def wait_for(condition, timeout, what, interval=0.02):
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(interval)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def greets(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2) as s:
            s.settimeout(5)
            return s.recv(512).startswith(b"220")
    except OSError:
        return False


def pid_alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        return state != "Z"
    except (OSError, IndexError):
        return False


# ---------------------------------------------------------------------------------------------
# Measurement: cgroups, RSS sampling, fsync counting


CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


class Cgroup:
    """One cgroup v1 group in cpuacct and in memory, /sys/fs/cgroup/<ctl>/sovbench/<name>.
    Processes join it through `preexec` (children inherit it); only our processes are in it."""

    def __init__(self, name: str):
        self.name = name
        self.dirs = {ctl: root / CGROUP_PARENT / name for ctl, root in CGROUP_ROOTS.items()}
        for d in self.dirs.values():
            d.mkdir(parents=True, exist_ok=True)

    def preexec(self):
        pid = str(os.getpid())
        for d in self.dirs.values():
            (d / "cgroup.procs").write_text(pid)

    def pids(self) -> list[int]:
        try:
            return [int(p) for p in (self.dirs["cpuacct"] / "cgroup.procs").read_text().split()]
        except OSError:
            return []

    def cpu_ns(self) -> int:
        return int((self.dirs["cpuacct"] / "cpuacct.usage").read_text())

    def set_affinity(self, cpus: set[int]):
        """Every thread in the group runs on `cpus` from now on; processes they start later
        inherit it."""
        try:
            tids = (self.dirs["cpuacct"] / "tasks").read_text().split()
        except OSError:
            return
        for tid in tids:
            try:
                os.sched_setaffinity(int(tid), cpus)
            except OSError:
                pass  # the thread ended meanwhile

    def cpu_by_thread_name(self) -> dict[str, float]:
        """CPU seconds (user + system) so far of the group's live threads, summed by thread
        name (/proc/<tid>/comm: Sovereign names its store threads, e.g. sov-index)."""
        out: dict[str, float] = {}
        try:
            tids = (self.dirs["cpuacct"] / "tasks").read_text().split()
        except OSError:
            return out
        for tid in tids:
            try:
                comm = Path(f"/proc/{tid}/task/{tid}/comm").read_text().strip()
                # /proc/<tid>/stat of a main thread is the whole process; task/<tid> is the thread.
                stat = Path(f"/proc/{tid}/task/{tid}/stat").read_text()
            except OSError:
                continue  # the thread ended meanwhile
            fields = stat[stat.rindex(")") + 2:].split()  # after "pid (comm) "
            ticks = int(fields[11]) + int(fields[12])  # utime, stime
            out[comm] = out.get(comm, 0.0) + ticks / CLOCK_TICKS
        return out

    def cpu_user_sys_ns(self) -> tuple[int, int]:
        d = self.dirs["cpuacct"]
        user = int((d / "cpuacct.usage_user").read_text())
        return user, int((d / "cpuacct.usage_sys").read_text())

    def reset_memory_peak(self):
        try:
            (self.dirs["memory"] / "memory.max_usage_in_bytes").write_text("0")
        except OSError:
            pass

    def memory_peak(self) -> int:
        return int((self.dirs["memory"] / "memory.max_usage_in_bytes").read_text())

    def kill_all(self):
        """Last resort for leftovers: every pid here is a process this driver started."""
        for pid in self.pids():
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    def remove(self):
        for d in self.dirs.values():
            try:
                wait_for(lambda: not (d / "cgroup.procs").read_text().split(), 10, "empty cgroup")
                d.rmdir()
            except (OSError, RuntimeError) as e:
                log(f"cannot remove cgroup {d}: {e}")


class RssSampler(threading.Thread):
    """Sums the RSS of a cgroup's processes every `interval` seconds and keeps the peak of the
    sums; every `pss_every`-th sample (every one for up to 4 processes) also sums PSS (shared pages split fairly between processes;
    `smaps_rollup` walks page tables, so it is read less often: with ~100 Postfix + Dovecot
    processes a 50 ms PSS sampler would itself take a fifth of a CPU)."""

    def __init__(self, cgroups, interval=0.1, pss_every=10):
        super().__init__(daemon=True)
        self.cgroups, self.interval, self.pss_every = cgroups, interval, pss_every
        self.stop_event = threading.Event()
        self.page_kb = os.sysconf("SC_PAGE_SIZE") // 1024
        self.samples = 0
        self.peak_rss_kb = 0
        self.peak_pss_kb = 0
        self.peak_processes = 0
        self.cpu_s = 0.0

    def sample(self, with_pss):
        rss = pss = count = 0
        for cg in self.cgroups:
            for pid in cg.pids():
                try:
                    with open(f"/proc/{pid}/statm", "rb") as f:
                        rss += int(f.read().split()[1]) * self.page_kb
                    if with_pss:
                        with open(f"/proc/{pid}/smaps_rollup", "rb") as f:
                            for line in f.read().splitlines():
                                if line.startswith(b"Pss:"):
                                    pss += int(line.split()[1])
                                    break
                    count += 1
                except (OSError, ValueError, IndexError):
                    pass  # exited in between
        self.peak_rss_kb = max(self.peak_rss_kb, rss)
        if with_pss:
            self.peak_pss_kb = max(self.peak_pss_kb, pss)
        self.peak_processes = max(self.peak_processes, count)

    def run(self):
        while not self.stop_event.is_set():
            # A handful of processes is cheap to walk: then PSS at every sample too.
            self.sample(self.samples % self.pss_every == 0 or self.peak_processes <= 4)
            self.samples += 1
            self.stop_event.wait(self.interval)
        self.cpu_s = time.thread_time()  # the sampler's own cost, reported beside the results

    def stop(self):
        self.stop_event.set()
        self.join()
        self.sample(True)


FSYNC_EVENTS = ("syscalls:sys_enter_fsync", "syscalls:sys_enter_fdatasync",
                "syscalls:sys_enter_sync_file_range")


class FsyncCounter:
    """`perf stat -a` over the tracepoints of the fsync family: system wide (the per-cgroup mode
    needs the perf_event controller, not mounted here), so nothing else should run meanwhile."""

    def __init__(self, out: Path):
        self.out = out
        self.process = None

    def start(self):
        self.process = subprocess.Popen(
            ["perf", "stat", "-a", "-x", ",", "-o", str(self.out),
             "-e", ",".join(FSYNC_EVENTS)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        time.sleep(0.3)  # perf needs a moment to open its counters on every CPU

    def stop(self) -> dict:
        if self.process is None:
            return {}
        self.process.send_signal(signal.SIGINT)
        self.process.wait(timeout=30)
        self.process = None
        counts = {}
        for line in self.out.read_text().splitlines():
            fields = line.split(",")
            if len(fields) >= 3 and fields[2] in FSYNC_EVENTS:
                name = fields[2].split("sys_enter_")[1]
                counts[name] = int(fields[0]) if fields[0].isdigit() else 0
        return counts


INDEX_THREAD = "sov-index"  # Sovereign's full-text indexer (src/store/group_commit.cpp)


def wait_until_thread_idle(m, name: str, timeout: float) -> float:
    """CPU seconds thread `name` used since the measurement began, read once it has used no
    more for 2 s (it has caught up) or after `timeout`."""
    last = m.thread_cpu_since_start().get(name, 0.0)
    still_since = time.monotonic()
    deadline = still_since + timeout
    while time.monotonic() < deadline:
        time.sleep(0.5)
        now = m.thread_cpu_since_start().get(name, 0.0)
        if now != last:
            last, still_since = now, time.monotonic()
        elif time.monotonic() - still_since >= 2.0:
            break
    return last


def index_costs(costs: dict, index_total_s, delivered: int) -> dict:
    """Splits Sovereign's CPU into delivery and the background search indexer."""
    n = max(delivered, 1)
    if index_total_s is None:  # no search index: all of its CPU is delivery
        return {"delivery_cpu_ms_per_msg": costs["cpu_s"] * 1000 / n}
    in_window = costs["cpu_by_thread"].get(INDEX_THREAD, 0.0)
    return {
        "index_cpu_ms_per_msg": in_window * 1000 / n,
        "delivery_cpu_ms_per_msg": (costs["cpu_s"] - in_window) * 1000 / n,
        "index_total_cpu_ms_per_msg": index_total_s * 1000 / n,
    }


class Measurement:
    """Server-side costs of one case: `with Measurement(system, dir) as m: ...; m.finish()` —
    finish() once the work is complete (everything delivered), before the system stops."""

    def __init__(self, system, work_dir: Path, count_fsyncs=True):
        self.system = system
        self.sampler = RssSampler(system.cgroups)
        self.fsync = FsyncCounter(work_dir / "perf-fsync.txt") if count_fsyncs else None
        self.result = {}

    def __enter__(self):
        for cg in self.system.cgroups:
            cg.reset_memory_peak()
        self.sampler.start()
        if self.fsync:
            self.fsync.start()
        self.cpu_before = {cg.name: cg.cpu_user_sys_ns() for cg in self.system.cgroups}
        self.threads_before = self.thread_cpu()
        return self

    def thread_cpu(self) -> dict[str, float]:
        out: dict[str, float] = {}
        for cg in self.system.cgroups:
            for name, s in cg.cpu_by_thread_name().items():
                out[name] = out.get(name, 0.0) + s
        return out

    def thread_cpu_since_start(self) -> dict[str, float]:
        now = self.thread_cpu()
        return {k: round(v - self.threads_before.get(k, 0.0), 3) for k, v in now.items()}

    def finish(self):
        cpu = {}
        for cg in self.system.cgroups:
            user, sys_ = cg.cpu_user_sys_ns()
            u0, s0 = self.cpu_before[cg.name]
            cpu[cg.name] = {"user_s": (user - u0) / 1e9, "sys_s": (sys_ - s0) / 1e9}
        fsyncs = self.fsync.stop() if self.fsync else {}
        self.sampler.stop()
        self.result = {
            "cpu_s": sum(c["user_s"] + c["sys_s"] for c in cpu.values()),
            "cpu_by_cgroup": cpu,
            # Thread names with 10 ms tick resolution; threads that ended meanwhile are missing.
            "cpu_by_thread": self.thread_cpu_since_start(),
            "fsyncs": sum(fsyncs.values()),
            "fsync_calls": fsyncs,
            "peak_rss_kb": self.sampler.peak_rss_kb,
            "peak_pss_kb": self.sampler.peak_pss_kb,
            "peak_processes": self.sampler.peak_processes,
            "sampler_cpu_s": getattr(self.sampler, "cpu_s", 0.0),
            "memcg_peak_kb": sum(cg.memory_peak() for cg in self.system.cgroups) // 1024,
        }
        return self.result

    def __exit__(self, *exc):
        if self.fsync and self.fsync.process:
            self.fsync.process.kill()
            self.fsync.process.wait()
        if self.sampler.is_alive():
            self.sampler.stop_event.set()
        return False


# ---------------------------------------------------------------------------------------------
# Systems under test


class System:
    """A mail system under test. Subclasses: start(), stop(), and per feature the ports and the
    mailbox view. `features` lists the workloads it supports."""

    name = "?"
    label = "?"
    features: set[str] = set()

    def __init__(self, base: Path, args):
        self.base = base
        self.args = args
        self.cgroups: list[Cgroup] = []

    def new_cgroup(self, name):
        cg = Cgroup(f"{self.name}-{name}-{os.getpid()}")
        self.cgroups.append(cg)
        return cg

    def release_cgroups(self):
        for cg in self.cgroups:
            cg.kill_all()
            cg.remove()
        self.cgroups = []

    # --- mailbox view for delivery workloads
    def delivered_count(self) -> int:
        raise NotImplementedError

    def delivered_times(self, trace: dict) -> dict:
        """{message-id: unix_ns at which it was in the mailbox} for the delivered messages."""
        raise NotImplementedError

    def settled(self) -> bool:
        """True when no work is pending inside the system (queues empty)."""
        return True


class Sovereign(System):
    name = "sovereign"
    label = "Sovereign"
    features = {"smtp-inbound", "smtp-submission"}
    _template: Path | None = None

    @classmethod
    def template(cls, args, root: Path) -> Path:
        """quickstart (keys, Argon2id) runs once per benchmark run; each case copies it."""
        if cls._template is None:
            data = root / "sovereign-template"
            password = root / "password"
            password.write_text("bench password\n")
            run([args.sovereign, "quickstart", "--domain", DOMAIN, "--hostname", "mail." + DOMAIN,
                 "--data", str(data), "--run-as", "", "--password-file", str(password)])
            run([args.sovereign, "user", "add", RECIPIENT, "--data", str(data)],
                input="bench password\n")
            config = data / "sovereign.toml"
            text = re.sub(r"(?m)^port = \d+$", "port = 0", config.read_text())
            # 32 connections from one address are above the default per-IP limit (20).
            text = re.sub(r"(?m)^\[connections\]\s*$",
                          "[connections]\nmax_total = 4000\nmax_per_ip = 2000", text, count=1)
            if args.workload != "smtp-submission":
                # Postfix as configured here makes no SPF/DKIM/DMARC checks either; the cost of
                # ours is measured on its own (bench/auth_speed.py).
                text = merge_config(text, '[mailauth]\nverify = "off"\n')
            if args.workload == "smtp-submission":
                # Every submitted message signed twice (rsa-sha256 2048 + ed25519-sha256),
                # delivered to the peer MX found through the validating resolver (the fixture's
                # signed peer.test) on the peer's port; no hourly submission limit.
                run([args.sovereign, "dkim", "keygen", DOMAIN, "--data", str(data)])
                env = SubmissionEnv.get(args, root)
                text = merge_config(text, f"[queue]\nremote_port = {env.peer_port}\n"
                                    "[submission]\nmax_messages_per_hour = 0\n"
                                    "max_recipients_per_hour = 0\n" + env.dns_config())
                if args.sovereign_config:
                    text = merge_config(text, args.sovereign_config.replace("\\n", "\n"))
            config.write_text(text)
            cls._template = data
        return cls._template

    def start(self):
        self.data = self.base / "data"
        shutil.copytree(self.template(self.args, self.base.parent), self.data, symlinks=True)
        self.log_path = self.base / "server.log"
        self.cgroup = self.new_cgroup("server")
        with open(self.log_path, "wb") as out:
            self.process = subprocess.Popen(
                [self.args.sovereign, "serve", "--data", str(self.data)],
                stdout=out, stderr=subprocess.STDOUT, preexec_fn=self.cgroup.preexec,
            )

        def ready():
            if self.process.poll() is not None:
                raise RuntimeError(f"sovereign exited early:\n{self.log_path.read_text()}")
            text = self.log_path.read_text(errors="replace")
            return text if "event=server.ready" in text else None

        text = wait_for(ready, 30, "sovereign server.ready")
        ports = {m.group(1): int(m.group(2)) for m in
                 re.finditer(r"event=listener.ready listener=(\S+) .* port=(\d+)", text)}
        self.smtp_port = ports["mx"]
        self.submission_port = ports.get("submission")
        self.index = self.data / "mail" / RECIPIENT / "index.db"
        return self

    def stop(self):
        if getattr(self, "process", None) and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.release_cgroups()

    def _query(self, sql):
        if not self.index.exists():
            return []
        con = sqlite3.connect(f"file:{self.index}?mode=ro", uri=True, timeout=10)
        try:
            return con.execute(sql).fetchall()
        finally:
            con.close()

    def delivered_count(self) -> int:
        return self._query("SELECT count(*) FROM messages")[0][0] if self.index.exists() else 0

    def delivered_times(self, trace: dict) -> dict:
        # The store commits (file + directory fsync + SQLite commit) before the 250 reply, so the
        # message is in the mailbox at the latest when the client got the 250: its trace time.
        times = {}
        for (file,) in self._query("SELECT file FROM messages"):
            mid = message_id(self.data / "mail" / RECIPIENT / file)
            if mid in trace:
                times[mid] = trace[mid][1]
        return times


class PostfixDovecot(System):
    """Postfix (smtpd -> queue -> lmtp client) delivering over LMTP to Dovecot (Maildir)."""

    name = "postfix-dovecot"
    label = "Postfix+Dovecot"
    features = {"smtp-inbound"}

    MASTER_CF = """\
# service type  private unpriv  chroot  wakeup  maxproc command
{listen} inet  n       -       n       -       -       smtpd
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
lmtp      unix  -       -       n       -       -       lmtp
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
"""

    DOVECOT_CONF = """\
# Private Dovecot for the benchmark: LMTP only, Maildir, default fsync behaviour.
instance_name = sovbench-{tag}
base_dir = {base}/dovecot-run
state_dir = {base}/dovecot-state
protocols = lmtp
listen = 127.0.0.1
ssl = no
log_path = {base}/dovecot.log
info_log_path = {base}/dovecot.log
default_internal_user = dovecot
default_login_user = dovenull
first_valid_uid = {uid}
first_valid_gid = {gid}
mail_location = maildir:~/Maildir
mail_fsync = optimized
lmtp_save_to_detail_mailbox = no
auth_mechanisms = plain
passdb {{
  driver = passwd-file
  args = {base}/dovecot-users
}}
userdb {{
  driver = passwd-file
  args = {base}/dovecot-users
}}
service lmtp {{
  inet_listener lmtp {{
    address = 127.0.0.1
    port = {port}
  }}
}}
"""

    def start(self):
        os.chmod(self.base, 0o755)
        self.start_dovecot()
        self.start_postfix()
        return self

    # --- Dovecot
    def start_dovecot(self):
        mail = pwd.getpwnam("mail")
        self.home = self.base / "home" / "bench"
        self.maildir = self.home / "Maildir"
        for d in (self.home, self.maildir, self.maildir / "new", self.maildir / "cur",
                  self.maildir / "tmp"):
            d.mkdir(parents=True, exist_ok=True)
            os.chown(d, mail.pw_uid, mail.pw_gid)
        self.lmtp_port = free_port()
        conf = self.base / "dovecot.conf"
        conf.write_text(self.DOVECOT_CONF.format(
            base=self.base, port=self.lmtp_port, uid=mail.pw_uid, gid=mail.pw_gid,
            tag=os.getpid()))
        (self.base / "dovecot-users").write_text(
            f"{RECIPIENT}:{{PLAIN}}bench:{mail.pw_uid}:{mail.pw_gid}::{self.home}::\n")
        self.dovecot_conf = conf
        self.dovecot_cgroup = self.new_cgroup("dovecot")
        # The daemon keeps its inherited stdout/stderr: a file, not a pipe we would wait on.
        with open(self.base / "dovecot.out", "wb") as out:
            result = subprocess.run(["dovecot", "-c", str(conf)], stdout=out, stderr=out,
                                    stdin=subprocess.DEVNULL, timeout=30,
                                    preexec_fn=self.dovecot_cgroup.preexec)
        if result.returncode != 0:
            raise RuntimeError(f"dovecot failed: {self.read(self.base / 'dovecot.out')}"
                               f"{self.read(self.base / 'dovecot.log')}")
        wait_for(lambda: greets_lmtp(self.lmtp_port), 20, "dovecot lmtp")
        self.dovecot_pid = int((self.base / "dovecot-run" / "master.pid").read_text())

    # --- Postfix (private instance, like tests/integration/postfix.py but self-contained)
    def start_postfix(self):
        self.pf_config = self.base / "postfix-etc"
        self.pf_queue = self.base / "postfix-queue"
        self.pf_data = self.base / "postfix-lib"
        self.pf_log = self.base / "maillog"
        for d in (self.pf_config, self.pf_queue, self.pf_data):
            d.mkdir(parents=True, exist_ok=True)
        postfix_uid = pwd.getpwnam("postfix").pw_uid
        postfix_gid = grp.getgrnam("postfix").gr_gid
        postdrop_gid = grp.getgrnam("postdrop").gr_gid
        os.chown(self.pf_data, postfix_uid, postfix_gid)
        self.smtp_port = free_port()
        main_cf = {
            "compatibility_level": "3.6",
            "queue_directory": self.pf_queue,
            "data_directory": self.pf_data,
            "mail_owner": "postfix",
            "setgid_group": "postdrop",
            "inet_interfaces": "127.0.0.1",
            "inet_protocols": "ipv4",
            "myhostname": "mx.postfix.test",
            "mydomain": "postfix.test",
            "myorigin": "$myhostname",
            "mydestination": "",
            "local_recipient_maps": "",
            "alias_maps": "",
            "alias_database": "",
            "mynetworks": "127.0.0.0/8",
            # The canonical Postfix + Dovecot setup: virtual mailbox domain, recipients checked
            # against a table (as Sovereign checks its user directory), delivered over LMTP.
            "virtual_mailbox_domains": DOMAIN,
            "virtual_mailbox_maps": f"inline:{{ {RECIPIENT}=ok }}",
            "virtual_transport": f"lmtp:inet:127.0.0.1:{self.lmtp_port}",
            # No DNS anywhere.
            "smtp_dns_support_level": "disabled",
            "lmtp_dns_support_level": "disabled",
            "smtp_host_lookup": "native",
            "lmtp_host_lookup": "native",
            "smtpd_peername_lookup": "no",
            "lmtp_tls_security_level": "none",
            "smtpd_tls_security_level": "none",
            "biff": "no",
            "maillog_file": self.pf_log,
            "maillog_file_prefixes": self.base,
            "import_environment": "MAIL_CONFIG MAIL_DEBUG MAIL_LOGTAG TZ LANG=C",
            "message_size_limit": "52428800",
        }
        main_cf.update(self.main_cf_extra())
        (self.pf_config / "main.cf").write_text(
            "".join(f"{k} = {v}\n" for k, v in main_cf.items()))
        (self.pf_config / "master.cf").write_text(self.master_cf(f"127.0.0.1:{self.smtp_port}"))
        self.pf_log.touch()
        private = ("active", "bounce", "corrupt", "defer", "deferred", "flush", "hold",
                   "incoming", "private", "saved", "trace")
        layout = [(n, postfix_uid, 0, 0o700) for n in private]
        layout += [("maildrop", postfix_uid, postdrop_gid, 0o730),
                   ("public", postfix_uid, postdrop_gid, 0o710), ("pid", 0, 0, 0o755)]
        for name, uid, gid, mode in layout:
            d = self.pf_queue / name
            d.mkdir(exist_ok=True)
            os.chown(d, uid, gid)
            os.chmod(d, mode)
        self.postfix_cgroup = self.new_cgroup("postfix")
        env = {**os.environ, "MAIL_CONFIG": str(self.pf_config)}
        with open(self.base / "postfix.out", "wb") as out:
            result = subprocess.run(
                ["/usr/lib/postfix/sbin/master", "-c", str(self.pf_config), "-w"],
                stdout=out, stderr=out, stdin=subprocess.DEVNULL, env=env, timeout=30,
                preexec_fn=self.postfix_cgroup.preexec)
        if result.returncode != 0:
            raise RuntimeError(f"postfix master failed: {self.read(self.base / 'postfix.out')}\n"
                               f"{self.read(self.pf_log)}")

        def master():
            try:
                pid = int((self.pf_queue / "pid" / "master.pid").read_text().split()[0])
            except (OSError, ValueError, IndexError):
                return None
            return pid if pid_alive(pid) and greets(self.smtp_port) else None

        self.postfix_pid = wait_for(master, 20, "postfix smtpd")

    def master_cf(self, listen):
        return self.MASTER_CF.format(listen=listen)

    def main_cf_extra(self):
        return {}

    def stop(self):
        for attr in ("postfix_pid", "dovecot_pid"):
            pid = getattr(self, attr, None)
            if pid and pid_alive(pid):
                os.kill(pid, signal.SIGTERM)
                try:
                    wait_for(lambda: not pid_alive(pid), 20, f"{attr} exit")
                except RuntimeError:
                    os.kill(pid, signal.SIGKILL)
            setattr(self, attr, None)
        self.release_cgroups()

    @staticmethod
    def read(path):
        try:
            return Path(path).read_text(errors="replace")
        except OSError:
            return ""

    def _files(self):
        for sub in ("new", "cur"):
            with os.scandir(self.maildir / sub) as it:
                for entry in it:
                    if entry.is_file():
                        yield entry

    def delivered_count(self) -> int:
        return sum(1 for _ in self._files())

    def delivered_times(self, trace: dict) -> dict:
        # Dovecot writes the file in tmp/, fsyncs it and renames it into new/: the rename sets the
        # inode's ctime, which is when the message became visible in the mailbox.
        times = {}
        for entry in self._files():
            mid = message_id(Path(entry.path))
            if mid in trace:
                times[mid] = entry.stat().st_ctime_ns
        return times

    def settled(self) -> bool:
        deferred = self.pf_queue / "deferred"
        if deferred.exists() and any(p.is_file() for p in deferred.rglob("*")):
            raise RuntimeError("Postfix deferred a message (see maillog and dovecot.log):\n"
                               + "\n".join(self.read(self.pf_log).splitlines()[-5:]))
        for name in ("maildrop", "incoming", "active", "hold"):
            d = self.pf_queue / name
            if d.exists() and any(p.is_file() for p in d.rglob("*")):
                return False
        return True


def greets_lmtp(port):
    return greets(port)


# ---------------------------------------------------------------------------------------------
# Submission (workload smtp-submission): a signed test DNS and one peer MX shared by both systems

INTEGRATION = ROOT / "tests" / "integration"
PEER_DOMAIN = "peer.test"  # dnsfixture.standard_zones: MX mx.peer.test = 127.0.0.2 (signed)
PEER_ADDRESS = "127.0.0.2"
PEER_RECIPIENT = f"alice@{PEER_DOMAIN}"


class SubmissionEnv:
    """What the submission workload needs besides the system under test, started once per run:
    NSD serving the signed standard test zones (tests/integration/dnsfixture.py), a certificate
    (ECDSA P-256, self-signed, like Sovereign's quickstart one) for the TLS endpoints, and the
    peer: one private Postfix (tests/integration/postfix.py) listening on 127.0.0.2:<port> as
    the MX of peer.test, delivering every peer.test address into one Maildir (virtual(8)).
    The peer is not in any measured cgroup; both systems send to the same peer."""

    _instance = None

    @classmethod
    def get(cls, args, root: Path) -> "SubmissionEnv":
        if cls._instance is None:
            cls._instance = SubmissionEnv(root / "submission-env")
        return cls._instance

    @classmethod
    def close(cls):
        if cls._instance is not None:
            cls._instance.stop()
            cls._instance = None

    def __init__(self, base: Path):
        if str(INTEGRATION) not in sys.path:
            sys.path.insert(0, str(INTEGRATION))
        from dnsfixture import DnsFixture, standard_zones
        from postfix import Postfix

        self.base = base
        base.mkdir(parents=True)
        os.chmod(base, 0o755)
        self.cert, self.key = base / "cert.pem", base / "key.pem"
        run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
             "-nodes", "-days", "30", "-subj", "/CN=mail.example.test",
             "-addext", "subjectAltName=DNS:mail.example.test,DNS:mx.peer.test",
             "-keyout", self.key, "-out", self.cert])
        self.dns = DnsFixture(base / "dns")
        standard_zones(self.dns)
        self.dns.start()
        self.peer_port = free_port()
        self.boxes = base / "boxes"
        self.boxes.mkdir()
        nobody = pwd.getpwnam("nobody")
        os.chown(self.boxes, nobody.pw_uid, nobody.pw_gid)
        self.maildir = self.boxes / PEER_DOMAIN / "all"
        self.peer = Postfix(base / "peer", {}, listen=f"{PEER_ADDRESS}:{self.peer_port}",
                            tls=(self.cert, self.key), settings={
            "myhostname": "mx.peer.test",
            "relay_domains": "",
            "transport_maps": "",
            "virtual_mailbox_domains": PEER_DOMAIN,
            "virtual_mailbox_base": str(self.boxes),
            # virtual(8) allows no regexp substitution: one catch-all Maildir for the domain.
            "virtual_mailbox_maps": f"inline:{{ @{PEER_DOMAIN}={PEER_DOMAIN}/all/ }}",
            "virtual_uid_maps": f"static:{nobody.pw_uid}",
            "virtual_gid_maps": f"static:{nobody.pw_gid}",
            "virtual_mailbox_limit": "0",
            "virtual_destination_concurrency_limit": "20",
            # A sink must not throttle the senders it is measuring.
            "in_flow_delay": "0s",
            "smtpd_recipient_restrictions": "reject_unlisted_recipient, permit",
        })
        self.peer.start()

    def dns_config(self) -> str:
        """[dns] for Sovereign, as tests/integration/conftest.py dns_config(): forward to NSD,
        trust only the fixture's anchor for `test.`, let the RFC 6761 `test` zone through."""
        return ("[dns]\n"
                f'forwarders = ["{self.dns.forwarder}"]\n'
                'root_trust_anchor = ""\n'
                f'trust_anchors = ["{self.dns.trust_anchor_file}"]\n'
                'private_zones = ["test"]\n'
                'timeout = "5s"\n')

    def reset(self):
        """An empty peer mailbox for the next case (the old one is removed)."""
        if self.maildir.exists():
            gone = self.maildir.with_name(f"old-{time.monotonic_ns()}")
            self.maildir.rename(gone)
            shutil.rmtree(gone, ignore_errors=True)

    def _files(self):
        for sub in ("new", "cur"):
            try:
                with os.scandir(self.maildir / sub) as it:
                    for entry in it:
                        if entry.is_file():
                            yield entry
            except FileNotFoundError:
                pass

    def delivered_count(self) -> int:
        return sum(1 for _ in self._files())

    def log_offset(self) -> int:
        try:
            return self.peer.log_path.stat().st_size
        except OSError:
            return 0

    def sessions_since(self, offset: int) -> tuple[int, int]:
        """(SMTP sessions, of which with TLS) the peer logged after `offset` of its maillog."""
        with open(self.peer.log_path, "rb") as f:
            f.seek(offset)
            text = f.read()
        sessions = len(re.findall(rb"/smtpd\[\d+\]: connect from", text))
        tls = len(re.findall(rb"/smtpd\[\d+\]: \S+ TLS connection established", text))
        return sessions, tls

    def delivered(self, trace: dict) -> tuple[dict, int]:
        """({message-id: ctime_ns} of the traced messages in the peer Maildir, how many of them
        carry both an rsa-sha256 and an ed25519-sha256 DKIM-Signature for example.test)."""
        times, signed = {}, 0
        for entry in self._files():
            with open(entry.path, "rb") as f:
                head = f.read(16384).split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0]
            m = re.search(rb"(?im)^Message-ID:\s*<([^>]+)>", head)
            mid = m.group(1).decode() if m else None
            if mid not in trace or mid in times:
                continue
            # virtual(8) writes into tmp/, fsyncs and renames into new/: the ctime.
            times[mid] = entry.stat().st_ctime_ns
            sigs = re.findall(rb"(?im)^DKIM-Signature:((?:.*\n[ \t].*)*.*)", head)
            algos = {a for sig in sigs
                     if re.search(rb"d=\s*" + re.escape(DOMAIN.encode()) + rb"\s*;", sig)
                     for a in re.findall(rb"a=\s*([a-z0-9-]+)", sig)}
            if {b"rsa-sha256", b"ed25519-sha256"} <= algos:
                signed += 1
        return times, signed

    def stop(self):
        for part in ("peer", "dns"):
            try:
                getattr(self, part).stop()
            except Exception as e:  # noqa: BLE001 - cleanup goes on
                log(f"stopping {part}: {e}")


class PostfixOpendkim(PostfixDovecot):
    """Postfix as a submission server: smtpd on a submission port (STARTTLS required, SASL AUTH
    through a Dovecot auth-only instance), two OpenDKIM milters (one rsa-sha256 key, one
    ed25519-sha256 key: one OpenDKIM 2.11 instance cannot sign with both, its
    SignatureAlgorithm is global), the smtp client relaying to the peer over opportunistic
    TLS."""

    name = "postfix-opendkim"
    label = "Postfix+OpenDKIM"
    features = {"smtp-submission"}

    DOVECOT_AUTH_CONF = """\
# Private Dovecot, authentication only: Postfix's SASL backend (smtpd_sasl_type = dovecot).
instance_name = sovbench-auth-{tag}
base_dir = {base}/dovecot-run
state_dir = {base}/dovecot-state
protocols =
log_path = {base}/dovecot.log
info_log_path = {base}/dovecot.log
default_internal_user = dovecot
default_login_user = dovenull
auth_mechanisms = plain login
ssl = no
passdb {{
  driver = passwd-file
  args = {base}/dovecot-users
}}
userdb {{
  driver = static
  args = uid=nobody gid=nogroup home=/nonexistent
}}
service auth {{
  unix_listener auth-postfix {{
    mode = 0666
  }}
}}
"""

    OPENDKIM_CONF = """\
Syslog no
Mode s
Canonicalization relaxed/relaxed
SignatureAlgorithm {algorithm}
KeyTable file:{base}/keytable-{kind}
SigningTable refile:{base}/signingtable-{kind}
InternalHosts 127.0.0.1
PidFile {base}/opendkim-{kind}.pid
# The key is root-only in a root-only directory, but /var/tmp above it is world-writable,
# which OpenDKIM's path check refuses ("resource unavailable" for every message).
RequireSafeKeys no
"""

    def start(self):
        os.chmod(self.base, 0o755)
        self.env = SubmissionEnv.get(self.args, self.base.parent)
        self.lmtp_port = 0  # no LMTP here (main_cf_extra overrides the transport)
        self.start_dovecot_auth()
        self.start_opendkim()
        self.start_postfix()
        self.submission_port = self.smtp_port
        return self

    def start_dovecot_auth(self):
        (self.base / "dovecot-users").write_text(f"{RECIPIENT}:{{PLAIN}}bench password\n")
        conf = self.base / "dovecot.conf"
        conf.write_text(self.DOVECOT_AUTH_CONF.format(base=self.base, tag=os.getpid()))
        self.dovecot_cgroup = self.new_cgroup("dovecot")
        with open(self.base / "dovecot.out", "wb") as out:
            result = subprocess.run(["dovecot", "-c", str(conf)], stdout=out, stderr=out,
                                    stdin=subprocess.DEVNULL, timeout=30,
                                    preexec_fn=self.dovecot_cgroup.preexec)
        if result.returncode != 0:
            raise RuntimeError(f"dovecot failed: {self.read(self.base / 'dovecot.out')}"
                               f"{self.read(self.base / 'dovecot.log')}")
        self.auth_socket = self.base / "dovecot-run" / "auth-postfix"
        pid_file = self.base / "dovecot-run" / "master.pid"
        wait_for(lambda: self.auth_socket.exists() and pid_file.exists()
                 and pid_file.read_text().strip(), 20, "dovecot auth socket")
        self.dovecot_pid = int(pid_file.read_text())

    def start_opendkim(self):
        keys = self.base / "dkim-keys"  # root-owned 0700: OpenDKIM checks the key's path
        keys.mkdir(mode=0o700)
        self.opendkim = []
        self.opendkim_cgroup = self.new_cgroup("opendkim")
        self.milter_ports = []
        for kind, algorithm, genpkey in (
                ("rsa", "rsa-sha256", ["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"]),
                ("ed", "ed25519-sha256", ["-algorithm", "ed25519"])):
            key = keys / f"{kind}.key"
            run(["openssl", "genpkey", *genpkey, "-out", key])
            os.chmod(key, 0o600)
            (self.base / f"keytable-{kind}").write_text(
                f"{kind}._domainkey.{DOMAIN} {DOMAIN}:{kind}:{key}\n")
            (self.base / f"signingtable-{kind}").write_text(
                f"*@{DOMAIN} {kind}._domainkey.{DOMAIN}\n")
            conf = self.base / f"opendkim-{kind}.conf"
            conf.write_text(self.OPENDKIM_CONF.format(base=self.base, kind=kind,
                                                      algorithm=algorithm))
            port = free_port()
            out = open(self.base / f"opendkim-{kind}.out", "wb")
            self.opendkim.append(subprocess.Popen(
                ["opendkim", "-f", "-x", str(conf), "-p", f"inet:{port}@127.0.0.1"],
                stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                preexec_fn=self.opendkim_cgroup.preexec))
            out.close()
            self.milter_ports.append(port)

        def listening():
            for p in self.opendkim:
                if p.poll() is not None:
                    raise RuntimeError("opendkim exited: "
                                       + self.read(self.base / "opendkim-rsa.out")
                                       + self.read(self.base / "opendkim-ed.out"))
            for port in self.milter_ports:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                except OSError:
                    return False
            return True

        wait_for(listening, 20, "opendkim milters")

    def master_cf(self, listen):
        # The submission service (RFC 6409): TLS required before AUTH, AUTH required to relay.
        submission = (
            f"{listen} inet  n       -       n       -       -       smtpd\n"
            "  -o syslog_name=postfix/submission\n"
            "  -o smtpd_tls_security_level=encrypt\n"
            "  -o smtpd_sasl_auth_enable=yes\n"
            "  -o smtpd_tls_auth_only=yes\n"
            "  -o smtpd_client_restrictions=permit_sasl_authenticated,reject\n"
            "  -o smtpd_sender_restrictions=reject_sender_login_mismatch\n"
            "  -o smtpd_relay_restrictions=permit_sasl_authenticated,reject\n"
            "  -o smtpd_recipient_restrictions=permit_sasl_authenticated,reject\n"
            f"  -o smtpd_milters=inet:127.0.0.1:{self.milter_ports[0]},"
            f"inet:127.0.0.1:{self.milter_ports[1]}\n")
        rest = self.MASTER_CF.split("\n", 2)[2]  # the standard services, without smtpd
        return ("# service type  private unpriv  chroot  wakeup  maxproc command\n" + submission
                + rest + "tlsmgr    unix  -       -       n       1000?   1       tlsmgr\n")

    def main_cf_extra(self):
        env = self.env
        return {
            "myhostname": f"mail.{DOMAIN}",
            "mydomain": DOMAIN,
            "myorigin": DOMAIN,
            "mynetworks": "127.0.0.0/8",
            "virtual_mailbox_domains": "",
            "virtual_mailbox_maps": "",
            "virtual_transport": "virtual",
            # The peer is reached by IP literal (no DNS lookups in Postfix; Sovereign resolves
            # the MX through its validating resolver instead).
            "transport_maps": f"inline:{{ {PEER_DOMAIN}=smtp:[{PEER_ADDRESS}]:{env.peer_port} }}",
            "smtpd_tls_cert_file": env.cert,
            "smtpd_tls_key_file": env.key,
            "smtp_tls_security_level": "may",
            "smtpd_sasl_type": "dovecot",
            "smtpd_sasl_path": self.auth_socket,
            "smtpd_sender_login_maps": f"inline:{{ {RECIPIENT}={RECIPIENT} }}",
            "milter_default_action": "tempfail",
            "non_smtpd_milters": "",
        }

    def stop(self):
        for p in getattr(self, "opendkim", []):
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
        super().stop()

    def _files(self):
        return iter(())

    def delivered_count(self) -> int:
        raise NotImplementedError  # counted at the peer (SubmissionEnv)




SYSTEMS = {cls.name: cls for cls in (Sovereign, PostfixDovecot, PostfixOpendkim)}


def message_id(path: Path) -> str | None:
    try:
        with open(path, "rb") as f:
            head = f.read(8192)
    except OSError:
        return None
    m = re.search(rb"(?im)^Message-ID:\s*<([^>]+)>", head)
    return m.group(1).decode() if m else None


def merge_config(text: str, extra: str) -> str:
    """Sets the `key = value` lines of `extra` inside their [section]s of a TOML config (right
    after the section header; appends the section when it is missing). As in
    tests/integration/conftest.py."""
    section = None
    for line in extra.strip().splitlines():
        line = line.strip()
        if line.startswith("["):
            section = line
            continue
        pattern = re.compile(rf"(?m)^{re.escape(section)}\s*$")
        if pattern.search(text):
            text = pattern.sub(lambda m: m.group(0) + "\n" + line, text, count=1)
        else:
            text += f"\n{section}\n{line}\n"
    return text


def run(cmd, input=None):
    result = subprocess.run([str(c) for c in cmd], input=input, capture_output=True, text=True,
                            timeout=120)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(map(str, cmd))} failed:\n{result.stdout}{result.stderr}")
    return result


def git_revision() -> str:
    """The commit the measured tree is based on (+dirty when it has local changes); read only."""
    try:
        head = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
                              capture_output=True, text=True, timeout=10).stdout.strip()
        dirty = subprocess.run(
            ["git", "--no-optional-locks", "-C", str(ROOT), "status", "--porcelain", "--", "src"],
            capture_output=True, text=True, timeout=30).stdout.strip()
        return head + ("+dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def percentile(sorted_values, p):
    if not sorted_values:
        return 0.0
    return sorted_values[int(p / 100 * (len(sorted_values) - 1))]


# ---------------------------------------------------------------------------------------------
# Workloads

WORKLOADS = {}


def workload(cls):
    WORKLOADS[cls.name] = cls()
    return cls


@workload
class SmtpInbound:
    """Inbound mail over SMTP to one local mailbox, counted when accepted AND in the mailbox."""

    name = "smtp-inbound"
    description = "SMTP (MX, plaintext) -> one local mailbox; C connections back to back"
    baseline = "postfix-dovecot"

    def add_arguments(self, parser):
        parser.add_argument("--connections", default=None,
                            help="comma list (default 1,8,32; quick: 8,32)")
        parser.add_argument("--sizes", default=None,
                            help="comma list of message sizes in bytes (default 4096,102400)")
        parser.add_argument("--messages", type=int, default=None,
                            help="messages per case (default 4 KB: 5000, 100 KB: 2000; quick 300)")

    def cases(self, args):
        conns = args.connections or ("8,32" if args.quick else "1,8,32")
        sizes = args.sizes or ("4096" if args.quick else "4096,102400")
        conns = [int(c) for c in conns.split(",")]
        sizes = [int(s) for s in sizes.split(",")]
        for size in sizes:
            for c in conns:
                n = args.messages or (300 if args.quick else (5000 if size <= 16384 else 2000))
                yield {"connections": c, "size": size, "messages": n}

    @staticmethod
    def case_label(case):
        size = case["size"]
        size_text = f"{size // 1024} KB" if size % 1024 == 0 else f"{size} B"
        return f"{case['connections']} conn, {size_text}"

    def run(self, system, case, work_dir: Path, args) -> dict:
        tag = f"{system.name}.{case['connections']}.{case['size']}.{os.getpid()}"
        trace_path = work_dir / "trace.txt"
        with Measurement(system, work_dir) as m:
            children_before = resource.getrusage(resource.RUSAGE_CHILDREN)
            load = subprocess.run(
                [args.smtp_load, "--port", str(system.smtp_port),
                 "--connections", str(case["connections"]), "--messages", str(case["messages"]),
                 "--size", str(case["size"]), "--to", RECIPIENT, "--tag", tag,
                 "--trace", str(trace_path)],
                capture_output=True, text=True, timeout=3600)
            if load.returncode != 0 and not load.stdout.strip():
                raise RuntimeError(f"smtp_load failed: {load.stderr}")
            children_after = resource.getrusage(resource.RUSAGE_CHILDREN)
            client = json.loads(load.stdout)
            accepted = client["accepted"]
            # "In the mailbox": wait until every accepted message is there and nothing is
            # pending inside the system any more, then take the costs.
            wait_for(lambda: system.delivered_count() >= accepted and system.settled(),
                     args.settle_timeout, "delivery of all accepted messages", interval=0.01)
            costs = m.finish()
            # Sovereign's full-text index (IMAP SEARCH) is built by a background thread behind
            # the deliveries; Dovecot here builds none. Its CPU within the interval above is in
            # cpu_ms_per_msg; wait until it has caught up to report its whole cost as well.
            index_total_s = None
            if INDEX_THREAD in costs["cpu_by_thread"]:
                index_total_s = wait_until_thread_idle(m, INDEX_THREAD, args.settle_timeout)
        trace = {}
        for line in trace_path.read_text().splitlines():
            mid, sent, done = line.split()
            trace[mid] = (int(sent), int(done))
        times = system.delivered_times(trace)
        delivered = len(times)  # accepted (in the trace) AND found in the mailbox
        start_ns = client["start_unix_ns"]
        last_ns = max(times.values(), default=start_ns)
        span_s = max((last_ns - start_ns) / 1e9, 1e-9)
        e2e = sorted((t - trace[mid][0]) / 1e6 for mid, t in times.items())
        return {
            "accepted": accepted,
            "delivered": delivered,
            "rejected": client["rejected"],
            "io_errors": client["io_errors"],
            "msgs_per_s": delivered / span_s,
            "accept_per_s": client["accepted_per_s"],
            "span_s": span_s,
            "smtp_p50_ms": client["latency_ms"]["p50"],
            "smtp_p99_ms": client["latency_ms"]["p99"],
            "e2e_p50_ms": percentile(e2e, 50),
            "e2e_p99_ms": percentile(e2e, 99),
            "fsyncs_per_msg": costs["fsyncs"] / max(delivered, 1),
            "cpu_ms_per_msg": costs["cpu_s"] * 1000 / max(delivered, 1),
            **index_costs(costs, index_total_s, delivered),
            # The client's own CPU (smtp_load), to see that the load generator is not the limit.
            "client_cpu_ms_per_msg": 1000 / max(accepted, 1) * (
                children_after.ru_utime + children_after.ru_stime
                - children_before.ru_utime - children_before.ru_stime),
            **{k: v for k, v in costs.items()},
        }

    # Table columns: (key, header, format, higher_is_better)
    COLUMNS = [
        ("msgs_per_s", "msgs/s (e2e)", "{:.0f}", True),
        ("smtp_p50_ms", "p50 ms (250)", "{:.1f}", False),
        ("smtp_p99_ms", "p99 ms (250)", "{:.1f}", False),
        ("e2e_p50_ms", "p50 ms (mailbox)", "{:.1f}", False),
        ("e2e_p99_ms", "p99 ms (mailbox)", "{:.1f}", False),
        ("fsyncs_per_msg", "fsyncs/msg", "{:.2f}", False),
        ("cpu_ms_per_msg", "CPU ms/msg", "{:.2f}", False),
        ("delivery_cpu_ms_per_msg", "CPU ms/msg w/o search index", "{:.2f}", False),
        ("index_total_cpu_ms_per_msg", "search index CPU ms/msg (all)", "{:.2f}", False),
        ("peak_rss_kb", "peak RSS MB", "{:.1f}", False),
        ("peak_pss_kb", "peak PSS MB", "{:.1f}", False),
    ]


@workload
class SmtpSubmission(SmtpInbound):
    """Authenticated submission (STARTTLS + AUTH PLAIN) of mail for a remote domain: the system
    DKIM-signs it (rsa-sha256 and ed25519-sha256) and relays it to the peer MX (SubmissionEnv).
    Counted when accepted AND found in the peer's Maildir (by Message-ID)."""

    name = "smtp-submission"
    description = "submission (STARTTLS, AUTH) -> DKIM signing -> remote peer MX"
    baseline = "postfix-opendkim"

    def add_arguments(self, parser):
        # --connections, --sizes, --messages: shared with smtp-inbound.
        parser.add_argument("--sovereign-config", default="",
                            help="smtp-submission: extra TOML merged into Sovereign's config, "
                                 "e.g. '[queue]\\nmax_per_domain = 20' (a literal \\n "
                                 "separates lines)")

    def cases(self, args):
        conns = args.connections or "8,32"
        sizes = args.sizes or "4096"
        for size in (int(s) for s in sizes.split(",")):
            for c in (int(c) for c in conns.split(",")):
                yield {"connections": c, "size": size,
                       "messages": args.messages or (300 if args.quick else 500)}

    def run(self, system, case, work_dir: Path, args) -> dict:
        env = SubmissionEnv.get(args, work_dir.parent)
        env.reset()
        peer_log = env.log_offset()
        tag = f"{system.name}.{case['connections']}.{case['size']}.{os.getpid()}"
        trace_path = work_dir / "trace.txt"
        with Measurement(system, work_dir) as m:
            children_before = resource.getrusage(resource.RUSAGE_CHILDREN)
            load = subprocess.run(
                [args.smtp_load, "--port", str(system.submission_port), "--starttls",
                 "--auth", f"{RECIPIENT}:bench password",
                 "--connections", str(case["connections"]), "--messages", str(case["messages"]),
                 "--size", str(case["size"]), "--from", RECIPIENT, "--to", PEER_RECIPIENT,
                 "--tag", tag, "--trace", str(trace_path)],
                capture_output=True, text=True, timeout=3600)
            if load.returncode != 0 and not load.stdout.strip():
                raise RuntimeError(f"smtp_load failed: {load.stderr}")
            children_after = resource.getrusage(resource.RUSAGE_CHILDREN)
            client = json.loads(load.stdout)
            accepted = client["accepted"]
            # "Arrived": every accepted message is in the peer's Maildir and nothing is pending
            # in the system any more (Postfix: queue empty; a deferral aborts the run).
            wait_for(lambda: env.delivered_count() >= accepted and system.settled(),
                     args.settle_timeout, "delivery of all accepted messages to the peer",
                     interval=0.01)
            costs = m.finish()
        trace = {}
        for line in trace_path.read_text().splitlines():
            mid, sent, done = line.split()
            trace[mid] = (int(sent), int(done))
        times, signed = env.delivered(trace)
        # How the system talks to the peer: sessions (and TLS sessions) per delivered message.
        peer_sessions, peer_tls = env.sessions_since(peer_log)
        delivered = len(times)  # accepted (in the trace) AND found at the peer
        start_ns = client["start_unix_ns"]
        last_ns = max(times.values(), default=start_ns)
        span_s = max((last_ns - start_ns) / 1e9, 1e-9)
        e2e = sorted((t - trace[mid][0]) / 1e6 for mid, t in times.items())
        return {
            "accepted": accepted,
            "delivered": delivered,
            "dkim_signed": signed,
            "peer_sessions": peer_sessions,
            "peer_tls_sessions": peer_tls,
            "peer_sessions_per_msg": peer_sessions / max(delivered, 1),
            "signed_fraction": signed / max(delivered, 1),
            "rejected": client["rejected"],
            "io_errors": client["io_errors"],
            "msgs_per_s": delivered / span_s,
            "accept_per_s": client["accepted_per_s"],
            "span_s": span_s,
            "smtp_p50_ms": client["latency_ms"]["p50"],
            "smtp_p99_ms": client["latency_ms"]["p99"],
            "e2e_p50_ms": percentile(e2e, 50),
            "e2e_p99_ms": percentile(e2e, 99),
            "fsyncs_per_msg": costs["fsyncs"] / max(delivered, 1),
            "cpu_ms_per_msg": costs["cpu_s"] * 1000 / max(delivered, 1),
            "client_cpu_ms_per_msg": 1000 / max(accepted, 1) * (
                children_after.ru_utime + children_after.ru_stime
                - children_before.ru_utime - children_before.ru_stime),
            **{k: v for k, v in costs.items()},
        }

    COLUMNS = [
        ("msgs_per_s", "msgs/s (e2e)", "{:.0f}", True),
        ("smtp_p50_ms", "p50 ms (250)", "{:.1f}", False),
        ("smtp_p99_ms", "p99 ms (250)", "{:.1f}", False),
        ("e2e_p50_ms", "p50 ms (at peer)", "{:.1f}", False),
        ("e2e_p99_ms", "p99 ms (at peer)", "{:.1f}", False),
        ("signed_fraction", "DKIM rsa+ed25519", "{:.0%}", True),
        ("peer_sessions_per_msg", "peer sessions/msg", "{:.2f}", False),
        ("cpu_ms_per_msg", "CPU ms/msg", "{:.2f}", False),
        ("fsyncs_per_msg", "fsyncs/msg (incl. peer)", "{:.2f}", False),
        ("peak_rss_kb", "peak RSS MB", "{:.1f}", False),
        ("peak_pss_kb", "peak PSS MB", "{:.1f}", False),
    ]


# ---------------------------------------------------------------------------------------------
# Driver


def fmt_value(key, fmt, value):
    if value is None:
        return "-"  # not measured for this system (e.g. its search index: it has none)
    if key in ("peak_rss_kb", "peak_pss_kb"):
        value = value / 1024
    return fmt.format(value)


def markdown(workload, results, systems):
    cols = workload.COLUMNS
    lines = ["| case | system | delivered | " + " | ".join(c[1] for c in cols) + " |",
             "|---|---|---|" + "---|" * len(cols)]
    for entry in results:
        by_system = entry["systems"]
        for name in systems:
            r = by_system.get(name)
            if r is None:
                continue
            cells = [fmt_value(k, f, r.get(k)) for k, _, f, _ in cols]
            lines.append(f"| {entry['label']} | {SYSTEMS[name].label} | "
                         f"{r['delivered']}/{r['accepted']} | " + " | ".join(cells) + " |")
        baseline = workload.baseline
        base = by_system.get(baseline)
        for name in systems:
            r = by_system.get(name)
            if name == baseline or r is None or base is None:
                continue
            cells = []
            for k, _, _, _ in cols:
                cells.append(ratio_text(r.get(k), base.get(k)))
            lines.append(f"| {entry['label']} | **ratio** {SYSTEMS[name].label} / "
                         f"{SYSTEMS[baseline].label} | | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def median_result(runs: list[dict]) -> dict:
    """Per numeric key the median over repeated runs (upper median for an even count);
    other values from the first run."""
    out = dict(runs[0])
    for key, value in runs[0].items():
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            values = sorted(r[key] for r in runs)
            out[key] = values[len(values) // 2]
    return out


def ratio_text(value, base):
    if not base or value is None:
        return "-"
    r = value / base
    return f"{r:.2f}x" if r >= 0.1 else f"{r:.3f}x"


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workload", default="smtp-inbound", choices=sorted(WORKLOADS))
    parser.add_argument("--systems", default=None,
                        help=f"comma list of {', '.join(SYSTEMS)} (default: those that serve "
                             "the workload)")
    parser.add_argument("--quick", action="store_true", help="smoke run: few cases, few messages")
    build = ROOT / "build" / "bench"
    parser.add_argument("--sovereign", default=str(build / "src" / "cli" / "sovereign"))
    parser.add_argument("--smtp-load", default=str(build / "bench" / "smtp_load"))
    parser.add_argument("--settle-timeout", type=float, default=300,
                        help="seconds to wait for accepted messages to reach the mailbox")
    parser.add_argument("--repeat", type=int, default=1,
                        help="runs per case and system; the table shows medians")
    parser.add_argument("--out", help="write all results as JSON here")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    for w in WORKLOADS.values():
        w.add_arguments(parser)
    args = parser.parse_args()

    if os.geteuid() != 0:
        sys.exit("bench/run.py needs root (cgroups, perf, Postfix master)")
    for binary in (args.sovereign, args.smtp_load):
        if not os.access(binary, os.X_OK):
            sys.exit(f"{binary} missing: ninja -C build/bench sovereign smtp_load")
    wl = WORKLOADS[args.workload]
    systems = ([s for s in args.systems.split(",") if s] if args.systems else
               [n for n, cls in SYSTEMS.items() if wl.name in cls.features])
    for s in systems:
        if s not in SYSTEMS or wl.name not in SYSTEMS[s].features:
            sys.exit(f"system {s} unknown or without workload {wl.name}")

    root = Path(tempfile.mkdtemp(prefix="sovbench-", dir="/var/tmp"))
    os.chmod(root, 0o755)
    started: list[System] = []

    def on_signal(signum, _frame):
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, on_signal)
    results = []
    interrupted = False
    began = datetime.datetime.now().astimezone()
    try:
        for i, case in enumerate(wl.cases(args)):
            entry = {"case": case, "label": wl.case_label(case), "systems": {}, "runs": {}}
            results.append(entry)
            for rep in range(args.repeat):
                order = systems if (i + rep) % 2 == 0 else list(reversed(systems))
                for name in order:
                    work = root / f"case{i}-{rep}-{name}"
                    work.mkdir()
                    system = SYSTEMS[name](work, args)
                    started.append(system)
                    try:
                        system.start()
                        log(f"{entry['label']}: {system.label} ...")
                        r = wl.run(system, case, work, args)
                    finally:
                        system.stop()
                        started.remove(system)
                        if not args.keep:
                            shutil.rmtree(work, ignore_errors=True)
                    entry["runs"].setdefault(name, []).append(r)
                    entry["systems"][name] = median_result(entry["runs"][name])
                    log(f"  {system.label}: {r['delivered']}/{r['accepted']} delivered, "
                        f"{r['msgs_per_s']:.0f} msgs/s, p99 {r['smtp_p99_ms']:.1f} ms, "
                        f"{r['cpu_ms_per_msg']:.2f} ms CPU/msg, "
                        f"{r['fsyncs_per_msg']:.2f} fsyncs/msg, "
                        f"RSS {r['peak_rss_kb'] / 1024:.1f} MB")
    except KeyboardInterrupt as e:
        log(f"interrupted ({e or 'SIGINT'})")
        interrupted = True
    finally:
        for system in started:
            system.stop()
        SubmissionEnv.close()
        try:
            Path(f"/sys/fs/cgroup/cpuacct/{CGROUP_PARENT}").rmdir()
            Path(f"/sys/fs/cgroup/memory/{CGROUP_PARENT}").rmdir()
        except OSError:
            pass  # another run's groups, or not empty
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)
        else:
            log(f"kept {root}")

    load = os.getloadavg()
    report = {
        "date": began.isoformat(timespec="seconds"),
        "workload": wl.name,
        "command": " ".join(sys.argv),
        # The tree as it is now; the binary may be older (run.sh does not rebuild).
        "revision": git_revision(),
        "sovereign_built": datetime.datetime.fromtimestamp(
            os.stat(args.sovereign).st_mtime).astimezone().isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "kernel": os.uname().release,
                    "loadavg_at_end": load},
        "results": results,
    }
    if args.out:
        Path(args.out).write_text(json.dumps(report, indent=2))
    print(f"\n{wl.name}, {began:%Y-%m-%d %H:%M %Z}, tree {report['revision']}, "
          f"sovereign built {report['sovereign_built']}, "
          f"{os.cpu_count()} CPUs, "
          f"load average at end {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f}\n")
    print(markdown(wl, results, systems))
    if interrupted:
        sys.exit(130)


if __name__ == "__main__":
    main()
