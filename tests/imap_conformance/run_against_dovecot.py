#!/usr/bin/python3
"""Runs the imaptest scripts against a private Dovecot (dovecot_instance.py), e.g. to validate the
runner or to compare with Sovereign. Arguments go to imaptest_runner.py; no skip list is applied
unless given (--skips FILE).

    tests/imap_conformance/run_against_dovecot.py [-v] [--transcripts DIR] [SCRIPT ...]
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import imaptest_runner  # noqa: E402
from dovecot_instance import DovecotInstance  # noqa: E402


def main(argv):
    with DovecotInstance(urlauth=True) as dovecot:
        (user, password), (user2, password2) = dovecot.users[:2]
        return imaptest_runner.main(
            ["--port", str(dovecot.port), "--user", user, "--password", password,
             "--user2", user2, "--password2", password2, "--skips", ""] + argv)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
