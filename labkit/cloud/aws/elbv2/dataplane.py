"""The ALB's data plane of one cloud (`state.service("elbv2")`): the registered targets and their
health, the routes of every listener in `state.ingress`, the health checker, and the seedable
`random` that splits traffic by weight.

`sync(account, region)` brings it in line with moto's ELBv2 backend after any change (the API layer
calls it after every change it passes to moto; other services call it after changing moto's backend
themselves). `lock` serializes every use of moto's ELBv2 backend with the data plane's own changes;
it is never held while waiting for a health check, and nothing here takes `state.lock` while
holding it (ECS may call in with `state.lock` held).
"""
from __future__ import annotations

import ipaddress
import os
import random
import threading
import time

from labkit.cloud.aws.elbv2 import errors, health, moto_bridge, routing, timescale
from labkit.cloud.aws.elbv2.models import (DRAINING, HEALTHY, INITIAL, UNAVAILABLE, UNUSED, Region, Registration,
                                           TargetGroup)

SERVICE = "elbv2"
SEED_ENV = "LABKIT_ELB_SEED"       # a fixed seed for the weighted split (benchmarks, demos)
FIRST_CHECK_WAIT_S = 1.0           # DescribeTargetHealth waits this long at most for a first check
INVALID_STATE = "Target.InvalidState"  # an instance target whose instance is stopped


def plane(state) -> "DataPlane":
    return state.service(SERVICE, DataPlane)


