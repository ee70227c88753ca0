"""What App Runner checks in a CreateService / UpdateService request before it starts an operation,
and the configuration as DescribeService then returns it (defaults filled in). Every failure is an
InvalidRequestException, as App Runner answers; botocore already refuses missing members and wrong
types on the client side, so these checks are for what it lets through (patterns, ranges, the rules
between fields).
"""
from __future__ import annotations

import copy
import re

from labkit.cloud.aws.apprunner import errors

NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9-_]{3,39}")
NAME_RULE = "Member must satisfy regular expression pattern: [A-Za-z0-9][A-Za-z0-9-_]{3,39}"
# botocore's ImageIdentifier pattern (a private ECR URI, or an ECR Public one)
PRIVATE_IMAGE = re.compile(r"[0-9]{12}.dkr.ecr.[a-z\-]+-[0-9]{1}.amazonaws.com\/((?:[a-z0-9]+(?:[._-][a-z0-9]+)*\/)*"
                           r"[a-z0-9]+(?:[._-][a-z0-9]+)*)(:([\w\d+\-=._:\/@])+|@([\w\d\:]+))?")
PUBLIC_IMAGE = re.compile(r"public\.ecr\.aws\/.+\/((?:[a-z0-9]+(?:[._-][a-z0-9]+)*\/)*[a-z0-9]+(?:[._-][a-z0-9]+)*)"
                          r"(:([\w\d+\-=._:\/@])+|@([\w\d\:]+))?")
ROLE_ARN = re.compile(r"arn:(aws|aws-us-gov|aws-cn|aws-iso|aws-iso-b):iam::[0-9]{12}:(role|role\/service-role)\/"
                      r"[\w+=,.@\-/]{1,1000}")
RESOURCE_ARN = re.compile(r"arn:aws(-[\w]+)*:[a-z0-9-\\.]{0,63}:[a-z0-9-\\.]{0,63}:[0-9]{12}:(\w|\/|-){1,1011}")
CPU = {"256": 256, "512": 512, "1024": 1024, "2048": 2048, "4096": 4096,
       "0.25 vCPU": 256, "0.5 vCPU": 512, "1 vCPU": 1024, "2 vCPU": 2048, "4 vCPU": 4096}
MEMORY = {"512": 512, "1024": 1024, "2048": 2048, "3072": 3072, "4096": 4096, "6144": 6144, "8192": 8192,
          "10240": 10240, "12288": 12288, "0.5 GB": 512, "1 GB": 1024, "2 GB": 2048, "3 GB": 3072, "4 GB": 4096,
          "6 GB": 6144, "8 GB": 8192, "10 GB": 10240, "12 GB": 12288}
CPU_RULE = "Member must satisfy regular expression pattern: 256|512|1024|2048|4096|(0.25|0.5|1|2|4) vCPU"
MEMORY_RULE = ("Member must satisfy regular expression pattern: "
               "512|1024|2048|3072|4096|6144|8192|10240|12288|(0.5|1|2|3|4|6|8|10|12) GB")
# The CPU/memory pairs App Runner offers (developer guide; CDK's Memory class lists the same)
PAIRS = {256: (512, 1024), 512: (1024,), 1024: (2048, 3072, 4096), 2048: (4096, 6144), 4096: (8192, 10240, 12288)}
DEFAULT_INSTANCE = {"Cpu": "1024", "Memory": "2048"}
DEFAULT_HEALTH = {"Protocol": "TCP", "Path": "/", "Interval": 5, "Timeout": 2, "HealthyThreshold": 1,
                  "UnhealthyThreshold": 5}
DEFAULT_PORT = "8080"
RESERVED_PREFIX = "AWSAPPRUNNER"


def service_name(name) -> str:
    if not isinstance(name, str) or not NAME.fullmatch(name):
        raise errors.constraint(name, "serviceName", NAME_RULE)
    return name


