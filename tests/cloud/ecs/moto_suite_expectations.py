"""What each of moto's own ECS tests (moto's sdist, tests/test_ecs/) does against the local cloud's
ECS, one bucket per test. test_moto_suite.py runs them and holds the cloud to these buckets.

Keys are "FILE::TEST[PARAMS]" inside moto's tests/test_ecs/. The buckets:
- PASSES: must pass against our ECS.
- NOT_APPLICABLE: not run; the reason says why the test says nothing about our ECS.
- MOTO_QUIRKS: moto asserts something real ECS does not do; each entry says what moto asserts,
  what ECS does, and where that is written or seen. Expected to fail.
- NOT_EMULATED: the test needs an operation the local cloud answers 501 NotImplemented (api.KNOWN).
  Expected to fail.
- OUR_BUGS: the local cloud is wrong and the fix is not done yet. Expected to fail.

Made for moto 5.2.5 (the version pinned in pyproject.toml). For another version the suite names the
tests that are new, gone or moved, and this file is where they get their bucket.
"""
from __future__ import annotations

from tests.cloud.moto_suite import Quirk

MOTO_VERSION = "5.2.5"


# -- reasons shared by many tests ---------------------------------------------------------------------
CONTAINER_INSTANCES = ("needs EC2 container instances (RegisterContainerInstance, StartTask, attributes, or a "
                       "task placed on an instance): the local cloud runs Fargate only")
MOTO_SETTINGS = ("drives moto's own process (MOTO_ECS_* environment variables, its state manager): moto skips "
                 "it in server mode, and in any case it reaches moto, not our ECS")
CLOUDFORMATION = ("CloudFormation is moto's: its stacks create ECS resources in moto's ECS backend, which the "
                  "local cloud does not serve (our ECS never sees them)")

PASSES = frozenset({
    "test_ecs.py::test_create_cluster",
    "test_ecs.py::test_create_cluster_with_capacity_providers",
    "test_ecs.py::test_put_capacity_providers",
    "test_ecs.py::test_list_clusters",
    "test_ecs.py::test_describe_clusters_missing",
    "test_ecs.py::test_delete_cluster",
    "test_ecs.py::test_delete_cluster_exceptions",
    "test_ecs.py::test_register_task_definition_fargate_with_pid_mode",
    "test_ecs.py::test_register_task_definition_memory_validation_ec2",
    "test_ecs.py::test_register_task_definition_container_definition_validation[ecs_def0-name]",
    "test_ecs.py::test_register_task_definition_container_definition_validation[ecs_def1-image]",
    "test_ecs.py::test_list_task_definitions",
    "test_ecs.py::test_list_task_definitions_with_family_prefix",
    "test_ecs.py::test_list_task_definitions_with_status_filter",
    "test_ecs.py::test_describe_task_definitions",
    "test_ecs.py::test_deregister_task_definition_1",
    "test_ecs.py::test_list_unknown_service[no args]",
    "test_ecs.py::test_list_unknown_service[unknown]",
    "test_ecs.py::test_describe_services_error_unknown_cluster",
    "test_ecs.py::test_describe_services_with_known_unknown_services",
    "test_ecs.py::test_update_missing_service",
    "test_ecs.py::test_delete_service__using_arns",
    "test_ecs.py::test_delete_service_exceptions",
    "test_ecs.py::test_update_service_exceptions",
    "test_ecs.py::test_run_task_with_launch_type_and_capacity_provider_strategy_fails",
    "test_ecs.py::test_list_tasks_exceptions",
    "test_ecs.py::test_describe_tasks_exceptions",
    "test_ecs.py::test_stop_task_exceptions",
    "test_ecs.py::test_list_task_definition_families",
    "test_ecs.py::test_list_tags_for_resource",
    "test_ecs.py::test_list_tags_for_resource_ecs_service",
    "test_ecs.py::test_ecs_service_untag_resource",
    "test_ecs.py::test_ecs_service_untag_resource_multiple_tags",
    "test_ecs.py::test_ecs_task_definition_placement_constraints",
    "test_ecs_efs.py::test_register_task_definition__use_efs_root",
    "test_ecs_task_def_tags.py::test_describe_task_definition_with_tags",
})

