"""Whether a request meets a listener rule's conditions, as the ALB judges them (Application Load
Balancer guide, "Condition types for listener rules"):

- host-header: the Host without its port, case-insensitive; path-pattern: the URL's path (not its
  query string), case-sensitive; both with the wildcards * (0 or more characters) and ? (exactly one);
- http-header (name case-insensitive, values with wildcards, case-insensitive), http-request-method
  (exact, case-sensitive), query-string (key/value pairs with wildcards, case-insensitive), source-ip
  (CIDR blocks, the client's address);
- several values of one condition: any may match; several conditions of one rule: all must.
"""
from __future__ import annotations

import ipaddress
import re
from functools import lru_cache
from urllib.parse import parse_qsl

from labkit.cloud.aws.elbv2.models import Condition
from labkit.cloud.ingress import split_host


@lru_cache(maxsize=1024)
def _pattern(value: str, ignore_case: bool) -> re.Pattern:
    text = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in value)
    return re.compile(text, re.IGNORECASE | re.DOTALL if ignore_case else re.DOTALL)


def wildcard(value: str, text: str, ignore_case: bool) -> bool:
    return _pattern(value, ignore_case).fullmatch(text) is not None


def matches(conditions, environ) -> bool:
    return all(_one(c, environ) for c in conditions)


def _one(condition: Condition, environ) -> bool:
    kind = condition.field
    if kind == "path-pattern":
        path = environ.get("PATH_INFO", "") or "/"
        return any(wildcard(v, path, False) for v in condition.values)
    if kind == "host-header":
        host, _ = split_host(environ.get("HTTP_HOST", ""))
        return any(wildcard(v, host, True) for v in condition.values)
    if kind == "http-request-method":
        return environ.get("REQUEST_METHOD", "GET") in condition.values
    if kind == "http-header":
        key = "HTTP_" + condition.header.upper().replace("-", "_")
        if condition.header.lower() == "content-type":
            key = "CONTENT_TYPE"
        given = environ.get(key)
        return given is not None and any(wildcard(v, given, True) for v in condition.values)
    if kind == "query-string":
        pairs = parse_qsl(environ.get("QUERY_STRING", ""), keep_blank_values=True)
        return any(any((k is None or wildcard(k, qk, True)) and wildcard(v, qv, True) for qk, qv in pairs)
                   for k, v in condition.values)
    if kind == "source-ip":
        try:
            client = ipaddress.ip_address(environ.get("REMOTE_ADDR", ""))
        except ValueError:
            return False
        return any(client in ipaddress.ip_network(v, strict=False) for v in condition.values)
    return False  # a condition this project does not know never matches


def parse(raw: dict) -> Condition:
    """A condition as moto stores it (the request's shape: `Values` or `<Field>Config`)."""
    kind = raw.get("Field", "")
    config_key = {"host-header": "HostHeaderConfig", "path-pattern": "PathPatternConfig",
                  "http-header": "HttpHeaderConfig", "http-request-method": "HttpRequestMethodConfig",
                  "query-string": "QueryStringConfig", "source-ip": "SourceIpConfig"}.get(kind, "")
    config = raw.get(config_key) or {}
    values = config.get("Values") or raw.get("Values") or []
    if kind == "query-string":
        values = [(v.get("Key"), v.get("Value", "")) for v in values if isinstance(v, dict)]
    return Condition(field=kind, values=tuple(values), header=config.get("HttpHeaderName", ""))
