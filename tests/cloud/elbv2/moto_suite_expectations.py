"""What each of moto's own ELBv2 tests (moto's sdist, tests/test_elbv2/) does against the local cloud's
ELBv2, one bucket per test. test_moto_suite.py runs them and holds the cloud to these buckets.

Keys are "FILE::TEST[PARAMS]" inside moto's tests/test_elbv2/. The buckets:
- PASSES: must pass against our ELBv2 (labkit/cloud/aws/elbv2 in front of moto's).
- NOT_APPLICABLE: not run; the reason says why the test says nothing about our ELBv2, or why it is
  left out of a suite that must stay within 45 s on 2 cores (moto's whole folder takes ~75 s here).
- MOTO_QUIRKS: moto asserts something a real ALB does not do; each entry says what moto asserts,
  what AWS does, and where that is written. Expected to fail.
- NOT_EMULATED: the test needs an operation neither we nor moto serve. Expected to fail.
- OUR_BUGS: the local cloud is wrong and the fix is not done yet. Expected to fail.

Made for moto 5.2.5 (the version pinned in pyproject.toml). For another version the suite names the
tests that are new, gone or moved, and this file is where they get their bucket.
"""
from __future__ import annotations

from tests.cloud.moto_suite import Quirk

MOTO_VERSION = "5.2.5"

# -- reasons shared by many tests ---------------------------------------------------------------------
CLOUDFORMATION = ("CloudFormation is moto's: its stacks create ELBv2 resources in moto's backend directly, past "
                  "the checks and corrections of labkit/cloud/aws/elbv2 (and one stack alone takes ~15 s)")
IN_PROCESS = ("calls moto's own server app inside the test process (moto.server.create_backend_app): it never "
              "reaches the local cloud")
RUNNING_INSTANCES = ("verified by moto against AWS with EC2 instances that run Apache (user data): moto's instances "
                     "run nothing, so their health checks time out here and the target_in_service waiter polls for "
                     "10 minutes; ip targets that answer on 127.0.0.1 are tested in tests/cloud/elbv2/")
NOT_ALB = ("a Network or Gateway Load Balancer feature (TCP/TLS/UDP/TCP_UDP/GENEVE listeners and target groups, "
           "their stickiness, health check rules and attributes, ALPN): the local cloud routes Application Load "
           "Balancers only, so these are moto's control plane unchanged; left out to keep the suite within its "
           "time budget")
OUTSIDE_ALB_ROUTING = ("an ALB setting that moto stores and labkit/cloud/aws/elbv2 neither checks nor uses (load "
                       "balancer attributes, IP address types, security groups, SetSubnets, SSL policies, account "
                       "limits, capacity reservations, authenticate-cognito/-oidc actions, which the data plane "
                       "skips): moto's control plane unchanged, outside the course's ALB; left out to keep the suite "
                       "within its time budget")