NOT_APPLICABLE = {
    **{f"test_ecs.py::{name}": CONTAINER_INSTANCES for name in (
        "test_create_service",
        "test_register_container_instance",
        "test_deregister_container_instance",
        "test_list_container_instances",
        "test_describe_container_instances",
        "test_describe_container_instances_exceptions",
        "test_list_container_instances_filter_by_status",
        "test_update_container_instances_state",
        "test_update_container_instances_state_by_arn",
        "test_run_task",
        "test_run_task_with_capacity_provider_strategy_ec2",
        "test_run_task_awsvpc_network",
        "test_run_task_awsvpc_network__unknown_sec_group",
        "test_run_task_awsvpc_network_error",
        "test_start_task",
        "test_start_task_with_tags",
        "test_start_task_exceptions",  # passes only because StartTask's 501 is a ClientError too
        "test_list_tasks",
        "test_describe_tasks",
        "test_describe_tasks_reports_container_cpu_and_memory",
        "test_describe_tasks_empty_tags",
        "test_describe_tasks_include_tags",
        "test_stop_task",
        "test_resource_reservation_and_release",
        "test_resource_reservation_and_release_memory_reservation",
        "test_task_definitions_unable_to_be_placed",
        "test_task_definitions_with_port_clash",
        "test_attributes",
        "test_default_container_instance_attributes",
        "test_describe_container_instances_with_attributes",
        "test_list_tasks_with_filters",
        "test_service_exceptions[net_config0-error_message0]",
        "test_service_exceptions[net_config1-error_message1]",
        "test_service_exceptions[net_config2-subnets can not be empty.]",
    )},
    "test_ecs_account_settings.py::test_put_account_setting_changes_containerinstance_arn": CONTAINER_INSTANCES,
    "test_ecs_account_settings.py::test_run_task_default_cluster_new_arn_format": CONTAINER_INSTANCES,
    "test_ecs_task_tags.py::test_describe_tasks_include_tags": CONTAINER_INSTANCES,
    "test_ecs_task_tags.py::test_add_tags_to_task": CONTAINER_INSTANCES,
    "test_ecs_tasksets.py::test_create_task_set_and_list_tasks": CONTAINER_INSTANCES,
    **{f"test_ecs.py::{name}": MOTO_SETTINGS for name in (
        "test_create_running_service",
        "test_create_running_service_bad_env_var",
        "test_create_running_service_negative_env_var",
        "test_create_service_rollout_state_completed",
        "test_create_service_failed_tasks_env_var",
        "test_create_service_failed_tasks_invalid_env_var",
        "test_describe_services_new_arn",
        "test_register_container_instance_new_arn_format",
        "test_wait_tasks_stopped",
        "test_task_state_transitions",
        "test_run_task_default_cluster_new_arn_format",
    )},
    **{f"test_ecs_cloudformation.py::{name}": CLOUDFORMATION for name in (
        "test_update_task_definition_family_through_cloudformation_should_trigger_a_replacement",
        "test_create_service_through_cloudformation",
        "test_create_service_through_cloudformation_without_desiredcount",
        "test_update_service_through_cloudformation_should_trigger_replacement",
        "test_update_service_through_cloudformation_without_desiredcount",
        "test_create_cluster_through_cloudformation",
        "test_create_cluster_through_cloudformation_no_name",
        "test_update_cluster_name_through_cloudformation_should_trigger_a_replacement",
        "test_create_task_definition_through_cloudformation",
        "test_cloudformation_container_definition_validation",
    )},
}

