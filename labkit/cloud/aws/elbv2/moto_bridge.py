"""moto's ELBv2 (and EC2) backends in this process: read into the data plane's snapshot, and the few
corrections this project makes to moto's objects so that every later answer of moto is right:

- a load balancer's DNS name is `NAME-NUMBER.REGION.elb.amazonaws.com` (`internal-` first for an
  internal one), as AWS names them; moto says `NAME-1....` for every load balancer;
- an HTTP/HTTPS target group's default health check timeout is 6 s (API reference, CreateTargetGroup);
  moto says 5;
- a target group's LoadBalancerArns are the load balancers whose listeners or rules forward to it
  (moto forgets the ones ModifyListener adds and keeps the deleted ones).

moto is imported lazily (slow to import; the cloud's cold start must not wait for it). moto's
backends are plain dicts: callers hold the data plane's lock.
"""
from __future__ import annotations

import math

from labkit.cloud.aws.elbv2 import conditions
from labkit.cloud.aws.elbv2.models import Action, HealthCheck, Listener, Region, Rule, TargetGroup

HTTP_DEFAULT_TIMEOUT_S = 6  # API reference, CreateTargetGroup: HealthCheckTimeoutSeconds for HTTP
AUTHENTICATE = ("authenticate-cognito", "authenticate-oidc")


def backend(account: str, region: str):
    from moto.elbv2.models import elbv2_backends

    return elbv2_backends[account][region]


def ec2(account: str, region: str):
    from moto.ec2.models import ec2_backends

    return ec2_backends[account][region]


# -- corrections --------------------------------------------------------------------------------
def dns_name(name: str, scheme: str | None, region: str, arn: str) -> str:
    """AWS's form, a number of 10 digits derived from the load balancer's id (stable per ARN)."""
    number = int(arn.rsplit("/", 1)[-1], 16) % 9_000_000_000 + 1_000_000_000
    prefix = "internal-" if scheme == "internal" else ""
    return f"{prefix}{name}-{number}.{region}.elb.amazonaws.com"


def fix_load_balancer(lb, region: str) -> str:
    """Give the load balancer AWS's DNS name; returns the name moto had given it."""
    before = lb.dns_name
    lb.dns_name = dns_name(lb.name, lb.scheme, region, lb.arn)
    return before


def fix_target_group(tg, timeout_given: bool) -> bool:
    """AWS's default timeout for an HTTP/HTTPS health check; True if it changed."""
    if timeout_given or tg.target_type == "lambda" or (tg.health_check_protocol or "") not in ("HTTP", "HTTPS"):
        return False
    if str(tg.health_check_timeout_seconds) == str(HTTP_DEFAULT_TIMEOUT_S):
        return False
    tg.health_check_timeout_seconds = HTTP_DEFAULT_TIMEOUT_S
    return True


def relink_target_groups(be) -> None:
    users: dict[str, list[str]] = {arn: [] for arn in be.target_groups}
    for lb in be.load_balancers.values():
        for listener in lb.listeners.values():
            for rule in listener.rules.values():
                for action in rule.actions:
                    for arn, _ in forward_of(action.data):
                        if arn in users and lb.arn not in users[arn]:
                            users[arn].append(lb.arn)
    for arn, tg in be.target_groups.items():
        tg.load_balancer_arns = users[arn]


# -- lookups --------------------------------------------------------------------------------------
def load_balancer_named(be, name: str):
    return next((lb for lb in be.load_balancers.values() if lb.name == name), None)


def target_group_named(be, name: str):
    return next((tg for tg in be.target_groups.values() if tg.name == name), None)


def listener_on_port(lb, port: int):
    return next((li for li in lb.listeners.values() if int(li.port) == int(port)), None)


def subnet_zones(account: str, region: str, subnet_ids) -> list[str] | None:
    """The Availability Zones of these subnets, or None when one of them is unknown (moto says so)."""
    zones = []
    for subnet_id in subnet_ids:
        try:
            subnet = ec2(account, region).get_subnet(subnet_id)
        except Exception:  # moto's InvalidSubnetIdError
            return None
        if subnet is None:
            return None
        zones.append(subnet.availability_zone)
    return zones


def default_subnets(account: str, region: str) -> list[str]:
    """The default VPC's default subnets, one per Availability Zone (what a console picks)."""
    subnets = [s for s in ec2(account, region).describe_subnets() if getattr(s, "default_for_az", False)]
    return [s.id for s in sorted(subnets, key=lambda s: s.availability_zone)]