PASSES = frozenset({
    "test_elbv2.py::test_create_elb_using_subnetmapping",
    "test_elbv2.py::test_describe_load_balancers",
    "test_elbv2.py::test_describe_listeners",
    "test_elbv2.py::test_add_remove_tags",
    "test_elbv2.py::test_create_elb_in_multiple_region",
    "test_elbv2.py::test_create_listeners_without_port[application]",
    "test_elbv2.py::test_create_listeners_without_protocol[application]",
    "test_elbv2.py::test_create_listeners_with_invalid_protocol[application-GENEVE-Listener protocol 'GENEVE' must "
    "be one of 'HTTP, HTTPS']",
    "test_elbv2.py::test_create_listeners_with_invalid_protocol[application-TCP-Listener protocol 'TCP' must be one "
    "of 'HTTP, HTTPS']",
    "test_elbv2.py::test_create_listeners_with_invalid_protocol[application-UDP-Listener protocol 'UDP' must be one "
    "of 'HTTP, HTTPS']",
    "test_elbv2.py::test_create_listeners_with_invalid_protocol[application-TCP_UDP-Listener protocol 'TCP_UDP' must "
    "be one of 'HTTP, HTTPS']",
    "test_elbv2.py::test_create_listeners_with_invalid_protocol[application-TLS-Listener protocol 'TLS' must be one "
    "of 'HTTP, HTTPS']",
    "test_elbv2.py::test_create_listeners_with_invalid_protocol[application-INVALID-exception_message8]",
    "test_elbv2.py::test_create_rule_forward_config_as_second_arg",
    "test_elbv2.py::test_describe_paginated_balancers",
    "test_elbv2.py::test_delete_load_balancer",
    "test_elbv2.py::test_create_rule_priority_in_use",
    "test_elbv2.py::test_modify_rule_conditions",
    "test_elbv2.py::test_handle_listener_rules",
    "test_elbv2.py::test_modify_listener_http_to_https",
    "test_elbv2.py::test_add_unknown_listener_certificate",
    "test_elbv2.py::test_describe_unknown_listener_certificate",
    "test_elbv2.py::test_describe_listener_certificates_with_default_field",
    "test_elbv2.py::test_forward_config_action",
    "test_elbv2.py::test_forward_config_action__with_stickiness",
    "test_elbv2.py::test_redirect_action_listener_rule",
    "test_elbv2.py::test_fixed_response_action_listener_rule",
    "test_elbv2.py::test_fixed_response_action_listener_rule_validates_status_code",
    "test_elbv2.py::test_fixed_response_action_listener_rule_validates_content_type",
    "test_elbv2_listener_rule_tags.py::test_create_listener_rule_with_tags",
    "test_elbv2_listener_rule_tags.py::test_listener_rule_add_remove_tags",
    "test_elbv2_listener_rule_tags.py::test_remove_tags_to_invalid_listener_rule",
    *(f"test_elbv2_listener_rules.py::test_create_rule_condition[condition{i}]" for i in range(8)),
    *(f"test_elbv2_listener_rules.py::test_modify_rule_condition[create_condition{i}-modify_condition{i}]"
      for i in range(3)),
    "test_elbv2_listener_rules.py::test_describe_unknown_rule",
    *(f"test_elbv2_listener_rules.py::test_create_rule_action[action{i}]" for i in range(4)),
    "test_elbv2_listener_rules.py::test_create_rule_action_forward_config",
    "test_elbv2_listener_rules.py::test_create_rule_action_forward_target_group",
    *(f"test_elbv2_listener_rules.py::test_create_rule_validate_condition[{case}]" for case in (
        "condition0-The 'host-header' value is too long; the limit is '128'",
        "condition1-The 'host-header' value is too long; the limit is '128'",
        "condition2-The 'host-header' field contains too many values; the limit is '1'",
        "condition3-A condition value must be specified",
        "condition4-A condition value must be specified",
        "condition5-The 'path-pattern' value is too long; the limit is '128'",
        "condition6-The 'path-pattern' value is too long; the limit is '128'",
        "condition7-The 'path-pattern' field contains too many values; the limit is '1'",
        "condition8-A condition value must be specified",
        "condition9-A condition value must be specified",
        "condition10-The 'HttpHeaderName' value is too long; the limit is '40'",
        "condition11-The 'http-header' value is too long; the limit is '128'",
        "condition12-The 'http-request-method' value is invalid; the allowed characters are A-Z, hyphen and underscore",
        "condition13-The 'http-request-method' value is too long; the limit is '40'",
        "condition14-A 'HttpRequestMethodConfig' must be specified with 'http-request-method'",
        "condition15-The 'Key' value is too long; the limit is '128'",
        "condition16-The 'Value' value is too long; the limit is '128'",
        "condition17-A 'Value' must be specified in 'QueryStringKeyValuePair'",
        "condition18-A 'source-ip' value must be specified",
        "condition19-A 'SourceIpConfig' must be specified with 'source-ip'",
    )),
    "test_elbv2_listener_tags.py::test_create_listener_with_tags",
    "test_elbv2_listener_tags.py::test_listener_add_remove_tags",
    "test_elbv2_listener_tags.py::test_remove_tags_to_invalid_listener",
    "test_elbv2_target_groups.py::test_create_target_group_with_invalid_healthcheck_protocol",
    "test_elbv2_target_groups.py::test_create_target_group_with_tags",
    "test_elbv2_target_groups.py::test_remove_tags_to_invalid_target_group",
    "test_elbv2_target_groups.py::test_create_target_group_and_listeners",
    "test_elbv2_target_groups.py::test_create_target_group_without_non_required_parameters",
    "test_elbv2_target_groups.py::test_create_invalid_target_group_long_name",
    *(f"test_elbv2_target_groups.py::test_create_invalid_target_group_invalid_characters[{name}]"
      for name in ("-name", "name-", "-name-", "Na--me")),
    *(f"test_elbv2_target_groups.py::test_create_invalid_target_group_alphanumeric_characters[{name}]"
      for name in ("example.com", "test@test")),
    *(f"test_elbv2_target_groups.py::test_create_valid_target_group_valid_names[{name}]"
      for name in ("name", "Name", "000")),
    "test_elbv2_target_groups.py::test_target_group_attributes",
    "test_elbv2_target_groups.py::test_create_target_group_invalid_protocol",
    "test_elbv2_target_groups.py::test_describe_invalid_target_group",
    "test_elbv2_target_groups.py::test_describe_target_groups_with_empty_load_balancer",
    "test_elbv2_target_groups.py::test_modify_target_group",
    *(f"test_elbv2_target_groups.py::test_create_target_group_with_target_type[{kind}]"
      for kind in ("instance", "ip", "lambda", "alb", "other")),
    "test_elbv2_target_groups.py::test_delete_target_group_after_modifying_listener",
    "test_elbv2_target_groups.py::test_create_listener_with_multiple_target_groups",
    "test_elbv2_target_groups.py::test_create_listener_with_invalid_target_group",
    "test_elbv2_target_groups.py::test_delete_target_group_while_listener_still_exists",
    "test_elbv2_target_groups.py::test_create_target_group_validation_error",
    "test_elbv2_target_groups.py::test_create_target_group_healthcheck_validation[HTTP-True]",
    "test_elbv2_target_groups.py::test_create_target_group_healthcheck_validation[HTTPS-True]",
    *(f"test_elbv2_target_groups.py::test_target_group_attributes_stickiness[{case}]" for case in (
        "HTTP-True-source_ip-Stickiness type 'source_ip' is not supported for target groups with the HTTP protocol",
        "HTTPS-True-source_ip-Stickiness type 'source_ip' is not supported for target groups with the HTTPS protocol",
        "HTTP-False-lb_cookie-",
        "HTTPS-False-lb_cookie-",
        "HTTP-False-app_cookie-",
        "HTTPS-False-app_cookie-",
        "HTTP-True-source_ip_dest_ip-'Stickiness type' must be one of [app_cookie, lb_cookie, source_ip]",
        "HTTPS-True-source_ip_dest_ip-'Stickiness type' must be one of [app_cookie, lb_cookie, source_ip]",
        "HTTPS-True-source_ip_dest_ip_proto-'Stickiness type' must be one of [app_cookie, lb_cookie, source_ip]",
        "HTTP-True-source_ip_dest_ip_proto-'Stickiness type' must be one of [app_cookie, lb_cookie, source_ip]",
    )),
    "test_elbv2_target_health.py::test_describe_unknown_targets",
})