# -- what moto asserts that ECS does not do -------------------------------------------------------------
_DOCS = "https://docs.aws.amazon.com/AmazonECS/latest"
_FARGATE_TASK_DEFINITION = Quirk(
    moto="a task definition with requiresCompatibilities FARGATE but no awsvpc / no task-level cpu / a cpu-memory "
         "pair Fargate lacks (512 CPU, 512 MiB) registers, networkMode silently becoming awsvpc",
    real="RegisterTaskDefinition refuses it: ClientException \"Fargate only supports network mode ‘awsvpc’.\", "
         "\"Fargate requires that 'cpu' be defined at the task level.\", \"No Fargate configuration exists for "
         "given values ...\"",
    source=f"{_DOCS}/developerguide/task_definition_parameters.html#network_mode (Fargate requires awsvpc); "
           f"{_DOCS}/developerguide/fargate-tasks-services.html#fargate-tasks-size")
_EC2_WITHOUT_INSTANCES = Quirk(
    moto="an EC2 service in a cluster with no container instances counts its tasks as pending (pendingCount 2, "
         "the cluster's pendingTasksCount 2) or even running right after UpdateService, and has no events",
    real="nothing can be placed: the counts stay 0 and the service records \"(service NAME) was unable to place "
         "a task because no container instance met all of its requirements. Reason: No Container Instances were "
         "found in your cluster.\"",
    source=f"{_DOCS}/developerguide/service-event-messages.html")
_NOT_FARGATE_COMPATIBLE = Quirk(
    moto="a task definition registered for EC2 (bridge network mode, no task-level cpu/memory) runs on FARGATE "
         "(launchType FARGATE or a FARGATE capacity provider)",
    real="InvalidParameterException \"Task definition does not support launch_type FARGATE.\": its "
         "compatibilities are [\"EC2\"] only",
    source=f"{_DOCS}/APIReference/API_TaskDefinition.html (compatibilities); "
           f"{_DOCS}/developerguide/task_definition_parameters.html#network_mode")
_EMPTY_TAGS = Quirk(
    moto="a cluster without tags has no \"tags\" key (ListTagsForResource; DescribeClusters with include TAGS)",
    real="ECS sends \"tags\": [] (an empty list in the response body: aws/aws-sdk-go#2883, where ECS's own "
         "HTTP response carried an empty tags list)",
    source="https://github.com/aws/aws-sdk-go/issues/2883; "
           f"{_DOCS}/APIReference/API_ListTagsForResource.html (response: tags)")
_TASK_DEFINITION_REQUIRED = Quirk(
    moto="CreateService without a taskDefinition (the default ECS deployment controller) creates the service",
    real="a task definition must be given for the ECS and CODE_DEPLOY deployment controllers "
         "(InvalidParameterException)",
    source=f"{_DOCS}/APIReference/API_CreateService.html#ECS-CreateService-request-taskDefinition")

