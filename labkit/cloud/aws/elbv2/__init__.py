"""Elastic Load Balancing v2 (Application Load Balancers) on the local cloud: moto's control plane
where it is right, this project's layer where it is not (api.py), and a data plane that really
splits traffic: each ALB listener is a route of the cloud's ingress, forwarding by rules, weights and
target health (dataplane.py, routing.py, health.py). docs/fidelity.md, "ELBv2 (ALB)".

Other services use it in process through the functions below (local_api.py); nothing here imports
moto until a call needs it.
"""
from labkit.cloud.aws.elbv2.errors import Elbv2Error
from labkit.cloud.aws.elbv2.local_api import (create_listener, create_load_balancer, create_target_group,
                                              delete_load_balancer, delete_target_group, deregister_targets,
                                              forward, register_targets, sync, target_health)

__all__ = ["Elbv2Error", "create_listener", "create_load_balancer", "create_target_group", "delete_load_balancer",
           "delete_target_group", "deregister_targets", "forward", "register_targets", "sync", "target_health"]
