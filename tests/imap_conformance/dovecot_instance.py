#!/usr/bin/python3
"""A private Dovecot IMAP server on loopback, for conformance runs, comparisons and benchmarks.

Everything lives in one temporary directory: its own base_dir (sockets, master.pid), state_dir,
log file, passwd-file passdb/userdb with fixed test users, and a Maildir per user. The system's
Dovecot configuration and services are not touched: the master is started with `dovecot -c` on a
generated config, listens only on 127.0.0.1:<port> with plaintext IMAP (`ssl = no`,
`disable_plaintext_auth = no`), and is stopped with `dovecot -c <config> stop`.

Importable:
    with DovecotInstance(port=0) as dc:        # port 0: pick a free loopback port
        dc.port, dc.users                       # [("testuser", "pass"), ("testuser2", "pass2")]

Runnable (stops on Ctrl-C / SIGTERM):
    python3 dovecot_instance.py --port 10143
    -> prints "port=10143 user=testuser password=pass ..." and keeps running.

Needs Debian's dovecot-core and dovecot-imapd (`apt-get install -y dovecot-core dovecot-imapd`).
"""
import argparse
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

DOVECOT = shutil.which("dovecot") or "/usr/sbin/dovecot"
DEFAULT_USERS = (("testuser", "pass"), ("testuser2", "pass2"))


def free_port(host="127.0.0.1"):
    """A currently unused TCP port (the usual bind-to-0 probe; Dovecot itself needs a number)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def _wait(condition, timeout, what):
    deadline = time.monotonic() + timeout
    delay = 0.005
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(delay)
        delay = min(delay * 2, 0.1)


class DovecotInstance:
    """A running private Dovecot. start() / stop(), or use as a context manager."""

    def __init__(self, port=0, users=DEFAULT_USERS, host="127.0.0.1", extra_config="",
                 urlauth=False):
        self.host = host
        self.urlauth = urlauth
        self.port = port or free_port(host)
        self.users = list(users)
        self.extra_config = extra_config
        self.root = None
        self.pid = None

    # --- lifecycle
    def start(self):
        # Dovecot refuses mail access as root: the mail user is then `nobody`, and its files must
        # be reachable, hence a world-traversable root directory.
        self.root = Path(tempfile.mkdtemp(prefix="sov-dovecot-imap-"))
        self.root.chmod(0o755)
        if os.getuid() == 0:
            nobody = pwd.getpwnam("nobody")
            self.uid, self.gid = nobody.pw_uid, nobody.pw_gid
            internal_user = "dovecot"
        else:
            self.uid, self.gid = os.getuid(), os.getgid()
            internal_user = pwd.getpwuid(os.getuid()).pw_name
        for name in ("run", "state"):
            (self.root / name).mkdir()
        self._mkdir_owned("mail")
        lines = []
        for user, password in self.users:
            home = self._mkdir_owned(f"mail/{user}")
            lines.append(f"{user}:{{PLAIN}}{password}:{self.uid}:{self.gid}::{home}::\n")
        (self.root / "passwd").write_text("".join(lines))
        self.conf = self.root / "dovecot.conf"
        self.conf.write_text(self._config(internal_user))
        try:
            # The master daemonizes and keeps its stdio: collect errors through a file, not a pipe.
            errors = self.root / "start.err"
            with open(errors, "wb") as err:
                code = subprocess.run([DOVECOT, "-c", str(self.conf)], stdin=subprocess.DEVNULL,
                                      stdout=subprocess.DEVNULL, stderr=err, timeout=30).returncode
            if code != 0:
                raise RuntimeError(f"dovecot failed to start: {errors.read_text().strip()}")
            self.pid = int(_wait(self._read_pid, 20, "dovecot master.pid"))
            _wait(self._accepts, 20, f"dovecot listening on {self.host}:{self.port}")
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self):
        if self.root is None:
            return
        try:
            if self.pid is None:
                self.pid = self._read_pid() and int(self._read_pid())
            if self.pid is not None:
                subprocess.run([DOVECOT, "-c", str(self.conf), "stop"], stdin=subprocess.DEVNULL,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=30)
                try:
                    _wait(self._gone, 20, "dovecot to stop")
                except RuntimeError:
                    os.kill(self.pid, signal.SIGKILL)
        finally:
            shutil.rmtree(self.root, ignore_errors=True)
            self.root = None
            self.pid = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # --- helpers
    @property
    def log_path(self):
        return self.root / "dovecot.log"

    def _config(self, internal_user):
        root = self.root
        return f"""
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
protocols = imap
listen = {self.host}
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain
mail_location = maildir:~/Maildir
mail_uid = {self.uid}
mail_gid = {self.gid}
first_valid_uid = {min(self.uid, 500)}
first_valid_gid = {min(self.gid, 500)}
default_internal_user = {internal_user}
# NOTIFY needs the mailbox list index; the notify plugin feeds it.
mailbox_list_index = yes
mail_plugins = $mail_plugins notify
passdb {{
  driver = passwd-file
  args = {root}/passwd
}}
userdb {{
  driver = passwd-file
  args = {root}/passwd
}}
namespace inbox {{
  inbox = yes
  separator = /
}}
service imap-login {{
  inet_listener imap {{
    address = {self.host}
    port = {self.port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
{self._urlauth_config() if self.urlauth else ""}
{self.extra_config}
"""

    def _urlauth_config(self):
        # URLAUTH (RFC 4467): Dovecot offers it with a URL host and a dict for the access keys;
        # the imap-urlauth services' sockets live in base_dir.
        return f"""
imap_urlauth_host = {self.host}
mail_attribute_dict = file:~/dovecot-attributes
"""

    def _mkdir_owned(self, name):
        path = self.root / name
        path.mkdir(parents=True, exist_ok=True)
        os.chown(path, self.uid, self.gid)
        return path

    def _read_pid(self):
        try:
            return (self.root / "run" / "master.pid").read_text().strip() or None
        except FileNotFoundError:
            return None

    def _accepts(self):
        try:
            with socket.create_connection((self.host, self.port), timeout=1) as s:
                return s.recv(1).startswith(b"*")
        except OSError:
            return False

    def _gone(self):
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return True
        return False


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=0, help="loopback port (0: pick a free one)")
    parser.add_argument("--urlauth", action="store_true", help="also offer URLAUTH (RFC 4467)")
    args = parser.parse_args(argv)

    def interrupted(*_):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupted)
    instance = DovecotInstance(port=args.port, urlauth=args.urlauth).start()
    try:
        creds = " ".join(f"user{i + 1 if i else ''}={u} password{i + 1 if i else ''}={p}"
                         for i, (u, p) in enumerate(instance.users))
        print(f"port={instance.port} host={instance.host} {creds} log={instance.log_path}",
              flush=True)
        while True:
            signal.pause()
    except KeyboardInterrupt:
        pass
    finally:
        instance.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
