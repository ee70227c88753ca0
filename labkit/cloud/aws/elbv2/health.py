"""The ALB's health checks: one thread per cloud (started on the first registration) sends each
registered target of a target group that a listener uses an HTTP GET on its HealthCheckPath and
HealthCheckPort every HealthCheckIntervalSeconds, and moves it between the states of the API
reference as the Application Load Balancer guide says ("Health checks for target groups"):

- a new target is `initial` (Elb.RegistrationInProgress until its first check ends, then
  Elb.InitialHealthChecking); it must pass one check to be `healthy` (while its port refuses, it is
  probed again between checks, uncounted: timescale.py);
- UnhealthyThresholdCount failures in a row make a target `unhealthy` (reason of the last failure:
  Target.ResponseCodeMismatch, Target.Timeout or Target.FailedHealthChecks), HealthyThresholdCount
  passes in a row make it `healthy` again;
- a target of a target group no listener uses is `unused` (Target.NotInUse) and is not checked;
  with health checks disabled it is `unavailable` (Target.HealthCheckDisabled).

Times are compressed (timescale.py). Checks go only to loopback addresses: nothing leaves
127.0.0.1, so a target anywhere else (an EC2 instance moto invented, a 10.x address) times out.
The thread ends when CloudState.reset() drops the data plane.
"""
from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
import sys
import threading
import time
import traceback
from dataclasses import dataclass

from labkit.cloud.aws.elbv2 import timescale
from labkit.cloud.aws.elbv2.models import HEALTHY, INITIAL, UNHEALTHY, HealthCheck, Registration

USER_AGENT = "ELB-HealthChecker/2.0"
IDLE_WAIT_S = 1.0


@dataclass(frozen=True)
class Outcome:
    ok: bool
    reason: str | None = None
    description: str | None = None


TIMED_OUT = Outcome(False, "Target.Timeout", "Request timed out")
FAILED = Outcome(False, "Target.FailedHealthChecks", "Health checks failed")


def reachable(address: str | None) -> bool:
    try:
        return address is not None and ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False


def codes_match(matcher: str, status: int) -> bool:
    """Matcher HttpCode: "200", "200,202", "200-299" (and mixes of them)."""
    for part in matcher.replace(" ", "").split(","):
        low, _, high = part.partition("-")
        try:
            if int(low) <= status <= int(high or low):
                return True
        except ValueError:
            continue
    return False


def probe(address: str | None, port: int, check: HealthCheck) -> Outcome:
    timeout = timescale.timeout_s(check.timeout_s, check.interval_s)
    if not reachable(address):
        return TIMED_OUT
    if check.protocol == "HTTPS":  # the ALB does not verify a target's certificate
        conn = http.client.HTTPSConnection(address, port, timeout=timeout, context=ssl._create_unverified_context())
    else:
        conn = http.client.HTTPConnection(address, port, timeout=timeout)
    try:
        conn.request("GET", check.path or "/", headers={"Host": f"{address}:{port}", "User-Agent": USER_AGENT,
                                                        "Connection": "close"})
        status = conn.getresponse().status
    except (socket.timeout, TimeoutError):
        return TIMED_OUT
    except (OSError, http.client.HTTPException):
        return FAILED
    finally:
        conn.close()
    if codes_match(check.matcher, status):
        return Outcome(True)
    return Outcome(False, "Target.ResponseCodeMismatch", f"Health checks failed with these codes: [{status}]")


def record(reg: Registration, check: HealthCheck, outcome: Outcome) -> None:
    """Move a registration by one finished check."""
    if outcome.ok:
        reg.failures, reg.passes = 0, reg.passes + 1
        if reg.state == INITIAL or (reg.state == UNHEALTHY and reg.passes >= check.healthy_threshold):
            reg.set(HEALTHY)
    else:
        reg.passes, reg.failures = 0, reg.failures + 1
        if reg.failures >= check.unhealthy_threshold and reg.state in (INITIAL, HEALTHY, UNHEALTHY):
            reg.set(UNHEALTHY, outcome.reason, outcome.description)
        elif reg.state == INITIAL:
            reg.set(INITIAL, "Elb.InitialHealthChecking", "Initial health checking in progress")
    reg.checked.set()


class HealthChecker:
    """The one thread; `due()` and `finish()` come from the data plane (under its lock)."""

    def __init__(self, plane):
        self.plane = plane
        self._wakeup = threading.Event()
        self._thread: threading.Thread | None = None
        self._thread_lock = threading.Lock()

    def wake(self) -> None:
        self._wakeup.set()
        with self._thread_lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="elbv2-health", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        while self.plane.is_current():
            try:
                wait = self.pass_once()
            except Exception:  # our bug: say so in the cloud's log, keep checking
                traceback.print_exc(file=sys.stderr)
                wait = IDLE_WAIT_S
            self._wakeup.wait(wait)
            self._wakeup.clear()

    def pass_once(self) -> float:
        """Run every check that is due; returns how long to sleep until the next one."""
        now = time.monotonic()
        for job in self.plane.due_checks(now):
            tg_arn, reg, check, address, port, retry = job
            outcome = probe(address, port, check)
            self.plane.finish_check(tg_arn, reg, check, outcome, time.monotonic(), retry)
        upcoming = self.plane.next_check_at()
        if upcoming is None:
            return IDLE_WAIT_S
        return min(max(upcoming - time.monotonic(), 0.01), IDLE_WAIT_S)
