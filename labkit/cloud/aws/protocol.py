"""What every AWS JSON (awsJson1_0 / 1_1) service of the local cloud needs: the caller's region from
the SigV4 header, the account, JSON responses and errors in the shape botocore parses.

Stdlib + werkzeug only: this runs before moto is imported, on the cold-start path.
"""
from __future__ import annotations

import base64
import binascii
import json
import re
import sys
import traceback
import uuid

from werkzeug.wrappers import Response

from labkit.config import DEFAULT_ACCOUNT, DEFAULT_REGION

JSON_1_0 = "application/x-amz-json-1.0"
JSON_1_1 = "application/x-amz-json-1.1"
_CREDENTIAL = re.compile(r"Credential=[^/,\s]+/\d{8}/([a-z0-9-]+)/[^/,\s]+/aws4_request")


def region_of(environ) -> str:
    """The region of the SigV4 credential scope (`Credential=AKID/DATE/REGION/SERVICE/aws4_request`),
    else the course's default region."""
    match = _CREDENTIAL.search(environ.get("HTTP_AUTHORIZATION", ""))
    return match.group(1) if match else DEFAULT_REGION


def account_of(environ) -> str:
    """Every access key of the local cloud belongs to the course's one account."""
    return DEFAULT_ACCOUNT


def json_response(body: dict, status: int = 200, content_type: str = JSON_1_1) -> Response:
    return Response(json.dumps(body), status=status, content_type=content_type,
                    headers={"x-amzn-RequestId": str(uuid.uuid4())})


def error_response(code: str, message: str | None, status: int = 400, extra: dict | None = None,
                   content_type: str = JSON_1_1) -> Response:
    """`{"__type": CODE, "message": ...}`: botocore raises ClientError with this code and message."""
    body = {"__type": code}
    if message is not None:
        body["message"] = message
    body.update(extra or {})
    response = json_response(body, status, content_type)
    response.headers["x-amzn-ErrorType"] = code.rsplit("#", 1)[-1]
    return response



class JsonService:
    """One AWS JSON service of the local cloud: `X-Amz-Target: <prefix><Operation>`, a JSON object in,
    JSON out. A service module makes one, registers its operations with `@service.operation(NAME)`,
    and serves with `service.serve(state, environ, start_response, make_call)`.

    `errors` names the service's exception classes: `base` (has .code, .message, .status and maybe
    .extra), `not_emulated(op)` (an operation of botocore's model the local cloud lacks: 501),
    `unknown()` and `serialization(text)`.
    """

    def __init__(self, target_prefix: str, *, base_error: type, not_emulated, unknown, serialization,
                 not_emulated_operations: frozenset = frozenset(), content_type: str = JSON_1_1):
        self.target_prefix = target_prefix
        self.operations: dict = {}  # operation name -> handler(call, params) -> dict
        self.not_emulated_operations = not_emulated_operations
        self.content_type = content_type
        self._base_error, self._not_emulated = base_error, not_emulated
        self._unknown, self._serialization = unknown, serialization

    def operation(self, name: str):
        def register(fn):
            self.operations[name] = fn
            return fn
        return register

    def serve(self, state, environ, start_response, make_call):
        """make_call(environ) -> the handlers' first argument (backend, account, region, ...)."""
        from werkzeug.wrappers import Request

        op = environ.get("HTTP_X_AMZ_TARGET", "")[len(self.target_prefix):]
        try:
            handler = self.operations.get(op)
            if handler is None:
                raise self._not_emulated(op) if op in self.not_emulated_operations else self._unknown()
            try:
                params = json.loads(Request(environ).get_data() or b"{}")
            except ValueError:
                raise self._serialization("Start of structure or map found where not expected.") from None
            if not isinstance(params, dict):
                raise self._serialization("Start of structure or map found where not expected.")
            call = make_call(environ)
            with state.lock:  # answers are shaped from live objects: nothing may change them meanwhile
                body = handler(call, params)
            response = json_response(body, content_type=self.content_type)
        except self._base_error as exc:
            response = error_response(exc.code, exc.message, exc.status, getattr(exc, "extra", None),
                                      content_type=self.content_type)
        except Exception as exc:  # our bug: say so in the service's shape, and log it
            traceback.print_exc(file=sys.stderr)
            response = error_response("ServerException", f"labkit local cloud error: {type(exc).__name__}: {exc}",
                                      500, content_type=self.content_type)
        return response(environ, start_response)

    def tag_operations(self, required) -> None:
        """TagResource, UntagResource and ListTagsForResource (camelCase fields) over
        call.backend.tag_resource / untag_resource / list_tags_for_resource."""

        @self.operation("TagResource")
        def tag_resource(call, p: dict) -> dict:
            required(p, "resourceArn", "tags")
            call.backend.tag_resource(p["resourceArn"], p["tags"])
            return {}

        @self.operation("UntagResource")
        def untag_resource(call, p: dict) -> dict:
            required(p, "resourceArn", "tagKeys")
            call.backend.untag_resource(p["resourceArn"], p["tagKeys"])
            return {}

        @self.operation("ListTagsForResource")
        def list_tags_for_resource(call, p: dict) -> dict:
            required(p, "resourceArn")
            return {"tags": call.backend.list_tags_for_resource(p["resourceArn"])}


def paginate(items: list, max_results, token, *, limit: int, bad_max, bad_token, default: int = 100
             ) -> tuple[list, str | None]:
    """One page of `items` per maxResults/nextToken (the token is an opaque offset). bad_max() and
    bad_token() make the service's own error for a maxResults out of 1..limit and a token not ours."""
    if max_results is not None and (not isinstance(max_results, int) or not 1 <= max_results <= limit):
        raise bad_max()
    start = 0
    if token is not None:
        try:
            start = int(json.loads(base64.b64decode(token))["offset"])
        except (ValueError, TypeError, KeyError, binascii.Error):
            raise bad_token() from None
    end = start + (max_results or default)
    next_token = base64.b64encode(json.dumps({"offset": end}).encode()).decode() if end < len(items) else None
    return items[start:end], next_token
