"""ELBv2 for the cloud's other services, in process (ECS services with loadBalancers, ECS Express
Mode): what they would otherwise do through the API, with the same corrections and the data plane
kept in sync. Every function takes the cloud's `state`, the account and the region; errors are
Elbv2Error (code and message as the service words them).

    register_targets(state, account, region, tg_arn, [("127.0.1.5", 8080), ...])   # ECS: a task RUNNING
    deregister_targets(state, account, region, tg_arn, [("127.0.1.5", 8080)])       # ECS: a task stopping
    target_health(state, account, region, tg_arn) -> DescribeTargetHealth's list     # healthy? draining?
    create_load_balancer / create_target_group / create_listener / forward / delete_*  # Express Mode
    sync(state, account, region)   # after changing moto's ELBv2 backend any other way

Each may be called with or without `state.lock` held.
"""
from __future__ import annotations

from contextlib import contextmanager

from labkit.cloud.aws.elbv2 import errors, moto_bridge
from labkit.cloud.aws.elbv2.dataplane import plane
from labkit.cloud.aws.elbv2.errors import Elbv2Error


def sync(state, account: str, region: str) -> None:
    plane(state).sync(account, region)


def register_targets(state, account: str, region: str, target_group_arn: str, targets) -> None:
    """targets: [(ip or instance id, port), ...] (port None: the target group's)."""
    plane(state).register(account, region, target_group_arn, [(str(i), p, None) for i, p in targets])


def deregister_targets(state, account: str, region: str, target_group_arn: str, targets) -> None:
    """The targets drain for the (compressed) deregistration delay, then are gone."""
    plane(state).deregister(account, region, target_group_arn, [(str(i), p) for i, p in targets])


def target_health(state, account: str, region: str, target_group_arn: str, targets=None) -> list[dict]:
    """[{"Target": {"Id", "Port"}, "HealthCheckPort", "TargetHealth": {"State", "Reason"?, "Description"?}}]"""
    wanted = [(str(i), p) for i, p in targets] if targets is not None else None
    return plane(state).describe(account, region, target_group_arn, wanted)


@contextmanager
def _moto_errors():
    try:
        yield
    except Elbv2Error:
        raise
    except Exception as exc:  # moto's ELBClientError and kin carry the service's code and message
        code = getattr(exc, "code", None) or getattr(exc, "error_type", None)
        if not code:
            raise
        raise Elbv2Error(str(code), str(getattr(exc, "message", exc))) from None


def create_load_balancer(state, account: str, region: str, name: str, *, subnets=None,
                         scheme: str = "internet-facing", security_groups=(), tags=None) -> dict:
    """An Application Load Balancer (subnets: the default VPC's when None); an existing one of that
    name is returned as it is."""
    p = plane(state)
    with p.lock, _moto_errors():
        be = moto_bridge.backend(account, region)
        lb = moto_bridge.load_balancer_named(be, name)
        if lb is None:
            lb = be.create_load_balancer(name=name, security_groups=list(security_groups),
                                         subnet_ids=list(subnets or moto_bridge.default_subnets(account, region)[:2]),
                                         scheme=scheme, loadbalancer_type="application", tags=tags)
            moto_bridge.fix_load_balancer(lb, region)
            p.sync(account, region)
        return {"LoadBalancerArn": lb.arn, "LoadBalancerName": lb.name, "DNSName": lb.dns_name, "VpcId": lb.vpc_id,
                "Scheme": lb.scheme, "Type": lb.type, "State": {"Code": lb.state}}


def create_target_group(state, account: str, region: str, name: str, port: int, *, protocol: str = "HTTP",
                        target_type: str = "ip", vpc_id: str | None = None, health_check_path: str = "/",
                        matcher: str = "200", tags=None) -> dict:
    p = plane(state)
    with p.lock, _moto_errors():
        be = moto_bridge.backend(account, region)
        tg = moto_bridge.target_group_named(be, name)
        if tg is None:
            tg = be.create_target_group(name, vpc_id=vpc_id or moto_bridge.default_vpc(account, region),
                                        protocol=protocol, port=int(port), target_type=target_type,
                                        healthcheck_path=health_check_path, matcher={"HttpCode": matcher}, tags=tags)
            moto_bridge.fix_target_group(tg, timeout_given=False)
            p.sync(account, region)
        return {"TargetGroupArn": tg.arn, "TargetGroupName": tg.name, "Protocol": tg.protocol, "Port": int(tg.port),
                "TargetType": tg.target_type, "VpcId": tg.vpc_id}


def create_listener(state, account: str, region: str, load_balancer_arn: str, port: int,
                    target_group_arn: str | None = None, *, protocol: str = "HTTP", default_actions=None) -> dict:
    """A listener forwarding to one target group (or with the given DefaultActions); the listener
    already on that port is returned as it is."""
    actions = default_actions or [{"Type": "forward", "TargetGroupArn": target_group_arn}]
    p = plane(state)
    with p.lock, _moto_errors():
        be = moto_bridge.backend(account, region)
        lb = be.load_balancers.get(load_balancer_arn)
        if lb is None:
            raise Elbv2Error("LoadBalancerNotFound", "The specified load balancer does not exist.")
        listener = moto_bridge.listener_on_port(lb, port)
        if listener is None:
            listener = be.create_listener(load_balancer_arn=load_balancer_arn, protocol=protocol, port=int(port),
                                          ssl_policy=None, certificate=None, actions=actions)
            p.sync(account, region)
        return {"ListenerArn": listener.arn, "LoadBalancerArn": load_balancer_arn, "Port": int(listener.port),
                "Protocol": listener.protocol}


def forward(state, account: str, region: str, listener_arn: str, weights) -> None:
    """Point a listener's default action at target groups by weight: [(tg_arn, weight), ...]."""
    p = plane(state)
    with p.lock, _moto_errors():
        be = moto_bridge.backend(account, region)
        for arn, _ in weights:
            if arn not in be.target_groups:
                raise errors.target_group_not_found(arn)
        action = {"Type": "forward", "ForwardConfig": {"TargetGroups": [{"TargetGroupArn": a, "Weight": int(w)}
                                                                        for a, w in weights]}}
        be.modify_listener(listener_arn, actions=[action])
        p.sync(account, region)


def delete_load_balancer(state, account: str, region: str, load_balancer_arn: str) -> None:
    p = plane(state)
    with p.lock, _moto_errors():
        moto_bridge.backend(account, region).delete_load_balancer(load_balancer_arn)
        p.sync(account, region)


def delete_target_group(state, account: str, region: str, target_group_arn: str) -> None:
    p = plane(state)
    with p.lock, _moto_errors():
        moto_bridge.backend(account, region).delete_target_group(target_group_arn)
        p.sync(account, region)