_NOT_ALB_STICKINESS = (
    "TCP-False-source_ip-",
    "TLS-True-source_ip-You cannot enable stickiness on target groups with the TLS protocol",
    "UDP-False-source_ip-",
    "TCP_UDP-False-source_ip-",
    "GENEVE-True-source_ip-'source_ip' must be one of [source_ip_dest_ip_proto, source_ip_dest_ip]",
    "TCP-True-lb_cookie-Stickiness type 'lb_cookie' is not supported for target groups with the TCP protocol",
    "TLS-True-lb_cookie-Stickiness type 'lb_cookie' is not supported for target groups with the TLS protocol",
    "UDP-True-lb_cookie-Stickiness type 'lb_cookie' is not supported for target groups with the UDP protocol",
    "TCP_UDP-True-lb_cookie-Stickiness type 'lb_cookie' is not supported for target groups with the TCP_UDP protocol",
    "GENEVE-True-lb_cookie-'lb_cookie' must be one of [source_ip_dest_ip_proto, source_ip_dest_ip]",
    "TCP-True-app_cookie-Stickiness type 'app_cookie' is not supported for target groups with the TCP protocol",
    "TLS-True-app_cookie-Stickiness type 'app_cookie' is not supported for target groups with the TLS protocol",
    "UDP-True-app_cookie-Stickiness type 'app_cookie' is not supported for target groups with the UDP protocol",
    "TCP_UDP-True-app_cookie-Stickiness type 'app_cookie' is not supported for target groups with the TCP_UDP "
    "protocol",
    "GENEVE-True-app_cookie-Target group attribute key 'stickiness.app_cookie.cookie_name' is not recognized",
    "TCP-True-source_ip_dest_ip-'Stickiness type' must be one of [app_cookie, lb_cookie, source_ip]",
    "TLS-True-source_ip_dest_ip-'Stickiness type' must be one of [app_cookie, lb_cookie, source_ip]",
    "UDP-True-source_ip_dest_ip-'Stickiness type' must be one of [app_cookie, lb_cookie, source_ip]",
    "TCP_UDP-True-source_ip_dest_ip-'Stickiness type' must be one of [app_cookie, lb_cookie, source_ip]",
    "GENEVE-False-source_ip_dest_ip-",
    "TCP-True-source_ip_dest_ip_proto-'Stickiness type' must be one of [app_cookie, lb_cookie, source_ip]",
    "TLS-True-source_ip_dest_ip_proto-'Stickiness type' must be one of [app_cookie, lb_cookie, source_ip]",
    "UDP-True-source_ip_dest_ip_proto-'Stickiness type' must be one of [app_cookie, lb_cookie, source_ip]",
    "TCP_UDP-True-source_ip_dest_ip_proto-'Stickiness type' must be one of [app_cookie, lb_cookie, source_ip]",
    "GENEVE-False-source_ip_dest_ip_proto-",
)