def resource_arn(arn, where: str) -> str:
    if not isinstance(arn, str) or not RESOURCE_ARN.fullmatch(arn):
        raise errors.constraint(arn, where, "Member must satisfy regular expression pattern: "
                                            "arn:aws(-[\\w]+)*:[a-z0-9-\\\\.]{0,63}:[a-z0-9-\\\\.]{0,63}:[0-9]{12}:"
                                            "(\\w|\\/|-){1,1011}")
    return arn


# -- SourceConfiguration ----------------------------------------------------------------------

def source_configuration(given, current: dict | None = None) -> dict:
    """The source as App Runner keeps it. `current` (UpdateService): the service's source, whose
    AuthenticationConfiguration carries over when the update names none."""
    if not isinstance(given, dict):
        raise errors.InvalidRequest("SourceConfiguration must be an object.")
    source = copy.deepcopy(given)
    code, image = source.get("CodeRepository"), source.get("ImageRepository")
    if code is not None and image is not None:
        raise errors.InvalidRequest("You can't specify both CodeRepository and ImageRepository in "
                                    "SourceConfiguration. Specify exactly one of them.")
    if code is not None:
        # Known gap: a source code repository needs a GitHub/Bitbucket connection and a build.
        raise errors.NotEmulated("CreateService with a CodeRepository source (the local cloud runs "
                                 "image repositories: push an image to ECR and use ImageRepository)")
    if image is None:
        raise errors.InvalidRequest("SourceConfiguration must specify either CodeRepository or ImageRepository.")
    if not isinstance(image, dict):
        raise errors.InvalidRequest("ImageRepository must be an object.")
    if "AuthenticationConfiguration" not in source and current and current.get("AuthenticationConfiguration"):
        source["AuthenticationConfiguration"] = copy.deepcopy(current["AuthenticationConfiguration"])
    _image_repository(image, source.get("AuthenticationConfiguration"))
    if "AutoDeploymentsEnabled" not in source or source["AutoDeploymentsEnabled"] is None:
        # API reference: true for a same-account ECR image, false for ECR Public
        source["AutoDeploymentsEnabled"] = image["ImageRepositoryType"] == "ECR"
    elif image["ImageRepositoryType"] == "ECR_PUBLIC" and source["AutoDeploymentsEnabled"]:
        raise errors.InvalidRequest("Automatic deployments aren't supported for an image repository of type "
                                    "ECR_PUBLIC. Set AutoDeploymentsEnabled to false.")
    return source


