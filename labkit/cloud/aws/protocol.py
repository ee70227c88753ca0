"""What every AWS JSON (awsJson1_1) service of the local cloud needs: the caller's region from
the SigV4 header, the account, JSON responses and errors in the shape botocore parses.

Stdlib + werkzeug only: this runs before moto is imported, on the cold-start path.
"""
from __future__ import annotations

import json
import re
import uuid

from werkzeug.wrappers import Response

from labkit.config import DEFAULT_ACCOUNT, DEFAULT_REGION

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


def json_response(body: dict, status: int = 200) -> Response:
    return Response(json.dumps(body), status=status, content_type=JSON_1_1,
                    headers={"x-amzn-RequestId": str(uuid.uuid4())})


def error_response(code: str, message: str | None, status: int = 400, extra: dict | None = None) -> Response:
    """`{"__type": CODE, "message": ...}`: botocore raises ClientError with this code and message."""
    body = {"__type": code}
    if message is not None:
        body["message"] = message
    body.update(extra or {})
    response = json_response(body, status)
    response.headers["x-amzn-ErrorType"] = code.rsplit("#", 1)[-1]
    return response