NOT_APPLICABLE = {
    **{f"test_elbv2_cloudformation.py::{name}": CLOUDFORMATION for name in (
        "test_redirect_action_listener_rule_cloudformation",
        "test_cognito_action_listener_rule_cloudformation",
        "test_create_target_groups_through_cloudformation",
        "test_fixed_response_action_listener_rule_cloudformation",
        "test_https_listener_rule_with_certificate_cloudformation",
    )},
    "test_server.py::test_elbv2_describe_load_balancers": IN_PROCESS,
    "test_elbv2_target_health.py::test_register_targets": RUNNING_INSTANCES,
    **{f"test_elbv2_target_groups.py::test_target_group_attributes_stickiness[{case}]": NOT_ALB
       for case in _NOT_ALB_STICKINESS},
    **{f"test_elbv2_target_groups.py::test_create_target_group_healthcheck_validation[{proto}-False]": NOT_ALB
       for proto in ("TCP", "TLS", "UDP", "TCP_UDP")},
    **{f"test_elbv2.py::{name}": NOT_ALB for name in (
        "test_create_listeners_without_port[network]",
        "test_create_listeners_without_protocol[network]",
        "test_create_listeners_with_invalid_protocol[network-GENEVE-Listener protocol 'GENEVE' must be one of "
        "'UDP, TCP, TLS, TCP_UDP']",
        "test_create_listeners_with_invalid_protocol[network-HTTP-Listener protocol 'HTTP' must be one of "
        "'UDP, TCP, TLS, TCP_UDP']",
        "test_create_listeners_with_invalid_protocol[network-HTTPS-Listener protocol 'HTTPS' must be one of "
        "'UDP, TCP, TLS, TCP_UDP']",
        "test_create_listeners_with_invalid_protocol[network-INVALID-exception_message9]",
        "test_create_gateway_listener_with_invalid_params[Port-80-A port cannot be specified for gateway listeners]",
        "test_create_gateway_listener_with_invalid_params[Protocol-TCP-A protocol cannot be specified for gateway "
        "listeners]",
        "test_create_listener_with_alpn_policy",
        "test_modify_load_balancer_attributes_secondary_ips_auto_assigned_per_subnet",
    )},
    **{f"test_elbv2.py::{name}": OUTSIDE_ALB_ROUTING for name in (
        "test_describe_account_limits",
        "test_describe_ssl_policies",
        "test_describe_capacity_reservation",
        "test_set_ip_address_type",
        "test_create_dualstack_load_balancer",
        "test_ip_address_type_validation",
        "test_set_security_groups",
        "test_modify_load_balancer_attributes_idle_timeout",
        "test_modify_load_balancer_attributes_routing_http2_enabled",
        "test_modify_load_balancer_attributes_crosszone_enabled",
        "test_modify_load_balancer_attributes_client_keep_alive",
        "test_modify_load_balancer_attributes_routing_http_drop_invalid_header_fields_enabled",
        "test_describe_load_balancer_attributes_default",
        "test_modify_load_balancer_attributes_connection_logs_s3",
        "test_cognito_action_listener_rule",
        "test_oidc_action_listener__simple",
        "test_oidc_action_listener[True]",
        "test_oidc_action_listener[False]",
    )},
    "test_elbv2_set_subnets.py::test_set_subnets_errors": OUTSIDE_ALB_ROUTING,
    "test_elbv2_set_subnets.py::test_set_subnets__mapping": OUTSIDE_ALB_ROUTING,
}

