"""ELBv2's API on the local cloud: the gateway hands over every request signed for
"elasticloadbalancing"; moto serves the control plane where it is right, this layer where it is not.

    served here (moto keys targets by id alone and knows no health):
        RegisterTargets, DeregisterTargets, DescribeTargetHealth
    checked here, then moto (what moto lets pass that AWS refuses, or answers differently):
        CreateLoadBalancer  two subnets in two Availability Zones; the same name with the same settings
                            returns the existing load balancer, with other settings DuplicateLoadBalancerName
        CreateTargetGroup   the same name: the existing group or DuplicateTargetGroupName
        CreateListener      the same port: the existing listener or DuplicateListener
        ModifyListener      the target groups it forwards to must exist
    corrected after moto (moto_bridge.py): the DNS name, the HTTP health check timeout, LoadBalancerArns
    everything else: moto, unchanged; after every change, the data plane syncs (routes, health checks).

Classic ELB (Version 2012-06-01) signs with the same name and goes to moto untouched.
"""
from __future__ import annotations

import sys
import traceback
from dataclasses import dataclass

from labkit.cloud.aws import protocol
from labkit.cloud.aws.elbv2 import dataplane, errors, moto_bridge, query
from labkit.cloud.aws.elbv2.errors import Elbv2Error


@dataclass
class Call:
    plane: dataplane.DataPlane
    account: str
    region: str
    request: query.Request
    environ: dict
    moto_app: object
    amended: bool = False  # a default filled in before moto: moto gets the amended parameters

    @property
    def params(self) -> dict:
        return self.request.nested()

    @property
    def backend(self):
        return moto_bridge.backend(self.account, self.region)

    def moto(self, params: dict | None = None):
        return query.call_moto(self.moto_app, self.environ, params)


def elbv2_app(state, environ, start_response, moto_app):
    request = query.read(environ)
    if request.version != query.VERSION:  # classic ELB, or no action at all: moto's
        return moto_app(environ, start_response)
    call = Call(plane=dataplane.plane(state), account=protocol.account_of(environ),
                region=protocol.region_of(environ), request=request, environ=environ, moto_app=moto_app)
    try:
        own = SERVED.get(request.action)
        answer = own(call) if own is not None else _through_moto(call)
    except Elbv2Error as exc:
        answer = query.error(exc.code, exc.message, exc.status)
    except Exception as exc:  # our bug: say so in the service's shape, and log it
        traceback.print_exc(file=sys.stderr)
        failure = errors.internal(exc)
        answer = query.error(failure.code, failure.message, failure.status)
    return query.respond(start_response, answer)


def _through_moto(call: Call):
    action = call.request.action
    changed = False
    with call.plane.lock:
        before = BEFORE.get(action)
        answer = before(call) if before is not None else None
        if answer is not None:
            return answer
        answer = call.moto(dict(call.request.params) if call.amended else None)
        if answer[0] == 200:
            after = AFTER.get(action)
            if after is not None:
                answer = after(call, answer)
            if not action.startswith("Describe"):
                call.plane.sync(call.account, call.region)
                changed = True
    if changed:  # a listener that now uses a target group: its targets' first checks, before the answer
        call.plane.await_first_checks()
    return answer


# -- served here ------------------------------------------------------------------------------------
def _targets(p: dict, with_zone: bool = False) -> list:
    items = p.get("Targets") or []
    if not items:
        raise errors.validation("A target must be specified")
    out = []
    for item in items:
        if not item.get("Id"):
            raise errors.validation("A target ID must be specified")
        out.append((item["Id"], item.get("Port"), item.get("AvailabilityZone")) if with_zone
                   else (item["Id"], item.get("Port")))
    return out


def _group_arn(p: dict) -> str:
    arn = p.get("TargetGroupArn")
    if not arn:
        raise errors.validation("A target group ARN must be specified")
    return arn


def register_targets(call: Call):
    p = call.params
    arn = _group_arn(p)
    call.plane.register(call.account, call.region, arn, _targets(p, with_zone=True))
    call.plane.await_first_checks([arn])
    return query.result("RegisterTargets", {})


def deregister_targets(call: Call):
    p = call.params
    call.plane.deregister(call.account, call.region, _group_arn(p), _targets(p))
    return query.result("DeregisterTargets", {})


def describe_target_health(call: Call):
    p = call.params
    wanted = [(t["Id"], t.get("Port")) for t in p.get("Targets") or [] if t.get("Id")] or None
    found = call.plane.describe(call.account, call.region, _group_arn(p), wanted)
    return query.result("DescribeTargetHealth", {"TargetHealthDescriptions": found})


SERVED = {"RegisterTargets": register_targets, "DeregisterTargets": deregister_targets,
          "DescribeTargetHealth": describe_target_health}


