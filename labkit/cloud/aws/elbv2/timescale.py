"""Time compression of the ALB's clocks (health checks, deregistration delay).

AWS's defaults (a health check every 30 s, 5 passes to recover, 2 failures to fail, 300 s of
draining) are sized for production; a notebook cannot wait minutes. Every ELBv2 duration is divided
by one factor, LABKIT_ELB_TIME_SCALE (default 30, read at each use so a test may change it):
an interval of 30 s becomes 1 s, so a dead target turns unhealthy within 1-2 s; 300 s of draining
become 10 s. A new target needs one passing check (as on AWS) and is checked at once, so it is
healthy within a moment. The settings themselves (what DescribeTargetGroups shows) stay AWS's.

A new target whose app is not listening yet (a task is RUNNING once its process started, before
Flask binds its port) is probed again every NEW_TARGET_RETRY_S until it answers (healthy then) or
its next regular check comes; only the regular checks count as failures, so it turns `unhealthy` no
sooner than before. An ALB's nodes each check every target, so a real one sees an app come up
sooner than its interval says too; without this, a task started a moment too early waited a whole
interval (1 s) for its first pass: most of ECS Express Mode's create -> first answer.
"""
from __future__ import annotations

import os

ENV = "LABKIT_ELB_TIME_SCALE"
DEFAULT_SCALE = 30.0
MIN_INTERVAL_S = 0.2   # no tighter loop than this, whatever the settings
MIN_TIMEOUT_S = 0.5    # a loaded 2-core machine must not turn a slow answer into a failed check
NEW_TARGET_RETRY_S = 0.05  # a new target that refused the connection: probed again this soon


def scale() -> float:
    try:
        value = float(os.environ.get(ENV, DEFAULT_SCALE))
    except ValueError:
        return DEFAULT_SCALE
    return value if value > 0 else DEFAULT_SCALE


def interval_s(seconds: float) -> float:
    return max(float(seconds) / scale(), MIN_INTERVAL_S)


def timeout_s(seconds: float, interval_seconds: float) -> float:
    return min(max(float(seconds) / scale(), MIN_TIMEOUT_S), interval_s(interval_seconds))


def delay_s(seconds: float) -> float:
    """The deregistration delay (0 stays 0: deregistration is then immediate, as on AWS)."""
    return max(float(seconds), 0.0) / scale()