def _image_repository(image: dict, auth) -> None:
    identifier, kind = image.get("ImageIdentifier"), image.get("ImageRepositoryType")
    if not isinstance(identifier, str) or not identifier:
        raise errors.InvalidRequest("ImageRepository.ImageIdentifier is required.")
    if kind not in ("ECR", "ECR_PUBLIC"):
        raise errors.constraint(kind, "sourceConfiguration.imageRepository.imageRepositoryType",
                                "Member must satisfy enum value set: [ECR, ECR_PUBLIC]")
    if not (PRIVATE_IMAGE.fullmatch(identifier) or PUBLIC_IMAGE.fullmatch(identifier)):
        raise errors.constraint(identifier, "sourceConfiguration.imageRepository.imageIdentifier",
                                "Member must satisfy regular expression pattern: ([0-9]{12}.dkr.ecr.[a-z\\-]+-"
                                "[0-9]{1}.amazonaws.com\\/...)|(^public\\.ecr\\.aws\\/.+\\/...)")
    public = bool(PUBLIC_IMAGE.fullmatch(identifier))
    if kind == "ECR" and public:
        raise errors.InvalidRequest(f"The image identifier {identifier} is an Amazon ECR Public image. Set "
                                    f"ImageRepositoryType to ECR_PUBLIC.")
    if kind == "ECR_PUBLIC" and not public:
        raise errors.InvalidRequest(f"The image identifier {identifier} is a private Amazon ECR image. Set "
                                    f"ImageRepositoryType to ECR.")
    role = (auth or {}).get("AccessRoleArn") if isinstance(auth, dict) else None
    if kind == "ECR":
        if not role:
            raise errors.InvalidRequest("Authentication configuration is missing an access role. An image "
                                        "repository of type ECR needs "
                                        "SourceConfiguration.AuthenticationConfiguration.AccessRoleArn: a role "
                                        "App Runner assumes to pull your image from Amazon ECR.")
        if not isinstance(role, str) or not ROLE_ARN.fullmatch(role):
            raise errors.constraint(role, "sourceConfiguration.authenticationConfiguration.accessRoleArn",
                                    "Member must satisfy regular expression pattern: arn:(aws|aws-us-gov|aws-cn|"
                                    "aws-iso|aws-iso-b):iam::[0-9]{12}:(role|role\\/service-role)\\/"
                                    "[\\w+=,.@\\-/]{1,1000}")
    config = image.get("ImageConfiguration")
    if config is None:
        return
    if not isinstance(config, dict):
        raise errors.InvalidRequest("ImageConfiguration must be an object.")
    port = config.get("Port")
    if port is not None:
        if not isinstance(port, str):
            raise errors.InvalidRequest(f"Port must be a string holding a port number, such as \"8080\" "
                                        f"(got {port!r}).")
        if not port.isdigit() or not 1 <= int(port) <= 65535:
            raise errors.InvalidRequest(f"Invalid port '{port}'. Port must be a number from 1 to 65535.")
    variables = config.get("RuntimeEnvironmentVariables") or {}
    if not isinstance(variables, dict) or not all(isinstance(k, str) and isinstance(v, str)
                                                  for k, v in variables.items()):
        raise errors.InvalidRequest("RuntimeEnvironmentVariables must map names to string values.")
    for name in variables:
        if not name or name.upper().startswith(RESERVED_PREFIX):
            raise errors.InvalidRequest(f"Environment variable name '{name}' isn't valid. Names that start with "
                                        f"{RESERVED_PREFIX} are reserved by App Runner.")
    command = config.get("StartCommand")
    if command is not None and (not isinstance(command, str) or not re.fullmatch(r"[^\x0a\x0d]+", command)):
        raise errors.constraint("***", "sourceConfiguration.imageRepository.imageConfiguration.startCommand",
                                "Member must satisfy regular expression pattern: [^\\x0a\\x0d]+")


def image_of(source: dict) -> dict:
    """(identifier, kind, port, environment, start command) of a kept source."""
    image = source["ImageRepository"]
    config = image.get("ImageConfiguration") or {}
    return {"identifier": image["ImageIdentifier"], "kind": image["ImageRepositoryType"],
            "port": int(config.get("Port") or DEFAULT_PORT),
            "environment": dict(config.get("RuntimeEnvironmentVariables") or {}),
            "secrets": dict(config.get("RuntimeEnvironmentSecrets") or {}),
            "start_command": config.get("StartCommand")}


# -- InstanceConfiguration, HealthCheckConfiguration ------------------------------------------

def instance_configuration(given, current: dict | None = None) -> dict:
    """Cpu and Memory as given (else as before, else 1024 / 2048), checked as a pair App Runner offers."""
    config = dict(current or DEFAULT_INSTANCE)
    if given is None:
        return config
    if not isinstance(given, dict):
        raise errors.InvalidRequest("InstanceConfiguration must be an object.")
    for key in ("Cpu", "Memory", "InstanceRoleArn"):
        if given.get(key) is not None:
            config[key] = given[key]
    cpu, memory = config.get("Cpu"), config.get("Memory")
    if cpu not in CPU:
        raise errors.constraint(cpu, "instanceConfiguration.cpu", CPU_RULE)
    if memory not in MEMORY:
        raise errors.constraint(memory, "instanceConfiguration.memory", MEMORY_RULE)
    if MEMORY[memory] not in PAIRS[CPU[cpu]]:
        offered = ", ".join(f"{_gb(m)} GB" for m in PAIRS[CPU[cpu]])
        raise errors.InvalidRequest(f"The combination of Cpu '{cpu}' and Memory '{memory}' isn't supported. With "
                                    f"{_vcpu(CPU[cpu])} vCPU, App Runner offers {offered} of memory.")
    role = config.get("InstanceRoleArn")
    if role is not None and (not isinstance(role, str) or not ROLE_ARN.fullmatch(role)):
        raise errors.constraint(role, "instanceConfiguration.instanceRoleArn",
                                "Member must satisfy regular expression pattern: arn:(aws|aws-us-gov|aws-cn|aws-iso|"
                                "aws-iso-b):iam::[0-9]{12}:(role|role\\/service-role)\\/[\\w+=,.@\\-/]{1,1000}")
    return config


