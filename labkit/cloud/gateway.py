"""One WSGI app on the AWS port that sends each request to the part of the local cloud that owns it.

    /_labkit/*                                   -> control (health; reset and state need the token)
    /v2/*                                        -> OCI distribution API (the ECR registry)
    X-Amz-Target: AmazonEC2ContainerRegistry_*   -> this project's ECR (moto's ECR is not faithful)
    anything else                                -> moto's server app (ECS, EKS, IAM, STS, ...)
"""
from __future__ import annotations

import hmac
import json
import os
import threading

from werkzeug.wrappers import Request, Response

ECR_TARGET_PREFIX = "AmazonEC2ContainerRegistry_V20150921."


class Gateway:
    def __init__(self, home: str, control_token: str = ""):
        from labkit.cloud.state import CloudState  # state of every emulated service, in one place

        self.home = home
        self.control_token = control_token
        self.state = CloudState()
        self._moto_app = None
        self._moto_lock = threading.Lock()

    # -- moto, imported lazily -------------------------------------------------
    def warm_up(self) -> None:
        self._moto()

    def _moto(self):
        with self._moto_lock:
            if self._moto_app is None:
                from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

                self._moto_app = DomainDispatcherApplication(create_backend_app)
            return self._moto_app

    # -- dispatch ---------------------------------------------------------------
    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        if path.startswith("/_labkit/"):
            return self._control(Request(environ))(environ, start_response)
        if path == "/v2" or path.startswith("/v2/"):
            from labkit.cloud.registry.api import registry_app

            return registry_app(self.state, environ, start_response)
        if environ.get("HTTP_X_AMZ_TARGET", "").startswith(ECR_TARGET_PREFIX):
            from labkit.cloud.aws.ecr.api import ecr_app

            return ecr_app(self.state, environ, start_response)
        return self._moto()(environ, start_response)

    # -- control endpoints ------------------------------------------------------
    def _control(self, request: Request) -> Response:
        action = request.path[len("/_labkit/"):]
        if action == "health":
            return _json({"service": "labkit", "pid": os.getpid(), "moto_loaded": self._moto_app is not None})
        given = request.headers.get("X-Labkit-Token", "")
        if not self.control_token or not hmac.compare_digest(given, self.control_token):
            return _json({"error": "control endpoints need the cloud's control token"}, 403)
        if action == "reset" and request.method == "POST":
            self.state.reset()
            if self._moto_app is not None:
                from moto.moto_api._internal.models import moto_api_backend

                moto_api_backend.reset()
            return _json({"reset": True})
        return _json({"error": f"unknown control action {action!r}"}, 404)


def _json(body: dict, status: int = 200) -> Response:
    return Response(json.dumps(body), status=status, mimetype="application/json")
