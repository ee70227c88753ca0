"""ECS actions AWS takes on its own that a lab must be able to cause: `/_labkit/ecs/<action>`.

    POST /_labkit/ecs/interrupt-spot  {"cluster": ..., "task": id or ARN, "region": ...}
        reclaims a FARGATE_SPOT task's capacity, as AWS does when it needs it back: the task stops
        with stopCode SpotInterruption (models.EcsBackend.interrupt_spot), its service replaces it.

No control token: whoever may call ECS's StopTask may cause this (the task stops either way; only
the stop code differs). Answers the task as DescribeTasks shapes it, or ECS's error shape
{"__type", "message"} with HTTP 400.
"""
from __future__ import annotations

import json

from werkzeug.wrappers import Request, Response

from labkit.cloud.aws import protocol
from labkit.cloud.aws.ecs import errors, models

PATH_PREFIX = "/_labkit/ecs/"


def control_app(state, environ, start_response):
    from labkit.cloud.aws.ecs import api  # shapes the task as ECS's API does

    request = Request(environ)
    action = request.path[len(PATH_PREFIX):]
    if action != "interrupt-spot" or request.method != "POST":
        response = Response(json.dumps({"error": f"unknown ECS action {action!r}"}), status=404,
                            mimetype="application/json")
        return response(environ, start_response)
    try:
        try:
            body = json.loads(request.get_data() or b"{}")
        except ValueError:
            raise errors.Serialization("Start of structure or map found where not expected.") from None
        if not isinstance(body, dict):
            raise errors.Serialization("Start of structure or map found where not expected.")
        if not body.get("task"):
            raise errors.InvalidParameter("task can not be blank.")
        backend = models.backend(state)
        region = body.get("region") or protocol.region_of(environ)
        with state.lock:
            task = backend.interrupt_spot(protocol.account_of(environ), region, body.get("cluster"), body["task"])
            response = protocol.json_response({"task": api._task(task, [])})
    except errors.EcsError as exc:
        response = protocol.error_response(exc.code, exc.message, exc.status)
    return response(environ, start_response)
