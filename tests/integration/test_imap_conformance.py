"""Dovecot's imaptest scripts (tests/conformance/imap/dovecot-imaptest) against our IMAP server,
through our runner (tests/imap_conformance/imaptest_runner.py). Scripts needing a capability we
do not advertise are skipped by the runner with the RFC that defines it; tests/imap_conformance/
skips.txt lists the others, each with its reason."""
import subprocess
import sys
from pathlib import Path

from conftest import ADMIN, PASSWORD, run_cli

ROOT = Path(__file__).resolve().parents[2]
RUNNER = ROOT / "tests" / "imap_conformance" / "imaptest_runner.py"
SECOND_USER = "imaptest2@example.test"


def test_imaptest_scripts_pass(server):
    run_cli(server.data_dir, "user", "add", SECOND_USER, stdin=PASSWORD + "\n")
    result = subprocess.run(
        [sys.executable, str(RUNNER), "--host", "127.0.0.1", "--port", str(server.ports["imap"]),
         "--starttls", "--user", ADMIN, "--password", PASSWORD,
         "--user2", SECOND_USER, "--password2", PASSWORD],
        capture_output=True, text=True, timeout=600,
    )
    summary = result.stdout.strip().splitlines()[-1] if result.stdout.strip() else ""
    failures = [line for line in result.stdout.splitlines() if line.startswith("FAIL")]
    assert result.returncode == 0 and not failures, "\n".join(failures) or result.stderr
    assert summary.startswith("#") and " 0 fail" in summary, summary
