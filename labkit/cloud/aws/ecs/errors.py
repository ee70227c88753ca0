"""ECS's errors: the real error codes and ECS's message texts, raised by models.py and turned into
AWS JSON errors by api.py (every client fault of ECS is an HTTP 400, as botocore's model says).

    EcsError                       code
    ├── ClientError                ClientException (what RegisterTaskDefinition's rules raise)
    ├── InvalidParameter           InvalidParameterException
    ├── ClusterNotFound            ClusterNotFoundException      "Cluster not found."
    ├── ServiceNotFound            ServiceNotFoundException      "Service not found."
    ├── ServiceNotActive           ServiceNotActiveException     "Service was not ACTIVE."
    ├── ClusterContainsServices    ClusterContainsServicesException
    ├── ClusterContainsTasks       ClusterContainsTasksException
    ├── PlatformUnknown            PlatformUnknownException
    ├── TargetNotFound             TargetNotFoundException
    ├── ResourceNotFound           ResourceNotFoundException
    ├── NamespaceNotFound          NamespaceNotFoundException
    ├── Serialization              SerializationException (body is not JSON)
    ├── UnknownOperation           UnknownOperationException
    ├── ServerError                ServerException
    └── NotEmulated                NotImplemented (an ECS operation the local cloud lacks; HTTP 501)

docs/fidelity.md ("ECS") says which messages were seen from real ECS and which were composed.
"""
from __future__ import annotations


class EcsError(Exception):
    code = "ServerException"
    status = 400

    def __init__(self, message: str | None = None):
        super().__init__(message or "")
        self.message = message


class ClientError(EcsError):
    code = "ClientException"


class InvalidParameter(EcsError):
    code = "InvalidParameterException"


class ClusterNotFound(EcsError):
    code = "ClusterNotFoundException"

    def __init__(self):
        super().__init__("Cluster not found.")


class ServiceNotFound(EcsError):
    code = "ServiceNotFoundException"

    def __init__(self):
        super().__init__("Service not found.")


class ServiceNotActive(EcsError):
    code = "ServiceNotActiveException"

    def __init__(self):
        super().__init__("Service was not ACTIVE.")


class ClusterContainsServices(EcsError):
    code = "ClusterContainsServicesException"

    def __init__(self):
        super().__init__("The Cluster cannot be deleted while Services are active.")


class ClusterContainsTasks(EcsError):
    code = "ClusterContainsTasksException"

    def __init__(self):
        super().__init__("The Cluster cannot be deleted while Tasks are active.")


class PlatformUnknown(EcsError):
    code = "PlatformUnknownException"

    def __init__(self):
        super().__init__("The specified platform version does not exist.")


class TargetNotFound(EcsError):
    code = "TargetNotFoundException"


class ResourceNotFound(EcsError):
    code = "ResourceNotFoundException"


class NamespaceNotFound(EcsError):
    code = "NamespaceNotFoundException"


class Serialization(EcsError):
    code = "SerializationException"


class UnknownOperation(EcsError):
    """What AWS's JSON front end answers for an X-Amz-Target it does not know (no message)."""
    code = "com.amazon.coral.service#UnknownOperationException"


class ServerError(EcsError):
    code = "ServerException"
    status = 500


class NotEmulated(EcsError):
    code = "NotImplemented"
    status = 501  # botocore does not retry it, and it is not mistaken for the student's error

    def __init__(self, operation: str):
        super().__init__(f"The labkit local cloud does not emulate the ECS operation {operation} "
                         f"(docs/fidelity.md lists what it does)")