class DataPlane:
    def __init__(self, state):
        self.state = state
        self.lock = threading.RLock()
        seed = os.environ.get(SEED_ENV)
        self.random = random.Random(int(seed) if seed and seed.isdigit() else None)
        self.turns: dict = {}                                  # target group ARN -> round-robin counter
        self._regions: dict[tuple[str, str], Region] = {}
        self._groups: dict[str, TargetGroup] = {}              # every region's target groups by ARN
        self._targets: dict[str, dict[tuple[str, int], Registration]] = {}  # replaced, never changed in place
        self._routed: dict[str, tuple[str, int]] = {}          # listener ARN -> (host, port) in the ingress
        self.checker = health.HealthChecker(self)

    def is_current(self) -> bool:
        """False once CloudState.reset() dropped this data plane (its health checker then ends)."""
        return self.state.services.get(SERVICE) is self

    # -- read by request threads (no lock) -------------------------------------------------------
    def registrations(self, tg_arn: str) -> list[Registration]:
        return list(self._targets.get(tg_arn, {}).values())

    # -- moto's state -> the data plane ------------------------------------------------------------
    def sync(self, account: str, region: str) -> None:
        with self.lock:
            be = moto_bridge.backend(account, region)
            moto_bridge.relink_target_groups(be)
            snap = moto_bridge.snapshot(account, region)
            old = self._regions.get((account, region), Region())
            self._regions[(account, region)] = snap
            self._groups = {arn: tg for r in self._regions.values() for arn, tg in r.target_groups.items()}
            for arn in old.target_groups.keys() - snap.target_groups.keys():
                self._targets.pop(arn, None)
                self.turns.pop(arn, None)
            now = time.monotonic()
            for arn, tg in snap.target_groups.items():
                for reg in self.registrations(arn):
                    _settle(reg, tg, now)
            for arn, listener in snap.listeners.items():
                place = (listener.host, listener.port)
                if self._routed.get(arn, place) != place:
                    self.state.ingress.remove(arn)
                self.state.ingress.add(routing.route(self, listener))  # replaces the old route in one step
                self._routed[arn] = place
            for arn in old.listeners.keys() - snap.listeners.keys():
                self.state.ingress.remove(arn)
                self._routed.pop(arn, None)
        if any(self._targets.values()):
            self.checker.wake()

    def target_group(self, account: str, region: str, tg_arn: str) -> TargetGroup:
        with self.lock:
            tg = self._regions.get((account, region), Region()).target_groups.get(tg_arn)
            if tg is None:  # made in moto since the last sync (by another service), or not at all
                self.sync(account, region)
                tg = self._regions[(account, region)].target_groups.get(tg_arn)
            if tg is None:
                raise errors.target_group_not_found()
            return tg

    # -- targets ------------------------------------------------------------------------------------
    def register(self, account: str, region: str, tg_arn: str, targets) -> None:
        """targets: [(id, port or None, availability zone or None), ...]"""
        with self.lock:
            tg = self.target_group(account, region, tg_arn)
            regs = dict(self._targets.get(tg_arn, {}))
            now = time.monotonic()
            for target_id, port, zone in targets:
                port = _port(port, tg)
                address = _address(account, region, tg, target_id)
                old = regs.get((target_id, port))
                if old is not None and old.state != DRAINING:
                    continue  # registering a registered target changes nothing
                reg = Registration(id=target_id, port=port, address=address, availability_zone=zone, next_check=now)
                _settle(reg, tg, now)
                regs[reg.key] = reg
            self._targets[tg_arn] = regs
        self.checker.wake()

    def deregister(self, account: str, region: str, tg_arn: str, targets) -> None:
        """targets: [(id, port or None), ...]; a target that is not registered is no error (API reference)."""
        with self.lock:
            tg = self.target_group(account, region, tg_arn)
            regs = dict(self._targets.get(tg_arn, {}))
            now = time.monotonic()
            delay = timescale.delay_s(tg.deregistration_delay_s)
            for target_id, port in targets:
                reg = regs.get((target_id, _port(port, tg)))
                if reg is not None and reg.state != DRAINING:
                    _drain(regs, reg, tg, delay, now)
            self._targets[tg_arn] = regs
        self.checker.wake()

    def describe(self, account: str, region: str, tg_arn: str, targets=None) -> list[dict]:
        """DescribeTargetHealth's TargetHealthDescriptions; targets: [(id, port or None), ...] or None (all)."""
        self.await_first_checks([tg_arn])
        with self.lock:
            tg = self.target_group(account, region, tg_arn)
            now = time.monotonic()
            if tg.target_type == "instance":
                self._follow_instances(account, region, tg, now)
            self._expire(now)
            regs = self._targets.get(tg_arn, {})
            if targets is None:
                return [_description(reg, tg) for reg in regs.values()]
            out = []
            for target_id, port in targets:
                port = _port(port, tg)
                reg = regs.get((target_id, port))
                if reg is None:
                    reg = Registration(id=target_id, port=port, address=None)
                    reg.set(UNUSED, "Target.NotRegistered", "Target is not registered to the target group")
                out.append(_description(reg, tg))
            return out

    def await_first_checks(self, tg_arns=None) -> None:
        """Targets registered (or put in use) a moment ago are being checked for the first time: wait
        for those checks, 1 s at most, so that the next request or DescribeTargetHealth does not meet
        an `initial` state that lasts milliseconds here. Never call it holding `lock`."""
        deadline = time.monotonic() + FIRST_CHECK_WAIT_S
        for arn in list(self._targets) if tg_arns is None else tg_arns:
            tg = self._groups.get(arn)
            if tg is None or not tg.in_use or not tg.health.enabled:
                continue
            for reg in self.registrations(arn):
                if reg.state == INITIAL and not reg.checked.is_set():
                    reg.checked.wait(max(deadline - time.monotonic(), 0))

    def _follow_instances(self, account: str, region: str, tg: TargetGroup, now: float) -> None:
        """Instance targets follow their EC2 instances (read from moto when health is asked for): a
        stopped instance is `unused` Target.InvalidState, a terminated one is deregistered (draining,
        then gone), as AWS does on its own; a stopped instance that runs again is checked afresh."""
        regs = dict(self._targets.get(tg.arn, {}))
        delay = timescale.delay_s(tg.deregistration_delay_s)
        for reg in list(regs.values()):
            if reg.state == DRAINING:
                continue
            found = moto_bridge.instance(account, region, reg.id)
            state = getattr(found[0], "name", found[0]) if found is not None else "terminated"
            if state in ("terminated", "shutting-down"):
                _drain(regs, reg, tg, delay, now)
            elif state in ("stopped", "stopping") and tg.in_use:
                reg.set(UNUSED, INVALID_STATE, "Target is in the stopped state")
                reg.checked.set()
            elif state == "running" and reg.reason == INVALID_STATE:
                reg.set(UNUSED, "Target.NotInUse")  # then settled as any unused target put back in use
                _settle(reg, tg, now)
        self._targets[tg.arn] = regs

    def _expire(self, now: float) -> None:
        """Draining targets whose deregistration delay has passed are gone."""
        for arn, regs in list(self._targets.items()):
            if any(r.state == DRAINING and r.drain_until is not None and r.drain_until <= now for r in regs.values()):
                self._targets[arn] = {k: r for k, r in regs.items()
                                      if not (r.state == DRAINING and r.drain_until <= now)}

    # -- the health checker's side ------------------------------------------------------------------
    def due_checks(self, now: float) -> list:
        jobs = []
        with self.lock:
            self._expire(now)
            for arn, regs in self._targets.items():
                tg = self._groups.get(arn)
                if tg is None or not tg.in_use or not tg.health.enabled:
                    continue
                for reg in regs.values():
                    if reg.state in (DRAINING, UNUSED, UNAVAILABLE):
                        continue
                    if reg.next_check <= now:
                        reg.next_check = now + timescale.interval_s(tg.health.interval_s)  # not twice at once
                        reg.retry_at = None
                        jobs.append((arn, reg, tg.health, reg.address, tg.health.port_for(reg.port), False))
                    elif reg.retry_at is not None and reg.retry_at <= now:
                        reg.retry_at = None
                        jobs.append((arn, reg, tg.health, reg.address, tg.health.port_for(reg.port), True))
        return jobs

    def finish_check(self, tg_arn: str, reg: Registration, check, outcome, now: float,
                     retry: bool = False) -> None:
        """A check's outcome. A retry (a new target's uncounted probe, timescale.py) counts only when it
        passes; a regular check that a new target's closed port failed schedules one."""
        with self.lock:
            current = self._targets.get(tg_arn, {}).get(reg.key) is reg
            if current and reg.state not in (DRAINING, UNUSED, UNAVAILABLE):
                if retry and not outcome.ok:
                    if reg.state == INITIAL:
                        reg.retry_at = now + timescale.NEW_TARGET_RETRY_S
                else:
                    health.record(reg, check, outcome)
                    if not retry:
                        reg.next_check = now + timescale.interval_s(check.interval_s)
                    refused = outcome is health.FAILED and reg.state == INITIAL
                    reg.retry_at = now + timescale.NEW_TARGET_RETRY_S if refused else None
            reg.checked.set()

    def next_check_at(self) -> float | None:
        with self.lock:
            times = []
            for arn, regs in self._targets.items():
                tg = self._groups.get(arn)
                for reg in regs.values():
                    if reg.state == DRAINING and reg.drain_until is not None:
                        times.append(reg.drain_until)
                    elif tg is not None and tg.in_use and tg.health.enabled and reg.state not in (UNUSED, UNAVAILABLE):
                        times.append(reg.next_check)
                        if reg.retry_at is not None:
                            times.append(reg.retry_at)
            return min(times) if times else None


