"""What the data plane knows: a snapshot of moto's load balancers, listeners, rules and target groups
(`moto_bridge.snapshot` makes it after every change), and the targets this project registers itself,
each with its health (moto keys targets by id alone and knows no health, so they are ours).

Snapshots are immutable once made; a request thread reads them without a lock.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass, field

# Target states and the reason codes of the API reference (TargetHealth)
INITIAL, HEALTHY, UNHEALTHY, UNUSED, DRAINING, UNAVAILABLE = (
    "initial", "healthy", "unhealthy", "unused", "draining", "unavailable")


@dataclass(frozen=True)
class HealthCheck:
    protocol: str          # HTTP | HTTPS
    port: str              # "traffic-port" or a number
    path: str
    interval_s: int
    timeout_s: int
    healthy_threshold: int
    unhealthy_threshold: int
    matcher: str           # HttpCode: "200", "200,202", "200-299"
    enabled: bool

    def port_for(self, traffic_port: int) -> int:
        return traffic_port if self.port in ("", "traffic-port") else int(self.port)


@dataclass(frozen=True)
class TargetGroup:
    arn: str
    name: str
    protocol: str
    port: int
    target_type: str       # ip | instance | lambda | alb
    health: HealthCheck
    deregistration_delay_s: int
    in_use: bool           # named by a forward action of some listener or rule


@dataclass(frozen=True)
class Action:
    type: str                                   # forward | fixed-response | redirect
    forward: tuple = ()                         # ((target group ARN, weight), ...)
    fixed: tuple = ()                           # (status, body, content type)
    redirect: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Condition:
    field: str
    values: tuple          # the values to match (for query-string: (key or None, value) pairs)
    header: str = ""       # http-header: the header's name


@dataclass(frozen=True)
class Rule:
    priority: float        # the default rule is last (infinity)
    conditions: tuple
    action: Action


@dataclass(frozen=True)
class Listener:
    arn: str
    load_balancer_arn: str
    host: str              # the load balancer's DNS name
    port: int
    protocol: str
    rules: tuple           # in priority order, the default rule last


@dataclass
class Region:
    """One account's region as moto holds it, reduced to what traffic needs."""
    listeners: dict = field(default_factory=dict)       # ARN -> Listener
    target_groups: dict = field(default_factory=dict)   # ARN -> TargetGroup


@dataclass
class Registration:
    """One registered target (id, port) of a target group, and its health."""
    id: str
    port: int
    address: str | None        # where traffic and health checks go (None: nowhere this cloud can reach)
    availability_zone: str | None = None
    state: str = INITIAL
    reason: str | None = "Elb.RegistrationInProgress"
    description: str | None = "Target registration is in progress"
    passes: int = 0
    failures: int = 0
    next_check: float = 0.0
    retry_at: float | None = None  # a new target that refused: probed again then, uncounted (timescale.py)
    drain_until: float | None = None
    checked: threading.Event = field(default_factory=threading.Event)  # set by the first finished check

    @property
    def key(self) -> tuple[str, int]:
        return (self.id, self.port)

    def set(self, state: str, reason: str | None = None, description: str | None = None) -> None:
        self.state, self.reason, self.description = state, reason, description
