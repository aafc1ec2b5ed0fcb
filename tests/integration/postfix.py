"""A private Postfix instance for integration tests.

Debian's postfix package is installed but its system instance is not used: each test gets its own
configuration directory, queue and log under a temporary directory, and `postfix -c <dir>` runs a
separate master(8) that listens on 127.0.0.1 only (or on the loopback addresses given as
`listen`, e.g. 127.0.0.2:25 as the MX of a domain of the DNS fixture). Nothing needs DNS: every
next hop is an IP literal (`[127.0.0.1]:port`) or an `inet:` LMTP endpoint, and DNS lookups are
disabled.

Needs root (master(8) drops privileges to mail_owner=postfix), which is how the tests run.
"""
import os
import signal
import socket
import subprocess
import time
from pathlib import Path

POSTFIX = "/usr/sbin/postfix"
POSTCONF = "/usr/sbin/postconf"
DAEMON_DIR = "/usr/lib/postfix/sbin"

# Only the services a relay needs; nothing is chrooted (the chroot would need copies of
# /etc/services, resolv.conf, ... inside the temporary queue directory).
MASTER_CF = """\
# service type  private unpriv  chroot  wakeup  maxproc command
{port}     inet  n       -       n       -       -       smtpd
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
proxywrite unix -       -       n       -       1       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
lmtp      unix  -       -       n       -       -       lmtp
virtual   unix  -       n       n       -       -       virtual
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
postlog   unix-dgram n  -       n       -       1       postlogd
"""


