"""ELBv2's errors as the real service words them (code, message, HTTP status), for the answers this
project's layer gives itself; moto's own errors pass through unchanged."""
from __future__ import annotations


class Elbv2Error(Exception):
    def __init__(self, code: str, message: str, status: int = 400):
        super().__init__(message)
        self.code, self.message, self.status = code, message, status


def target_group_not_found(arn: str | None = None) -> Elbv2Error:
    # moto's words for both cases, which are the service's
    if arn:
        return Elbv2Error("TargetGroupNotFound", f"Target group '{arn}' not found")
    return Elbv2Error("TargetGroupNotFound", "One or more target groups not found")


def invalid_target(detail: str | None = None) -> Elbv2Error:
    return Elbv2Error("InvalidTarget", detail or "The specified target does not exist, is not in the same VPC as the "
                                                "target group, or has an unsupported instance type.")


def validation(message: str) -> Elbv2Error:
    return Elbv2Error("ValidationError", message)


def duplicate_load_balancer(name: str) -> Elbv2Error:
    return Elbv2Error("DuplicateLoadBalancerName",
                      f"A load balancer with the same name '{name}' exists, but with different settings")


def duplicate_target_group(name: str) -> Elbv2Error:
    return Elbv2Error("DuplicateTargetGroupName",
                      f"A target group with the same name '{name}' exists, but with different settings")


def duplicate_listener(load_balancer_arn: str) -> Elbv2Error:
    return Elbv2Error("DuplicateListener",
                      f"A listener already exists on this port for this load balancer '{load_balancer_arn}'")


def internal(exc: Exception) -> Elbv2Error:
    return Elbv2Error("InternalFailure", f"labkit local cloud error: {type(exc).__name__}: {exc}", 500)