def default_vpc(account: str, region: str) -> str | None:
    vpc = next((v for v in ec2(account, region).describe_vpcs() if getattr(v, "is_default", False)), None)
    return vpc.id if vpc is not None else None


def instance(account: str, region: str, instance_id: str):
    """(state name, private address) of an EC2 instance moto knows, or None."""
    try:
        found = ec2(account, region).get_instance_by_id(instance_id)
    except Exception:
        return None
    if found is None:
        return None
    return found.state, getattr(found, "private_ip", None)


# -- the snapshot ---------------------------------------------------------------------------------
def snapshot(account: str, region: str) -> Region:
    be = backend(account, region)
    out = Region()
    used: set[str] = set()
    for lb in list(be.load_balancers.values()):
        for li in list(lb.listeners.values()):
            rules = []
            for raw in list(li.rules.values()):
                action = action_of([a.data for a in raw.actions or []])
                for arn, _ in action.forward:
                    used.add(arn)
                priority = math.inf if raw.priority == "default" or getattr(raw, "is_default", False) \
                    else float(raw.priority)
                parsed = tuple(conditions.parse(c) for c in raw.conditions or [])
                rules.append(Rule(priority=priority, conditions=parsed, action=action))
            rules.sort(key=lambda r: r.priority)
            if (lb.type or "application") == "application":
                out.listeners[li.arn] = Listener(arn=li.arn, load_balancer_arn=lb.arn, host=lb.dns_name.lower(),
                                                 port=int(li.port), protocol=li.protocol, rules=tuple(rules))
    for tg in list(be.target_groups.values()):
        out.target_groups[tg.arn] = _target_group(tg, tg.arn in used)
    return out


def _target_group(tg, in_use: bool) -> TargetGroup:
    matcher = (getattr(tg, "matcher", None) or {}).get("HttpCode") or "200"
    health = HealthCheck(protocol=(tg.health_check_protocol or "HTTP").upper(),
                         port=str(tg.health_check_port or "traffic-port"),
                         path=tg.health_check_path or "/",
                         interval_s=int(tg.health_check_interval_seconds or 30),
                         timeout_s=int(tg.health_check_timeout_seconds or HTTP_DEFAULT_TIMEOUT_S),
                         healthy_threshold=int(tg.healthy_threshold_count or 5),
                         unhealthy_threshold=int(tg.unhealthy_threshold_count or 2),
                         matcher=str(matcher), enabled=bool(tg.health_check_enabled))
    delay = tg.attributes.get("deregistration_delay.timeout_seconds", 300)
    return TargetGroup(arn=tg.arn, name=tg.name, protocol=tg.protocol or "", port=int(tg.port or 0),
                       target_type=tg.target_type or "instance", health=health,
                       deregistration_delay_s=int(delay), in_use=in_use)


def forward_of(data: dict) -> list[tuple[str, int]]:
    config = (data.get("ForwardConfig") or {}).get("TargetGroups") or []
    if config:
        return [(g["TargetGroupArn"], int(g["Weight"]) if g.get("Weight") not in (None, "") else 1)
                for g in config if isinstance(g, dict) and g.get("TargetGroupArn")]
    if data.get("TargetGroupArn"):
        return [(data["TargetGroupArn"], 1)]
    return []


def action_of(datas: list[dict]) -> Action:
    """The action a request meets: the last by Order, after any authenticate-* action (which this
    project does not perform)."""
    datas = [d for d in datas or [] if isinstance(d, dict)]
    datas = sorted(datas, key=lambda d: int(d.get("Order") or 0)) if any(d.get("Order") for d in datas) else datas
    final = [d for d in datas if d.get("Type") not in AUTHENTICATE]
    if not final:
        return Action(type="none")
    data = final[-1]
    kind = data.get("Type", "")
    if kind == "forward":
        return Action(type=kind, forward=tuple(forward_of(data)))
    if kind == "fixed-response":
        c = data.get("FixedResponseConfig") or {}
        return Action(type=kind, fixed=(int(c.get("StatusCode") or 200), c.get("MessageBody") or "",
                                        c.get("ContentType") or "text/plain"))
    if kind == "redirect":
        return Action(type=kind, redirect=dict(data.get("RedirectConfig") or {}))
    return Action(type=kind)