def free_port() -> int:
    """A port that was free a moment ago (the kernel picks it; Postfix binds it itself)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie counts as gone: master's parent (postfix-script) does not reap it for us.
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        return stat.rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


class Postfix:
    """One private Postfix instance: `Postfix(tmp_dir, transport={...}).start()` ... `.stop()`.

    transport: maps a recipient domain to a Postfix transport, e.g.
      {"example.test": "smtp:[127.0.0.1]:10025"} or {"example.test": "lmtp:inet:127.0.0.1:10024"}
    settings: extra main.cf parameters (override the defaults below).
    listen: where smtpd listens, "host:port" or a list of them (e.g. "127.0.0.2:25" to play
      the MX of a test domain); default: 127.0.0.1 on a free port. `host`/`port` are the first.
    tls: (cert_file, key_file) for smtpd: STARTTLS is offered (smtpd_tls_security_level=may).
      Files are read by smtpd before it drops privileges, so they may stay root-only.
    """

    def __init__(self, base: Path, transport: dict, settings: dict | None = None,
                 listen: str | list[str] | None = None, tls: tuple[Path, Path] | None = None):
        self.base = Path(base)
        self.config_dir = self.base / "etc"
        self.queue_dir = self.base / "queue"
        self.data_dir = self.base / "lib"
        self.log_path = self.base / "maillog"
        if listen is None:
            self.listen = [("127.0.0.1", free_port())]
        else:
            self.listen = [_host_port(a) for a in ([listen] if isinstance(listen, str) else listen)]
        self.host, self.port = self.listen[0]
        self.tls = tls
        self.transport = transport
        self.settings = settings or {}
        self.master_pid = None

    # ------------------------------------------------------------------ configuration
    def main_cf(self) -> dict:
        transport_map = ", ".join(f"{domain}={t}" for domain, t in self.transport.items())
        cf = {
            "compatibility_level": "3.6",
            "queue_directory": str(self.queue_dir),
            "data_directory": str(self.data_dir),
            "mail_owner": "postfix",
            "setgid_group": "postdrop",
            "inet_interfaces": "127.0.0.1",
            "inet_protocols": "ipv4",
            "myhostname": "relay.postfix.test",
            "mydomain": "postfix.test",
            "myorigin": "$myhostname",
            # Nothing is delivered locally: every domain goes through transport_maps.
            "mydestination": "",
            "local_recipient_maps": "",
            "local_transport": "error:5.1.1 no local delivery in this test instance",
            "alias_maps": "",
            "alias_database": "",
            "mynetworks": "127.0.0.0/8",
            "relay_domains": ", ".join(self.transport),
            "transport_maps": f"inline:{{ {transport_map} }}",
            "smtpd_relay_restrictions": "permit_mynetworks, reject_unauth_destination",
            # No DNS anywhere: next hops are IP literals or inet: endpoints.
            "smtp_dns_support_level": "disabled",
            "lmtp_dns_support_level": "disabled",
            "smtp_host_lookup": "native",
            "lmtp_host_lookup": "native",
            "smtpd_peername_lookup": "no",
            # Our MX offers STARTTLS: the relay uses it opportunistically, like a real MTA.
            "smtp_tls_security_level": "may",
            "smtp_tls_loglevel": "1",
            "lmtp_tls_security_level": "none",
            # A deferred message is retried soon, so a transient failure shows up within a test.
            "queue_run_delay": "1s",
            "minimal_backoff_time": "1s",
            "maximal_backoff_time": "2s",
            "delay_warning_time": "0",
            "maillog_file": str(self.log_path),
            "maillog_file_prefixes": str(self.base),
            "maillog_file_permissions": "0644",
            "import_environment": "MAIL_CONFIG MAIL_DEBUG MAIL_LOGTAG TZ LANG=C",
            "biff": "no",
            "smtputf8_enable": "yes",
            "message_size_limit": "52428800",
            "default_destination_concurrency_limit": "4",
        }
        if self.tls:
            cf.update({
                "smtpd_tls_cert_file": str(self.tls[0]),
                "smtpd_tls_key_file": str(self.tls[1]),
                "smtpd_tls_security_level": "may",
                "smtpd_tls_loglevel": "1",
            })
        cf.update(self.settings)
        return cf

    def write_config(self):
        for d in (self.config_dir, self.queue_dir, self.data_dir):
            d.mkdir(parents=True, exist_ok=True)
        # Postfix wants its queue and the path to it root-owned and not group/world writable.
        os.chmod(self.base, 0o755)
        os.chown(self.data_dir, _uid("postfix"), _gid("postfix"))
        lines = [f"{k} = {v}" for k, v in self.main_cf().items()]
        (self.config_dir / "main.cf").write_text("\n".join(lines) + "\n")
        # An explicit host in master.cf is bound as given; inet_interfaces stays 127.0.0.1,
        # because Postfix rejects there an address (127.0.0.2) that no interface carries.
        master_cf = MASTER_CF.format(port=f"{self.listen[0][0]}:{self.listen[0][1]}")
        extra = "".join(
            f"{host}:{port} inet  n       -       n       -       -       smtpd\n"
            for host, port in self.listen[1:]
        )
        (self.config_dir / "master.cf").write_text(master_cf + extra)
        self.log_path.touch()
        # Postfix re-reads a main.cf modified in the last seconds until it stops changing (a
        # guard against half-written files): date the files back so it starts at once.
        past = time.time() - 60
        for name in ("main.cf", "master.cf"):
            os.utime(self.config_dir / name, (past, past))

    # ------------------------------------------------------------------ life cycle
    def _postfix(self, *args, check=True, timeout=60):
        result = subprocess.run(
            [POSTFIX, "-c", str(self.config_dir), *args],
            capture_output=True, text=True, timeout=timeout,
            env={**os.environ, "MAIL_CONFIG": str(self.config_dir)},
        )
        if check and result.returncode != 0:
            # Before postlogd runs, the postfix command reports errors to syslog (absent in a
            # container) or to a terminal: rerun under script(1) to see the reason.
            again = subprocess.run(
                ["script", "-qec", f"{POSTFIX} -c {self.config_dir} {' '.join(args)}", "/dev/null"],
                capture_output=True, text=True, timeout=timeout,
            )
            raise AssertionError(
                f"postfix {' '.join(args)} failed ({result.returncode}):\n"
                f"{result.stdout}{result.stderr}{again.stdout}\n--- maillog\n{self.log_text()}"
            )
        return result

    def start(self, timeout=20):
        # Daemons drop to mail_owner and chdir into the queue: every ancestor must be
        # traversable by the postfix user (pytest's base temporary directory is 0700).
        for parent in self.base.parents:
            if parent == Path("/"):
                break
            mode = parent.stat().st_mode & 0o777
            if mode & 0o011 != 0o011:
                os.chmod(parent, mode | 0o011)
        self.write_config()
        # postfix-script: sanity checks, creates the missing queue directories with Postfix's
        # owners and modes (post-install create-missing), then runs `master -w`.
        self._postfix("start")
        pid_file = self.queue_dir / "pid" / "master.pid"
        deadline = time.monotonic() + timeout
        while True:
            try:
                pid = int(pid_file.read_text().split()[0])
            except (OSError, ValueError, IndexError):
                pid = None
            if pid and _pid_alive(pid) and all(self._listening(a) for a in self.listen):
                self.master_pid = pid
                return self
            if time.monotonic() > deadline:
                raise AssertionError(f"postfix did not come up:\n{self.log_text()}")
            time.sleep(0.05)

    def _listening(self, address=None) -> bool:
        try:
            with socket.create_connection(address or (self.host, self.port), timeout=2) as s:
                s.settimeout(5)
                return s.recv(512).startswith(b"220")
        except OSError:
            return False

    def stop(self, timeout=20):
        if self.master_pid is None:
            return
        self._postfix("stop", check=False)
        deadline = time.monotonic() + timeout
        while _pid_alive(self.master_pid):
            if time.monotonic() > deadline:
                os.kill(self.master_pid, signal.SIGKILL)
                break
            time.sleep(0.05)
        self.master_pid = None

    # ------------------------------------------------------------------ observation
    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return "(no maillog)"

    def queue_is_empty(self) -> bool:
        """True when no message is waiting in any queue (incoming, active, deferred, hold)."""
        for name in ("maildrop", "incoming", "active", "deferred", "hold"):
            d = self.queue_dir / name
            if d.exists() and any(p.is_file() for p in d.rglob("*")):
                return False
        return True


def _host_port(address: str) -> tuple[str, int]:
    host, _, port = address.rpartition(":")
    return host.strip("[]"), int(port)


def _uid(user: str) -> int:
    import pwd

    return pwd.getpwnam(user).pw_uid


def _gid(group: str) -> int:
    import grp

    return grp.getgrnam(group).gr_gid