MOTO_QUIRKS = {
    "test_ecs.py::test_create_cluster_with_setting": Quirk(
        moto="serviceConnectDefaults.namespace comes back as the name given (\"ns\"), and no namespace exists",
        real="a new name creates an HTTP namespace in Cloud Map, which the cluster then refers to by its ARN",
        source=f"{_DOCS}/APIReference/API_ClusterServiceConnectDefaultsRequest.html"),
    "test_ecs.py::test_create_cluster_with_tags": _EMPTY_TAGS,
    "test_ecs.py::test_describe_clusters": _EMPTY_TAGS,
    "test_ecs.py::test_register_task_definition": _FARGATE_TASK_DEFINITION,
    "test_ecs.py::test_register_task_definition_memory_validation_fargate": _FARGATE_TASK_DEFINITION,
    "test_ecs.py::test_deregister_task_definition_2": Quirk(
        moto="DeregisterTaskDefinition's texts \"Revision is missing.\" (no revision) and \"Unable to describe task "
             "definition.\" (a missing revision)",
        real="a revision is required (both refuse a bare family); ECS's exact texts were not found in a public "
             "log, ours are \"Invalid revision number. Number: \" and \"The specified task definition does not "
             "exist.\" (doubtful either way)",
        source=f"{_DOCS}/APIReference/API_DeregisterTaskDefinition.html (\"You must specify a revision.\")"),
    "test_ecs.py::test_create_service_errors": Quirk(
        moto="an unknown launch type is ClientException \"launch type should be one of [EC2,FARGATE]\"",
        real="the launch types are EC2, FARGATE, EXTERNAL and MANAGED_INSTANCES, so that text cannot be ECS's "
             "(ours: InvalidParameterException, composed)",
        source=f"{_DOCS}/APIReference/API_CreateService.html#ECS-CreateService-request-launchType"),
    "test_ecs.py::test_create_service_scheduling_strategy": _EC2_WITHOUT_INSTANCES,
    "test_ecs.py::test_list_services": Quirk(
        moto="a DAEMON service on FARGATE, and an EC2-only task definition on FARGATE, are created",
        real="Fargate does not support the daemon scheduling strategy, and an EC2-only task definition does not "
             "run on Fargate (InvalidParameterException)",
        source=f"{_DOCS}/developerguide/ecs_service-options.html (\"Fargate tasks do not support the DAEMON "
               f"scheduling strategy.\")"),
    "test_ecs.py::test_describe_services": _EC2_WITHOUT_INSTANCES,
    "test_ecs.py::test_describe_services_scheduling_strategy": _EC2_WITHOUT_INSTANCES,
    "test_ecs.py::test_update_service": _EC2_WITHOUT_INSTANCES,
    "test_ecs.py::test_delete_service": _EC2_WITHOUT_INSTANCES,
    "test_ecs.py::test_delete_service_force": Quirk(
        moto="DeleteService answers status INACTIVE at once, with no events",
        real="the service goes ACTIVE -> DRAINING while tasks are cleaned up, then INACTIVE; and an EC2 service "
             "without container instances has its \"unable to place a task\" event",
        source=f"{_DOCS}/APIReference/API_DeleteService.html"),
    "test_ecs.py::test_create_service_load_balancing": _EC2_WITHOUT_INSTANCES,
    "test_ecs.py::test_run_task_with_capacity_provider_strategy_fargate": Quirk(
        moto="RunTask with a FARGATE capacity provider the cluster does not have places the task",
        real="a capacity provider must be associated with the cluster before a strategy can use it "
             "(InvalidParameterException); the task definition is EC2-only as well",
        source=f"{_DOCS}/APIReference/API_CapacityProviderStrategyItem.html"),
    "test_ecs.py::test_run_task_uses_cluster_default_capacity_provider_strategy": _NOT_FARGATE_COMPATIBLE,
    "test_ecs.py::test_run_task_default_cluster": _NOT_FARGATE_COMPATIBLE,
    "test_ecs.py::test_run_task_exceptions": Quirk(
        moto="an unknown launch type is InvalidParameterException \"launch type should be one of "
             "[EC2,FARGATE,EXTERNAL]\", checked before the cluster exists",
        real="the launch types are EC2, FARGATE, EXTERNAL and MANAGED_INSTANCES, so that text cannot be ECS's; "
             "we answer ClusterNotFoundException first (order: our guess)",
        source=f"{_DOCS}/APIReference/API_RunTask.html#ECS-RunTask-request-launchType"),
    "test_ecs.py::test_describe_task_definition_by_family": Quirk(
        moto="a container definition comes back without systemControls",
        real="DescribeTaskDefinition returns \"systemControls\": [] for a container that sets none, as it does "
             "mountPoints and volumesFrom (seen in task definitions exported with describe-task-definition; no "
             "AWS page says so: doubtful)",
        source=f"{_DOCS}/APIReference/API_ContainerDefinition.html#ECS-Type-ContainerDefinition-systemControls"),
    "test_ecs.py::test_list_tags_exceptions": Quirk(
        moto="ListTagsForResource of a missing service is ServiceNotFoundException",
        real="ServiceNotFoundException is not among ListTagsForResource's errors (AccessDenied, Client, "
             "ClusterNotFound, InvalidParameter, Server); ours is InvalidParameterException",
        source=f"{_DOCS}/APIReference/API_ListTagsForResource.html#API_ListTagsForResource_Errors"),
    "test_ecs.py::test_ecs_service_tag_resource_overwrites_tag": Quirk(
        moto="TagResource with a key that exists moves that tag to the end of ListTagsForResource's list",
        real="TagResource replaces the value; no order of the tags is defined (ours keeps the key's place)",
        source=f"{_DOCS}/APIReference/API_TagResource.html"),
    **{f"test_ecs.py::test_remove_tg[update_params{i}]": _TASK_DEFINITION_REQUIRED for i in range(4)},
    "test_ecs.py::test_create_service_with_role_arn": Quirk(
        moto="CreateService with `role` and no load balancer keeps and returns roleArn",
        real="`role` is only permitted with a load balancer (and not with awsvpc); with none ECS refuses it",
        source=f"{_DOCS}/APIReference/API_CreateService.html#ECS-CreateService-request-role"),
}

