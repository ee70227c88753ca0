"""RegisterTaskDefinition's rules: what ECS refuses (ClientException, with ECS's texts), and the
task definition as ECS stores and returns it (defaults filled in, cpu/memory as unit strings,
`compatibilities` computed). Pure functions on dicts: no state, no HTTP.

Order of the Fargate checks (ECS reports one problem at a time; which comes first is our guess,
docs/fidelity.md): network mode, task-level cpu, task-level memory, the cpu/memory table, pidMode,
ipcMode, the execution role for ECR images, the execution role for awslogs.
"""
from __future__ import annotations

import re

from labkit.cloud.aws.ecs.errors import ClientError

# Fargate's task sizes (Linux): cpu units -> the memory values (MiB) it accepts.
# docs: AWS Fargate "Task CPU and memory" (developerguide/fargate-tasks-services.html#fargate-tasks-size)
FARGATE_SIZES: dict[int, list[int]] = {
    256: [512, 1024, 2048],
    512: list(range(1024, 4096 + 1, 1024)),
    1024: list(range(2048, 8192 + 1, 1024)),
    2048: list(range(4096, 16384 + 1, 1024)),
    4096: list(range(8192, 30720 + 1, 1024)),
    8192: list(range(16384, 61440 + 1, 4096)),
    16384: list(range(32768, 122880 + 1, 8192)),
}
NETWORK_MODES = ("bridge", "host", "awsvpc", "none")
COMPATIBILITIES = ("EC2", "FARGATE", "EXTERNAL", "MANAGED_INSTANCES")
ECR_IMAGE = re.compile(r"^(\d{12})\.dkr\.ecr\.([a-z0-9-]+)\.amazonaws\.com(\.cn)?/")
FAMILY = re.compile(r"^[A-Za-z0-9_-]{1,255}$")
CONTAINER_NAME = re.compile(r"^[A-Za-z0-9_-]{1,255}$")


def is_ecr_image(image: str) -> bool:
    return bool(ECR_IMAGE.match(image or ""))


def _units(value, kind: str) -> int | None:
    """'256' / '0.25 vCPU' (cpu) or '512' / '1 GB' / '1GB' (memory) -> cpu units or MiB, as ECS
    converts them on registration. None if not understood."""
    if value is None:
        return None
    text = str(value).strip()
    if re.fullmatch(r"\d+", text):
        return int(text)
    unit = r"vcpu" if kind == "cpu" else r"gb"
    match = re.fullmatch(r"(\d+(?:\.\d+)?)\s*(%s)" % unit, text, re.IGNORECASE)
    if not match:
        return None
    number = float(match.group(1))
    return int(round(number * 1024))


def parse_task_size(cpu, memory) -> tuple[int | None, int | None]:
    """The task-level cpu and memory as numbers; refused with ECS's text if unreadable."""
    cpu_units = _units(cpu, "cpu")
    if cpu is not None and cpu_units is None:
        raise ClientError("Invalid 'cpu' setting for task.")
    mem = _units(memory, "memory")
    if memory is not None and mem is None:
        raise ClientError("Invalid 'memory' setting for task.")
    return cpu_units, mem


def fargate_problem(doc: dict) -> str | None:
    """Why this (normalised) task definition cannot run on Fargate, in ECS's words, or None."""
    if doc.get("networkMode") != "awsvpc":
        return "Fargate only supports network mode \u2018awsvpc\u2019."
    if doc.get("cpu") is None:
        return "Fargate requires that 'cpu' be defined at the task level."
    if doc.get("memory") is None:
        return "Fargate requires that 'memory' be defined at the task level."
    cpu, memory = int(doc["cpu"]), int(doc["memory"])
    if memory not in FARGATE_SIZES.get(cpu, []):
        return (f"No Fargate configuration exists for given values: {cpu} CPU, {memory} memory. "
                f"See the Amazon ECS documentation for the valid values.")
    # Fargate shares a task's PID namespace only ("task"); it has no IPC mode at all.
    if doc.get("pidMode") == "host":
        return ("Tasks using the Fargate launch type do not support pidMode 'host'. The supported value for "
                "pidMode is 'task'.")
    if doc.get("ipcMode") is not None:
        return "Tasks using the Fargate launch type do not support ipcMode."
    role = doc.get("executionRoleArn")
    for container in doc["containerDefinitions"]:
        if not role and is_ecr_image(container.get("image", "")):
            return "Fargate requires task definition to have execution role ARN to support ECR images."
    for container in doc["containerDefinitions"]:
        driver = (container.get("logConfiguration") or {}).get("logDriver")
        if not role and driver == "awslogs":
            return "Fargate requires task definition to have execution role ARN to support log driver awslogs."
    return None