def _settle(reg: Registration, tg: TargetGroup, now: float) -> None:
    """A registration's state as its target group's use and settings allow."""
    if reg.state == DRAINING or reg.reason == INVALID_STATE:  # a stopped instance: _follow_instances decides
        return
    if not tg.in_use:
        reg.set(UNUSED, "Target.NotInUse", "Given target group is not configured to receive traffic from ELB")
        reg.checked.set()
    elif not tg.health.enabled:
        reg.set(UNAVAILABLE, "Target.HealthCheckDisabled", "Health checks disabled")
        reg.checked.set()
    elif reg.state in (UNUSED, UNAVAILABLE):  # back in use: checked from the start again
        reg.set(INITIAL, "Elb.RegistrationInProgress", "Target registration is in progress")
        reg.passes = reg.failures = 0
        reg.next_check = now
        reg.checked.clear()


def _drain(regs: dict, reg: Registration, tg: TargetGroup, delay: float, now: float) -> None:
    """Deregister `reg` in `regs`: draining for the group's (compressed) delay, or gone at once when
    nothing can be in flight."""
    if delay <= 0 or not tg.in_use:
        del regs[reg.key]
        return
    reg.set(DRAINING, "Target.DeregistrationInProgress", "Target deregistration is in progress")
    reg.drain_until = now + delay


def _port(port, tg: TargetGroup) -> int:
    if port in (None, ""):
        return tg.port
    try:
        value = int(port)
    except (TypeError, ValueError):
        raise errors.validation(f"Port '{port}' must be a number") from None
    if not 1 <= value <= 65535:
        raise errors.validation(f"Port '{value}' is not in the range 1-65535")
    return value


def _address(account: str, region: str, tg: TargetGroup, target_id: str) -> str | None:
    """Where a target is reached: an ip target's own address, an instance's private address (which
    this cloud never connects to), nothing for lambda/alb targets."""
    if tg.target_type == "ip":
        try:
            return str(ipaddress.ip_address(target_id))
        except ValueError:
            raise errors.invalid_target() from None
    if tg.target_type == "instance":
        found = moto_bridge.instance(account, region, target_id)
        if found is None:
            raise errors.invalid_target()
        state, address = found
        if getattr(state, "name", state) != "running":
            raise errors.invalid_target(f"The following targets are not in a running state and cannot be "
                                        f"registered: '{target_id}'")
        return address
    return None


def _description(reg: Registration, tg: TargetGroup) -> dict:
    target = {"Id": reg.id, "Port": reg.port}
    if reg.availability_zone:
        target["AvailabilityZone"] = reg.availability_zone
    state = {"State": reg.state}
    if reg.state != HEALTHY:
        state.update({"Reason": reg.reason, "Description": reg.description})
    return {"Target": target, "HealthCheckPort": str(tg.health.port_for(reg.port)), "TargetHealth": state}
