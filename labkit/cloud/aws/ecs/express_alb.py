"""The load balancing an ECS Express Mode service gets (labkit/cloud/aws/ecs/express.py): an Application
Load Balancer in the default VPC with an HTTPS listener whose default action is a fixed 404, a target group
of `ip` targets on the container port with the service's health check path, and a listener rule that
forwards the service's endpoint host name to it. Made through labkit/cloud/aws/elbv2's in-process functions (moto's backend, so `aws elbv2
describe-load-balancers / describe-target-groups / describe-rules` show them, and this project's data
plane: health checks, forwarding); the endpoint's name is an ingress route to that listener.

Names and the one-ALB-per-service layout are assumed (real Express Mode shares an ALB among up to 25
services of an account): docs/fidelity.md, "ECS Express Mode".
"""
from __future__ import annotations

from dataclasses import dataclass



@dataclass
class Balancing:
    load_balancer_arn: str
    dns_name: str
    listener_arn: str
    rule_arn: str
    target_group_arn: str
    security_groups: list
    subnets: list


def create(state, account: str, region: str, *, suffix: str, endpoint: str, port: int, health_check_path: str,
           subnets: list | None, security_groups: list | None) -> Balancing:
    from labkit.cloud.aws import elbv2
    from labkit.cloud.aws.elbv2 import moto_bridge

    if not security_groups:  # the default VPC's default group, as Express Mode uses when given none
        vpc = moto_bridge.default_vpc(account, region)
        security_groups = sorted(g.id for g in moto_bridge.ec2(account, region).describe_security_groups()
                                 if g.vpc_id == vpc and g.name == "default")
    lb = elbv2.create_load_balancer(state, account, region, f"ecs-express-gateway-alb-{suffix}", subnets=subnets,
                                    security_groups=security_groups)
    group = elbv2.create_target_group(state, account, region, f"ecs-gateway-tg-{suffix}", port,
                                      health_check_path=health_check_path, vpc_id=lb["VpcId"])
    listener = elbv2.create_listener(state, account, region, lb["LoadBalancerArn"], 443, protocol="HTTPS",
                                     default_actions=[{"Type": "fixed-response", "FixedResponseConfig": {
                                         "StatusCode": "404", "ContentType": "text/plain"}}])
    be = moto_bridge.backend(account, region)
    rule = be.create_rule(listener["ListenerArn"],
                          [{"Field": "host-header", "HostHeaderConfig": {"Values": [endpoint]}}], 1,
                          [{"Type": "forward", "TargetGroupArn": group["TargetGroupArn"], "Order": 1}])
    moto_lb = be.load_balancers[lb["LoadBalancerArn"]]
    elbv2.sync(state, account, region)
    balancing = Balancing(load_balancer_arn=lb["LoadBalancerArn"], dns_name=lb["DNSName"],
                          listener_arn=listener["ListenerArn"], rule_arn=rule.arn,
                          target_group_arn=group["TargetGroupArn"], security_groups=list(moto_lb.security_groups),
                          subnets=[s.id if hasattr(s, "id") else s for s in moto_lb.subnets])
    _route_endpoint(state, endpoint, balancing)
    return balancing


def _route_endpoint(state, endpoint: str, balancing: Balancing) -> None:
    """The endpoint's name reaches the ALB's listener (whose host-header rule picks the service's
    target group), on port 80 here: the local cloud answers these names in plain HTTP."""
    from labkit.cloud.ingress import Route

    def listener_route():
        return next((r for r in state.ingress.routes() if r.owner == balancing.listener_arn), None)

    def pick(environ):
        route = listener_route()
        return route.pick(environ) if route is not None else None

    state.ingress.add(Route(host=endpoint, port=80, pick=pick, owner=endpoint,
                            unavailable=lambda: (503, "503 Service Temporarily Unavailable")))


def set_health_check_path(state, account: str, region: str, target_group_arn: str, path: str) -> None:
    from labkit.cloud.aws import elbv2
    from labkit.cloud.aws.elbv2 import moto_bridge

    moto_bridge.backend(account, region).modify_target_group(target_group_arn, healthcheck_path=path)
    elbv2.sync(state, account, region)


def delete(state, account: str, region: str, endpoint: str, balancing: Balancing) -> None:
    from labkit.cloud.aws import elbv2
    from labkit.cloud.aws.elbv2 import moto_bridge

    state.ingress.remove(endpoint)
    be = moto_bridge.backend(account, region)
    for remove in (lambda: be.delete_rule(balancing.rule_arn), lambda: be.delete_listener(balancing.listener_arn),
                   lambda: elbv2.delete_load_balancer(state, account, region, balancing.load_balancer_arn),
                   lambda: elbv2.delete_target_group(state, account, region, balancing.target_group_arn)):
        try:
            remove()
        except Exception:  # already gone (the student deleted it by hand): nothing left to remove
            pass
    elbv2.sync(state, account, region)