# -- what moto asserts that a real ALB does not do ------------------------------------------------------
_API = "https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference"
_ONE_SUBNET = Quirk(
    moto="an Application Load Balancer is created with a single subnet (one Availability Zone)",
    real="CreateLoadBalancer refuses it: \"[Application Load Balancers] You must specify subnets from at least two "
         "Availability Zones\" (ours: ValidationError \"At least two subnets in two different Availability Zones "
         "must be specified\", as seen in public Terraform/CDK reports)",
    source=f"{_API}/API_CreateLoadBalancer.html#API_CreateLoadBalancer_RequestParameters (Subnets)")
_INSTANCE_TARGET_HEALTH = Quirk(  # what these tests assert next (stopped: unused Target.InvalidState;
    # terminated: deregistered) is AWS's too, and ours (tests/cloud/elbv2/test_targets.py)
    moto="a registered instance target is `healthy` at once, in a target group no listener uses, and its "
         "HealthCheckPort is the literal \"traffic-port\"",
    real="a target of a group that no load balancer uses is `unused` with Target.NotInUse (\"The target group is "
         "not used by any load balancer\"); HealthCheckPort is \"the port to use to connect with the target\", the "
         "target's port number for traffic-port (the API reference's example: \"HealthCheckPort\": \"80\")",
    source=f"{_API}/API_TargetHealth.html; {_API}/API_TargetHealthDescription.html; "
           f"{_API}/API_DescribeTargetHealth.html (examples)")

MOTO_QUIRKS = {
    "test_elbv2.py::test_create_load_balancer": Quirk(
        moto="every load balancer's DNS name is NAME-1.REGION.elb.amazonaws.com, an internal one included",
        real="NAME-NUMBER.REGION.elb.amazonaws.com, and internal-NAME-NUMBER.REGION.elb.amazonaws.com for an internal "
             "load balancer (the API reference's examples: my-load-balancer-424835706.us-west-2.elb.amazonaws.com, "
             "internal-my-internal-load-balancer-1529930873.us-west-2.elb.amazonaws.com)",
        source=f"{_API}/API_CreateLoadBalancer.html#API_CreateLoadBalancer_Examples"),
    "test_elbv2.py::test_register_targets": Quirk(
        moto="DeregisterTargets with an instance id alone removes the target registered on port 4030 (a port "
             "override), so it is gone from DescribeTargetHealth",
        real="\"If you specified a port override when you registered a target, you must specify both the target ID "
             "and the port when you deregister it\": with the id alone (the group's port) nothing matches, which is "
             "no error, and the target stays registered",
        source=f"{_API}/API_DeregisterTargets.html#API_DeregisterTargets_RequestParameters"),
    "test_elbv2.py::test_stopped_instance_target": _INSTANCE_TARGET_HEALTH,
    "test_elbv2.py::test_terminated_instance_target": _INSTANCE_TARGET_HEALTH,
    "test_elbv2.py::test_modify_listener_of_https_target_group": _ONE_SUBNET,
    "test_elbv2.py::test_add_listener_certificate": _ONE_SUBNET,
    "test_elbv2_integration.py::test_modify_listener_using_iam_certificate": _ONE_SUBNET,
    "test_elbv2_listener_attributes.py::test_modify_listener_attributes[tcp.idle_timeout.seconds-350-360]": Quirk(
        moto="an Application Load Balancer with a single subnet, and tcp.idle_timeout.seconds (a Network Load "
             "Balancer TCP listener's attribute) as the attribute of its HTTPS listener",
        real="CreateLoadBalancer refuses one subnet for an ALB (\"You must specify subnets from at least two "
             "Availability Zones\"); tcp.idle_timeout.seconds applies to TCP listeners of Network Load Balancers",
        source=f"{_API}/API_CreateLoadBalancer.html#API_CreateLoadBalancer_RequestParameters (Subnets); "
               f"{_API}/API_ListenerAttribute.html"),
    "test_elbv2_target_groups.py::test_describe_target_groups": Quirk(
        moto="a second CreateListener on port 80 of the same load balancer, forwarding elsewhere, adds a listener",
        real="CreateListener is idempotent only for the same settings; another listener on a port that has one is "
             "DuplicateListener (\"A listener already exists on this port for this load balancer\")",
        source=f"{_API}/API_CreateListener.html (\"If you attempt to create multiple listeners with the same "
               f"settings, each call succeeds\"; errors: DuplicateListener)"),
}

# -- operations neither we nor moto serve -------------------------------------------------------------------
NOT_EMULATED: dict[str, str] = {}

# -- the local cloud is wrong, not fixed yet ----------------------------------------------------------------
OUR_BUGS: dict[str, str] = {}