def _container(raw: dict, network_mode: str, task_memory: int | None) -> dict:
    if not isinstance(raw, dict):
        raise ClientError("Container definition must be an object.")
    name = raw.get("name")
    if not name:
        raise ClientError("Container.name should not be null or empty.")
    if not CONTAINER_NAME.match(name):
        raise ClientError(f"Container.name contains invalid characters.")
    if not raw.get("image"):
        raise ClientError("Container.image should not be null or empty.")
    if task_memory is None and raw.get("memory") is None and raw.get("memoryReservation") is None:
        raise ClientError(f"Invalid setting for container '{name}'. At least one of 'memory' or "
                          f"'memoryReservation' must be specified.")
    container = dict(raw)
    container.setdefault("cpu", 0)
    mappings = []
    for mapping in raw.get("portMappings") or []:
        mapping = dict(mapping)
        port = mapping.get("containerPort")
        if port is None and not mapping.get("containerPortRange"):
            raise ClientError("Container port mapping requires a containerPort or a containerPortRange.")
        if network_mode == "awsvpc":
            if mapping.get("hostPort") not in (None, port):
                raise ClientError("When networkMode=awsvpc, the host ports and container ports in port mappings "
                                  "must match.")
            if port is not None:
                mapping["hostPort"] = port
        mapping.setdefault("protocol", "tcp")
        mappings.append(mapping)
    container["portMappings"] = mappings
    container.setdefault("essential", True)
    for key in ("environment", "mountPoints", "volumesFrom", "systemControls"):
        container.setdefault(key, [])
    return container


def _volume(raw) -> dict:
    """A volume as ECS stores it: an EFS volume without a rootDirectory gets "/" (the file system's root)."""
    volume = dict(raw) if isinstance(raw, dict) else raw
    efs = volume.get("efsVolumeConfiguration") if isinstance(volume, dict) else None
    if isinstance(efs, dict) and "rootDirectory" not in efs:
        volume["efsVolumeConfiguration"] = {**efs, "rootDirectory": "/"}
    return volume


def normalise(params: dict) -> dict:
    """The task definition ECS stores for RegisterTaskDefinition's `params` (without the family's
    revision, ARN, status, timestamps: the backend adds those). Raises ClientError."""
    family = params.get("family")
    if not isinstance(family, str) or not FAMILY.match(family):
        raise ClientError("Family contains invalid characters, or is too long (up to 255 letters "
                          "(uppercase and lowercase), numbers, underscores, and hyphens are allowed).")
    containers = params.get("containerDefinitions")
    if not containers:
        raise ClientError("Container list cannot be empty.")
    network_mode = params.get("networkMode") or "bridge"
    if network_mode not in NETWORK_MODES:
        raise ClientError(f"Invalid networkMode '{network_mode}'.")
    cpu, memory = parse_task_size(params.get("cpu"), params.get("memory"))
    names = [c.get("name") for c in containers if isinstance(c, dict)]
    if len(set(names)) != len(names):
        raise ClientError("Container names must be unique within a task definition.")
    required = list(params.get("requiresCompatibilities") or [])
    for item in required:
        if item not in COMPATIBILITIES:
            raise ClientError(f"Invalid compatibility '{item}'.")

    doc = {
        "containerDefinitions": [_container(c, network_mode, memory) for c in containers],
        "family": family,
        "networkMode": network_mode,
        "volumes": [_volume(v) for v in params.get("volumes") or []],
        "placementConstraints": list(params.get("placementConstraints") or []),
    }
    for key in ("taskRoleArn", "executionRoleArn", "pidMode", "ipcMode", "proxyConfiguration",
                "inferenceAccelerators", "ephemeralStorage", "runtimePlatform", "enableFaultInjection"):
        if params.get(key) is not None:
            doc[key] = params[key]
    if cpu is not None:
        doc["cpu"] = str(cpu)
    if memory is not None:
        doc["memory"] = str(memory)

    problem = fargate_problem(doc)
    if "FARGATE" in required and problem:
        raise ClientError(problem)
    compatibilities = ["EC2"]
    if problem is None:
        compatibilities.append("FARGATE")
    doc["compatibilities"] = compatibilities
    doc["requiresCompatibilities"] = required
    doc["requiresAttributes"] = _required_attributes(doc)
    return doc


def _required_attributes(doc: dict) -> list[dict]:
    """The capability attributes ECS derives from a task definition (shown by DescribeTaskDefinition).
    Known gap: a representative subset, not ECS's full derivation."""
    names = ["com.amazonaws.ecs.capability.docker-remote-api.1.18"]
    if doc.get("networkMode") == "awsvpc":
        names.append("ecs.capability.task-eni")
    containers = doc["containerDefinitions"]
    if any((c.get("logConfiguration") or {}).get("logDriver") == "awslogs" for c in containers):
        names.append("com.amazonaws.ecs.capability.logging-driver.awslogs")
        if doc.get("executionRoleArn"):
            names.append("ecs.capability.execution-role-awslogs")
    if any(is_ecr_image(c.get("image", "")) for c in containers):
        names.append("com.amazonaws.ecs.capability.ecr-auth")
        if doc.get("executionRoleArn"):
            names.append("ecs.capability.execution-role-ecr-pull")
    if doc.get("taskRoleArn"):
        names.append("com.amazonaws.ecs.capability.task-iam-role")
    if any((c.get("linuxParameters") or {}).get("initProcessEnabled") for c in containers):
        names.append("com.amazonaws.ecs.capability.docker-remote-api.1.25")
    return [{"name": n} for n in names]


def port_names(doc: dict) -> dict[str, int]:
    """The task definition's named port mappings, name -> containerPort (what Service Connect's
    portName must name)."""
    return {m["name"]: m.get("containerPort") for c in doc["containerDefinitions"]
            for m in c.get("portMappings", []) if m.get("name")}
