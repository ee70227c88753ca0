"""Where one request to a listener goes, as an Application Load Balancer decides it:

1. the listener's rules in priority order, the first whose conditions all match (conditions.py), else
   the default rule;
2. its action: `fixed-response` answers itself, `redirect` answers with a Location, `forward` picks a
   target group by weight (weighted random per request, from the data plane's `random`, seedable),
   then a target of that group: round robin over its healthy targets; when none is healthy, over its
   unhealthy ones (the ALB fails open: Application Load Balancer guide, "Health checks for target
   groups"); none in service (no target registered, only new or draining ones, every weight 0): 503.

Traffic goes only to loopback addresses (nothing leaves 127.0.0.1): a target elsewhere answers as an
ALB does when it cannot reach a target in time, 504.
"""
from __future__ import annotations

from itertools import count

from labkit.cloud.aws.elbv2 import conditions
from labkit.cloud.aws.elbv2.health import reachable
from labkit.cloud.aws.elbv2.models import HEALTHY, UNAVAILABLE, UNHEALTHY, Action, Listener
from labkit.cloud.ingress import Reply, Route, Upstream, split_host


def _page(status: int, title: str) -> str:  # the ALB's own error pages
    return (f"<html>\r\n<head><title>{status} {title}</title></head>\r\n<body>\r\n"
            f"<center><h1>{status} {title}</h1></center>\r\n</body>\r\n</html>\r\n")


SERVICE_UNAVAILABLE = Reply(503, _page(503, "Service Temporarily Unavailable"), "text/html")
GATEWAY_TIMEOUT = Reply(504, _page(504, "Gateway Time-out"), "text/html")
BAD_GATEWAY = (502, _page(502, "Bad Gateway"))


def route(plane, listener: Listener) -> Route:
    def pick(environ):
        for rule in listener.rules:
            if conditions.matches(rule.conditions, environ):
                return act(plane, rule.action, environ, listener)
        return SERVICE_UNAVAILABLE

    return Route(host=listener.host, port=listener.port, pick=pick,
                 unavailable=lambda: (SERVICE_UNAVAILABLE.status, SERVICE_UNAVAILABLE.body), owner=listener.arn,
                 bad_gateway=BAD_GATEWAY)


def act(plane, action: Action, environ, listener: Listener):
    if action.type == "fixed-response":
        status, body, content_type = action.fixed
        return Reply(status, body, content_type)
    if action.type == "redirect":
        return _redirect(action.redirect, environ, listener)
    if action.type != "forward":
        return SERVICE_UNAVAILABLE
    group = choose_group(plane.random, action.forward)
    if group is None:
        return SERVICE_UNAVAILABLE
    target = choose_target(plane, group)
    if target is None:
        return SERVICE_UNAVAILABLE
    if not reachable(target.address):
        return GATEWAY_TIMEOUT
    return Upstream(target.address, target.port)


def choose_group(rng, weighted) -> str | None:
    total = sum(max(w, 0) for _, w in weighted)
    if total <= 0:
        return None
    if len(weighted) == 1:
        return weighted[0][0]
    point = rng.random() * total
    for arn, weight in weighted:
        point -= max(weight, 0)
        if point < 0:
            return arn
    return weighted[-1][0]


def choose_target(plane, tg_arn: str):
    """Round robin over the healthy targets; with none, over the unhealthy ones (fail open; with health
    checks disabled every target is `unavailable` and gets traffic). A target still `initial` is not
    in service until it passes a check, and a draining one takes no new requests."""
    registered = plane.registrations(tg_arn)
    pool = [r for r in registered if r.state == HEALTHY] or \
        [r for r in registered if r.state in (UNHEALTHY, UNAVAILABLE)]
    if not pool:
        return None
    turn = plane.turns.setdefault(tg_arn, count())
    return pool[next(turn) % len(pool)]


def _redirect(config: dict, environ, listener: Listener) -> Reply:
    """RedirectConfig with its #{protocol}, #{host}, #{port}, #{path}, #{query} keywords."""
    host, port = split_host(environ.get("HTTP_HOST", ""))
    values = {"protocol": "HTTP", "host": host, "port": str(port),
              "path": (environ.get("PATH_INFO", "") or "/").lstrip("/"), "query": environ.get("QUERY_STRING", "")}

    def fill(text: str) -> str:
        for key, value in values.items():
            text = text.replace("#{" + key + "}", value)
        return text

    protocol = fill(config.get("Protocol") or "#{protocol}").lower()
    target_port = fill(config.get("Port") or "#{port}")
    target_host = fill(config.get("Host") or "#{host}")
    path = "/" + fill(config.get("Path") or "/#{path}").lstrip("/")
    query = fill(config.get("Query") or "#{query}")
    default_port = {"http": "80", "https": "443"}.get(protocol)
    location = f"{protocol}://{target_host}{'' if target_port == default_port else ':' + target_port}{path}"
    if query:
        location += "?" + query
    status = 301 if config.get("StatusCode", "HTTP_301") == "HTTP_301" else 302
    return Reply(status, "", "text/html", (("Location", location),))
