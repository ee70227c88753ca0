"""One WSGI app on the AWS port that sends each request to the part of the local cloud that owns it.

    Host: a name a service handed out            -> that service's app (ingress.py: App Runner, ALB, ...)
    /_labkit/ecs-exec/*, /_labkit/ecs/*          -> ECS's own paths (SERVICE_PATHS: they check their own
                                                    right, e.g. an ECS Exec session's token)
    /_labkit/*                                   -> control (health; reset and state need the token)
    /moto-api/*                                  -> moto's own control API, only with the token;
                                                    its reset also resets labkit's services
    /gcp/<api>/*                                 -> the Google APIs over REST (labkit/cloud/gcp/rest.py;
                                                    their gRPC arrives on the same port: server.py)
    /v2/*                                        -> OCI distribution API (the ECR registry)
    X-Amz-Target: one of AWS_JSON_SERVICES       -> this project's own service (ECR, ECS: moto's are not faithful)
    signed for one of AWS_QUERY_SERVICES         -> this project's layer over moto's (ELBv2: it passes moto the rest)
    anything else                                -> moto's server app (EKS, IAM, STS, Logs, ...)
"""
from __future__ import annotations

import hmac
import importlib
import json
import os
import re
import threading

from werkzeug.wrappers import Request, Response

# X-Amz-Target prefix -> "module:app" of this project's own AWS JSON service (imported on first use)
AWS_JSON_SERVICES = {
    "AmazonEC2ContainerRegistry_V20150921.": "labkit.cloud.aws.ecr.api:ecr_app",
    "AmazonEC2ContainerServiceV20141113.": "labkit.cloud.aws.ecs.api:ecs_app",
    "AppRunner.": "labkit.cloud.aws.apprunner.api:apprunner_app",
}
# SigV4 service name (credential scope) -> "module:app" of this project's layer over a query-protocol
# service; the app gets moto's app too and hands it whatever it does not serve itself
AWS_QUERY_SERVICES = {
    "elasticloadbalancing": "labkit.cloud.aws.elbv2.api:elbv2_app",
}
_SIGNED_FOR = re.compile(r"Credential=[^/,\s]+/\d{8}/[^/,\s]+/([a-z0-9-]+)/aws4_request")
# /_labkit/ paths a service serves itself, without the control token: each grants no more than an
# AWS call of that service does (ECS Exec: the session ExecuteCommand opened; a FARGATE_SPOT interruption)
SERVICE_PATHS = {
    "/_labkit/ecs-exec/": "labkit.cloud.aws.ecs.exec_sessions:exec_app",
    "/_labkit/ecs/": "labkit.cloud.aws.ecs.control:control_app",
}
TOKEN_HEADER = "X-Labkit-Token"
MOTO_API_PREFIX = "/moto-api"  # moto sends every path starting so (even "/moto-apiX") to its control API


class Gateway:
    def __init__(self, home: str, control_token: str = ""):
        from labkit.cloud.state import CloudState  # state of every emulated service, in one place

        self.home = home
        self.control_token = control_token
        self.state = CloudState(home=home)
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
        route = self.state.ingress.route_for(environ)  # first: an app's own paths are the app's
        if route is not None:
            return self.state.ingress.serve(route, environ, start_response)
        if self.state.ingress.is_service_name(environ):  # a service URL nothing answers at (deleted, or a typo)
            return self.state.ingress.nothing_here(environ, start_response)
        path = environ.get("PATH_INFO", "")
        if path.startswith("/_labkit/"):
            for prefix, app in SERVICE_PATHS.items():
                if path.startswith(prefix):
                    return _app(app)(self.state, environ, start_response)
            return self._control(Request(environ))(environ, start_response)
        if _is_moto_api(path):
            return self._moto_api(environ, start_response)
        if path.startswith("/gcp/"):  # the Google APIs over REST: /gcp/<api>/<Google's path> (labkit/cloud/gcp/rest.py)
            from labkit.cloud.gcp.rest import rest_app

            return rest_app(self.state, environ, start_response)
        if path == "/v2" or path.startswith("/v2/"):
            from labkit.cloud.registry.api import registry_app

            return registry_app(self.state, environ, start_response)
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        for prefix, app in AWS_JSON_SERVICES.items():
            if target.startswith(prefix):
                return _app(app)(self.state, environ, start_response)
        signed = _SIGNED_FOR.search(environ.get("HTTP_AUTHORIZATION", ""))
        if signed and signed.group(1) in AWS_QUERY_SERVICES:
            return _app(AWS_QUERY_SERVICES[signed.group(1)])(self.state, environ, start_response, self._moto())
        return self._moto()(environ, start_response)

    # -- control endpoints ------------------------------------------------------
    def _control(self, request: Request) -> Response:
        action = request.path[len("/_labkit/"):]
        if action == "health":
            return _json({"service": "labkit", "pid": os.getpid(), "moto_loaded": self._moto_app is not None})
        if not self._has_token(request):
            return _refused()
        if action == "reset" and request.method == "POST":
            self.state.reset()
            if self._moto_app is not None:
                from moto.moto_api._internal.models import moto_api_backend

                moto_api_backend.reset()
            return _json({"reset": True})
        return _json({"error": f"unknown control action {action!r}"}, 404)

    def _moto_api(self, environ, start_response):
        """moto's reset, state dump, seed, recorder, dashboard...: whoever holds them can change or
        read every student's cloud, so they need the control token as /_labkit/* does."""
        request = Request(environ)
        if not self._has_token(request):
            return _refused()(environ, start_response)
        if request.path == MOTO_API_PREFIX + "/reset" and request.method == "POST":
            self.state.reset()  # both reset paths mean the same: labkit's ECR and registry too
        return self._moto()(environ, start_response)

    def _has_token(self, request: Request) -> bool:
        given = request.headers.get(TOKEN_HEADER, "")
        return bool(self.control_token) and hmac.compare_digest(given.encode(), self.control_token.encode())


def _app(spec: str):
    module, _, name = spec.partition(":")
    return getattr(importlib.import_module(module), name)


def _is_moto_api(path: str) -> bool:
    # Repeated slashes ("//moto-api/reset") are judged as if merged, as werkzeug's routing may merge them.
    return re.sub("/+", "/", path).startswith(MOTO_API_PREFIX)


def _refused() -> Response:
    return _json({"error": f"control endpoints need the cloud's control token (header {TOKEN_HEADER})"}, 403)


def _json(body: dict, status: int = 200) -> Response:
    return Response(json.dumps(body), status=status, mimetype="application/json")
