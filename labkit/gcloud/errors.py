"""gcloud's errors: `ERROR: (gcloud.GROUP.COMMAND) MESSAGE` on stderr, exit code 1 (2 for a
command line gcloud's parser refuses). A hint (a labkit.messages key) may follow, in the
notebook's language: gcloud's own words stay English, as the real gcloud's do."""
from __future__ import annotations


class GcloudError(Exception):
    exit_code = 1

    def __init__(self, message: str, hint: tuple[str, dict] | None = None, exit_code: int | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint
        if exit_code is not None:
            self.exit_code = exit_code

    def __str__(self) -> str:
        return self.message


class UsageError(GcloudError):
    """What gcloud's argument parser refuses (exit code 2)."""
    exit_code = 2


def from_api(exc) -> GcloudError:
    """A google-api-core exception as gcloud words it: `STATUS: message` (gcloud's HttpException
    format for the APIs it calls directly, e.g. `NOT_FOUND: Requested entity was not found.`)."""
    status = getattr(exc, "grpc_status_code", None)
    name = status.name if status is not None else _BY_HTTP.get(getattr(exc, "code", None), "")
    message = getattr(exc, "message", None) or str(exc)
    return GcloudError(f"{name}: {message}" if name else message)


_BY_HTTP = {400: "INVALID_ARGUMENT", 403: "PERMISSION_DENIED", 404: "NOT_FOUND", 409: "ALREADY_EXISTS",
            412: "FAILED_PRECONDITION", 501: "UNIMPLEMENTED", 503: "UNAVAILABLE"}