# -- operations the local cloud answers 501 NotImplemented ----------------------------------------------------
NOT_EMULATED = {
    **{f"test_ecs_account_settings.py::{name}": "PutAccountSetting" for name in (
        "test_put_account_setting[enabled-containerInstanceLongArnFormat]",
        "test_put_account_setting[enabled-serviceLongArnFormat]",
        "test_put_account_setting[enabled-taskLongArnFormat]",
        "test_put_account_setting[disabled-containerInstanceLongArnFormat]",
        "test_put_account_setting[disabled-serviceLongArnFormat]",
        "test_put_account_setting[disabled-taskLongArnFormat]",
        "test_list_account_setting",
        "test_delete_account_setting",
        "test_put_account_setting_changes_service_arn",
    )},
    "test_ecs_account_settings.py::test_list_account_settings_initial": "ListAccountSettings",
    "test_ecs_account_settings.py::test_list_account_settings_wrong_name": "ListAccountSettings",
    "test_ecs.py::test_ecs_service_tag_resource[disabled]": "PutAccountSetting",
    "test_ecs.py::test_ecs_service_tag_resource[enabled]": "PutAccountSetting",
    "test_ecs.py::test_poll_endpoint": "DiscoverPollEndpoint",
    "test_ecs.py::test_update_cluster": "UpdateCluster",
    **{f"test_ecs_capacity_provider.py::{name}": "CreateCapacityProvider" for name in (
        "test_create_capacity_provider",
        "test_create_capacity_provider_with_tags",
        "test_describe_capacity_provider__using_name",
        "test_describe_capacity_provider__using_arn",
        "test_describe_capacity_provider__missing",
        "test_delete_capacity_provider",
        "test_update_capacity_provider",
    )},
    **{f"test_ecs_task_definitions.py::{name}": "DeleteTaskDefinitions" for name in (
        "test_delete_task_definitions",
        "test_delete_task_definitions_cannot_delete_active",
        "test_delete_task_definitions_invalid_identifier",
        "test_delete_task_definitions_nonexistent",
    )},
    **{f"test_ecs_tasksets.py::{name}": "CreateTaskSet" for name in (
        "test_create_task_set",
        "test_create_task_set_errors",
        "test_describe_task_sets",
        "test_delete_task_set",
        "test_delete_task_set__using_partial_arn",
        "test_update_service_primary_task_set",  # also CreateService without a task definition (EXTERNAL)
        "test_update_task_set",
        "test_create_task_sets_with_tags",
    )},
}

# -- the local cloud is wrong, not fixed yet ----------------------------------------------------------------
OUR_BUGS: dict[str, str] = {}
