"""Waiting for a condition instead of sleeping for a fixed time (shared by conftest.py and
dnsfixture.py, which also runs on its own without pytest)."""
import time


def wait_for(condition, timeout=10.0, what="condition"):
    """Polls `condition` until it returns a truthy value or `timeout` seconds pass."""
    deadline = time.monotonic() + timeout
    delay = 0.005
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(delay)
        delay = min(delay * 2, 0.1)
