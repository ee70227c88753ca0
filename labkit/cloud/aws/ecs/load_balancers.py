"""CreateService/UpdateService's `loadBalancers` checked as ECS checks them against ELBv2 (moto's backend
in process, imported only when a service names a target group): the group exists, a listener or rule
forwards to it, its target type fits the task's network mode, and the container and port exist in the
task definition. The tasks are registered as targets by the scheduler (scheduler.py, `_load_balancing`).

Messages: "does not have an associated load balancer" and the target-type one as ECS answers them
(seen in public issue reports); the others composed in ECS's style (docs/fidelity.md, ECS).
"""
from __future__ import annotations

from labkit.cloud.aws.ecs import errors


def _target_group(account: str, region: str, arn: str):
    from moto.elbv2.models import elbv2_backends

    return elbv2_backends[account][region].target_groups.get(arn)


def validate(account: str, region: str, load_balancers: list, definition: dict) -> None:
    containers = {c.get("name"): c for c in definition.get("containerDefinitions") or []}
    for balancer in load_balancers or []:
        if not isinstance(balancer, dict):
            raise errors.InvalidParameter("loadBalancers must be a list of objects.")
        arn = balancer.get("targetGroupArn")
        if not arn:
            if balancer.get("loadBalancerName"):
                raise errors.InvalidParameter("The labkit local cloud serves Application Load Balancers only: "
                                              "name a targetGroupArn.")
            raise errors.InvalidParameter("targetGroupArn can not be blank.")
        group = _target_group(account, region, arn)
        if group is None:
            raise errors.InvalidParameter(f"The target group with targetGroupArn {arn} does not exist.")
        if not group.load_balancer_arns:
            raise errors.InvalidParameter(f"The target group with targetGroupArn {arn} does not have an "
                                          f"associated load balancer.")
        mode = definition.get("networkMode") or "bridge"
        if mode == "awsvpc" and group.target_type != "ip":
            raise errors.InvalidParameter(f"The provided target group {arn} has target type {group.target_type}, "
                                          f"which is incompatible with the awsvpc network mode specified in the "
                                          f"task definition.")
        name, port = balancer.get("containerName"), balancer.get("containerPort")
        if name not in containers:
            raise errors.InvalidParameter(f"The container {name} does not exist in the task definition.")
        mapped = {int(m.get("containerPort")) for m in containers[name].get("portMappings") or []
                  if m.get("containerPort") is not None}
        if port is None or int(port) not in mapped:
            raise errors.InvalidParameter(f"The container {name} did not have a container port {port} defined.")
