"""Errors of the OCI distribution API: `{"errors": [{"code": "NAME_UNKNOWN", "message": "..."}]}`
with the status the spec gives each code (one table, below). ECR's registry sends no `detail`
member, so neither do we.
"""
from __future__ import annotations

import json

from werkzeug.wrappers import Response

API_VERSION_HEADER = ("Docker-Distribution-API-Version", "registry/2.0")

STATUS = {
    "BLOB_UNKNOWN": 404,
    "BLOB_UPLOAD_INVALID": 400,
    "BLOB_UPLOAD_UNKNOWN": 404,
    "DIGEST_INVALID": 400,
    "MANIFEST_BLOB_UNKNOWN": 400,
    "MANIFEST_INVALID": 400,
    "MANIFEST_UNKNOWN": 404,
    "NAME_INVALID": 400,
    "NAME_UNKNOWN": 404,
    "PAGINATION_NUMBER_INVALID": 400,
    "SIZE_INVALID": 400,
    "TAG_INVALID": 400,
    "UNAUTHORIZED": 401,
    "DENIED": 403,
    "UNSUPPORTED": 405,
    "RANGE_INVALID": 416,  # an out-of-order chunk (the spec's 416 Requested Range Not Satisfiable)
}


class RegistryError(Exception):
    def __init__(self, code: str, message: str, status: int | None = None, headers: dict | None = None):
        super().__init__(message)
        self.code, self.message = code, message
        self.status = status or STATUS[code]
        self.headers = headers or {}

    def response(self, method: str = "GET") -> Response:
        body = b"" if method == "HEAD" else json.dumps(
            {"errors": [{"code": self.code if self.code != "RANGE_INVALID" else "BLOB_UPLOAD_INVALID",
                         "message": self.message}]}).encode()
        response = Response(body, status=self.status, content_type="application/json; charset=utf-8")
        response.headers[API_VERSION_HEADER[0]] = API_VERSION_HEADER[1]
        for name, value in self.headers.items():
            response.headers[name] = value
        return response