def _gb(mb: int) -> str:
    return f"{mb / 1024:g}"


def _vcpu(units: int) -> str:
    return f"{units / 1024:g}"


def health_check(given, current: dict | None = None) -> dict:
    config = dict(current or DEFAULT_HEALTH)
    if given is None:
        return config
    if not isinstance(given, dict):
        raise errors.InvalidRequest("HealthCheckConfiguration must be an object.")
    config.update({k: v for k, v in given.items() if v is not None})
    if config["Protocol"] not in ("TCP", "HTTP"):
        raise errors.constraint(config["Protocol"], "healthCheckConfiguration.protocol",
                                "Member must satisfy enum value set: [TCP, HTTP]")
    if not isinstance(config["Path"], str) or not config["Path"]:
        raise errors.constraint(config["Path"], "healthCheckConfiguration.path",
                                "Member must have length greater than or equal to 1")
    for key in ("Interval", "Timeout", "HealthyThreshold", "UnhealthyThreshold"):
        value = config[key]
        if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 20:
            field = key[0].lower() + key[1:]
            raise errors.constraint(value, f"healthCheckConfiguration.{field}",
                                    "Member must have value less than or equal to 20" if isinstance(value, int)
                                    and value > 20 else "Member must have value greater than or equal to 1")
    return config


# -- the rest, kept and returned ---------------------------------------------------------------

def network_configuration(given, current: dict | None = None) -> dict:
    config = copy.deepcopy(current) if current else {"EgressConfiguration": {"EgressType": "DEFAULT"},
                                                     "IngressConfiguration": {"IsPubliclyAccessible": True},
                                                     "IpAddressType": "IPV4"}
    if given is None:
        return config
    if not isinstance(given, dict):
        raise errors.InvalidRequest("NetworkConfiguration must be an object.")
    for key, value in given.items():
        config[key] = copy.deepcopy(value)
    egress = config.get("EgressConfiguration") or {}
    if egress.get("EgressType", "DEFAULT") not in ("DEFAULT", "VPC"):
        raise errors.constraint(egress.get("EgressType"), "networkConfiguration.egressConfiguration.egressType",
                                "Member must satisfy enum value set: [DEFAULT, VPC]")
    if egress.get("EgressType") == "VPC" and not egress.get("VpcConnectorArn"):
        raise errors.InvalidRequest("VpcConnectorArn is required when EgressType is VPC.")
    if config.get("IpAddressType", "IPV4") not in ("IPV4", "DUAL_STACK"):
        raise errors.constraint(config.get("IpAddressType"), "networkConfiguration.ipAddressType",
                                "Member must satisfy enum value set: [IPV4, DUAL_STACK]")
    return config


def tags(given) -> list[dict]:
    if given is None:
        return []
    if not isinstance(given, list):
        raise errors.InvalidRequest("Tags must be a list of {Key, Value}.")
    kept = []
    for tag in given:
        key = tag.get("Key") if isinstance(tag, dict) else None
        if not isinstance(key, str) or not 1 <= len(key) <= 128 or key.startswith("aws:"):
            raise errors.constraint(key, "tags.member.key", "Member must satisfy regular expression pattern: "
                                                            "^(?!aws:).+")
        value = tag.get("Value", "")
        if not isinstance(value, str) or len(value) > 256:
            raise errors.constraint(value, "tags.member.value", "Member must have length less than or equal to 256")
        kept.append({"Key": key, "Value": value})
    return kept
