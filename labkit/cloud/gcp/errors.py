"""Google's errors, once for both protocols: each class knows its gRPC status code and the HTTP
status Google's REST front end pairs with it (google/rpc/code.proto's table). The hosting turns them
into a gRPC status (with google.rpc.Status details) or Google's JSON error body."""
from __future__ import annotations

import grpc


class GcpError(Exception):
    code = grpc.StatusCode.UNKNOWN
    http_status = 500

    def __init__(self, message: str, details: list | None = None):
        """details: protobuf messages (google.rpc.ErrorInfo, BadRequest, ...) Google attaches."""
        super().__init__(message)
        self.message = message
        self.details = list(details or [])

    @property
    def status_name(self) -> str:  # "NOT_FOUND": the JSON body's `status`
        return self.code.name


class InvalidArgument(GcpError):
    code, http_status = grpc.StatusCode.INVALID_ARGUMENT, 400


class FailedPrecondition(GcpError):
    code, http_status = grpc.StatusCode.FAILED_PRECONDITION, 400


class Unauthenticated(GcpError):
    code, http_status = grpc.StatusCode.UNAUTHENTICATED, 401


class PermissionDenied(GcpError):
    code, http_status = grpc.StatusCode.PERMISSION_DENIED, 403


class NotFound(GcpError):
    code, http_status = grpc.StatusCode.NOT_FOUND, 404


class AlreadyExists(GcpError):
    code, http_status = grpc.StatusCode.ALREADY_EXISTS, 409


class Aborted(GcpError):
    code, http_status = grpc.StatusCode.ABORTED, 409


class Internal(GcpError):
    code, http_status = grpc.StatusCode.INTERNAL, 500


class Unimplemented(GcpError):
    code, http_status = grpc.StatusCode.UNIMPLEMENTED, 501


class Unavailable(GcpError):
    code, http_status = grpc.StatusCode.UNAVAILABLE, 503


class DeadlineExceeded(GcpError):
    code, http_status = grpc.StatusCode.DEADLINE_EXCEEDED, 504


def permission_denied(permission: str, resource: str, service: str) -> PermissionDenied:
    """IAM's refusal as Google words it, with the ErrorInfo detail clients read (`exc.reason`):
    "Permission 'artifactregistry.repositories.create' denied on resource
    '//artifactregistry.googleapis.com/projects/P/locations/L' (or it may not exist)."."""
    from google.rpc import error_details_pb2

    info = error_details_pb2.ErrorInfo(reason="IAM_PERMISSION_DENIED", domain="iam.googleapis.com",
                                       metadata={"permission": permission, "resource": resource})
    return PermissionDenied(f"Permission '{permission}' denied on resource '//{service}/{resource}' "
                            f"(or it may not exist).", details=[info])