# -- checked before moto (return an answer to stop there) --------------------------------------------
def before_create_load_balancer(call: Call):
    p = call.params
    name = p.get("Name", "")
    subnets = list(p.get("Subnets") or []) + [m.get("SubnetId") for m in p.get("SubnetMappings") or []]
    kind, scheme = p.get("Type") or "application", p.get("Scheme") or "internet-facing"
    if "Scheme" not in p:  # AWS's default, which moto leaves out of its answers
        call.request.params["Scheme"], call.amended = scheme, True
    existing = moto_bridge.load_balancer_named(call.backend, name)
    if existing is not None:
        same = (existing.type == kind and (existing.scheme or "internet-facing") == scheme
                and sorted(s.id for s in existing.subnets) == sorted(subnets))
        if not same:
            raise errors.duplicate_load_balancer(name)
        found = call.moto({"Action": "DescribeLoadBalancers", "Version": query.VERSION, "Names.member.1": name})
        return query.renamed(found, "DescribeLoadBalancers", "CreateLoadBalancer")
    if kind == "application":
        zones = moto_bridge.subnet_zones(call.account, call.region, subnets)
        if zones is not None:  # an unknown subnet: moto's SubnetNotFound
            if len(set(zones)) < len(zones):
                raise Elbv2Error("InvalidConfigurationRequest",
                                 "A load balancer cannot be attached to multiple subnets in the same Availability Zone")
            if len(set(zones)) < 2:
                raise errors.validation("At least two subnets in two different Availability Zones must be specified")
    return None


def before_create_target_group(call: Call):
    p = call.params
    name = p.get("Name", "")
    existing = moto_bridge.target_group_named(call.backend, name)
    if existing is None:
        return None
    same = ((existing.protocol or "") == (p.get("Protocol") or "") and str(existing.port or "") == (p.get("Port") or "")
            and (existing.vpc_id or "") == (p.get("VpcId") or "")
            and existing.target_type == (p.get("TargetType") or "instance"))
    if not same:
        raise errors.duplicate_target_group(name)
    found = call.moto({"Action": "DescribeTargetGroups", "Version": query.VERSION, "Names.member.1": name})
    return query.renamed(found, "DescribeTargetGroups", "CreateTargetGroup")


def before_create_listener(call: Call):
    p = call.params
    lb = call.backend.load_balancers.get(p.get("LoadBalancerArn", ""))
    if lb is None or not (p.get("Port") or "").isdigit():
        return None  # moto's LoadBalancerNotFound / ValidationError
    existing = moto_bridge.listener_on_port(lb, int(p["Port"]))
    if existing is None:
        return None
    wanted = moto_bridge.action_of(p.get("DefaultActions") or [])
    have = moto_bridge.action_of([a.data for a in existing.default_actions])
    if existing.protocol != (p.get("Protocol") or "").upper() or wanted != have:
        raise errors.duplicate_listener(lb.arn)
    found = call.moto({"Action": "DescribeListeners", "Version": query.VERSION, "ListenerArns.member.1": existing.arn})
    return query.renamed(found, "DescribeListeners", "CreateListener")


def before_modify_listener(call: Call):
    known = call.backend.target_groups
    for action in call.params.get("DefaultActions") or []:
        for arn, _ in moto_bridge.forward_of(action):
            if arn not in known:
                raise errors.target_group_not_found(arn)
    return None


BEFORE = {"CreateLoadBalancer": before_create_load_balancer, "CreateTargetGroup": before_create_target_group,
          "CreateListener": before_create_listener, "ModifyListener": before_modify_listener}


# -- corrected after moto ---------------------------------------------------------------------------
def after_create_load_balancer(call: Call, answer):
    lb = moto_bridge.load_balancer_named(call.backend, call.params.get("Name", ""))
    if lb is None:
        return answer
    before = moto_bridge.fix_load_balancer(lb, call.region)
    status, headers, body = answer
    return status, headers, body.replace(f"<DNSName>{before}</DNSName>".encode(),
                                         f"<DNSName>{lb.dns_name}</DNSName>".encode())


def after_create_target_group(call: Call, answer):
    p = call.params
    tg = moto_bridge.target_group_named(call.backend, p.get("Name", ""))
    if tg is None:
        return answer
    before = tg.health_check_timeout_seconds
    if not moto_bridge.fix_target_group(tg, timeout_given="HealthCheckTimeoutSeconds" in p):
        return answer
    status, headers, body = answer
    return status, headers, body.replace(f"<HealthCheckTimeoutSeconds>{before}</HealthCheckTimeoutSeconds>".encode(),
                                         f"<HealthCheckTimeoutSeconds>{tg.health_check_timeout_seconds}"
                                         f"</HealthCheckTimeoutSeconds>".encode())


AFTER = {"CreateLoadBalancer": after_create_load_balancer, "CreateTargetGroup": after_create_target_group}
