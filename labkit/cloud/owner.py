"""A cloud that ends with its owner. A student's cloud outlives a restarted kernel on purpose (it is
detached); a cloud that a test run or a grader starts for itself should not outlive that process when
it is killed midway (a CI timeout, a SIGKILL), or its containers and port stay behind.

`start_cloud(..., owner=PID)` passes the owner in `LABKIT_CLOUD_OWNER_PID`; the cloud's server calls
`watch_from_environment(leave)`, which calls `leave()` once that process is gone. A pidfd (Linux 5.3+)
says so at once and cannot be fooled by a reused pid; elsewhere the pid is polled.
"""
from __future__ import annotations

import os
import select
import threading
import time
from typing import Callable

ENV = "LABKIT_CLOUD_OWNER_PID"
POLL_S = 1.0


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _wait_for_exit(pid: int) -> None:
    try:
        fd = os.pidfd_open(pid)
    except (AttributeError, OSError):
        fd = None
    if fd is not None:
        try:
            select.select([fd], [], [])   # readable once the process has exited
        finally:
            os.close(fd)
        return
    while _alive(pid):
        time.sleep(POLL_S)


def watch(pid: int, leave: Callable[[], None]) -> threading.Thread:
    """Call `leave()` (in a daemon thread) when process `pid` ends; at once if it is already gone."""
    def run():
        _wait_for_exit(pid)
        leave()
    thread = threading.Thread(target=run, name=f"owner-{pid}", daemon=True)
    thread.start()
    return thread


def watch_from_environment(leave: Callable[[], None], environ=os.environ) -> threading.Thread | None:
    """Watch the owner named in LABKIT_CLOUD_OWNER_PID (popped: the cloud's children do not inherit it)."""
    value = environ.pop(ENV, "")
    if not value.isdigit() or int(value) <= 1:
        return None
    return watch(int(value), leave)
