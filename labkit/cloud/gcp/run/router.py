"""The URLs of Cloud Run services: ingress Routes (labkit/cloud/ingress.py) for a service's two hosts
(the deterministic SERVICE-PROJECTNUMBER.REGION.run.app and the hash-based SERVICE-HASH-CODE.a.run.app)
and two per tag (TAG--- before either, reaching its revision alone).

Per request, as Cloud Run's front end decides it:
1. a deleted service, an internal-only ingress (the kernel is "the internet" here) or a tag no longer
   in the traffic: Google's 404 page;
2. no allUsers binding of roles/run.invoker (gcloud's --allow-unauthenticated) and no invoker check
   disabled: Google's 403 page to a request without a bearer token (a bearer token passes when
   allAuthenticatedUsers or any principal holds the role: tokens are not verified here);
3. a revision by the serving traffic's percents (weighted random from the backend's `random`, seeded
   by LABKIT_CLOUDRUN_SEED, deterministic in tests), its instance started if it scaled to zero;
   none can serve: 503.

Known gaps: plain HTTP only (no certificates for these names); bearer tokens are not verified; the
split is a per-request random draw, not Cloud Run's own balancing (docs/fidelity.md, Cloud Run).
"""
from __future__ import annotations

import time

from google.cloud import run_v2

from labkit.cloud.gcp.run.models import RequestRecord
from labkit.cloud.ingress import Reply, Route

INGRESS_ALL = run_v2.IngressTraffic.INGRESS_TRAFFIC_ALL
RECORD_KEY = "labkit.cloudrun.request"   # environ: (revision, its RequestRecord, monotonic start)


def _page(status: int, title: str, heading: str, text: str) -> str:
    """Google's front end's error page."""
    return (f"\n<html><head>\n<meta http-equiv=\"content-type\" content=\"text/html;charset=utf-8\">\n"
            f"<title>{status} {title}</title>\n</head>\n<body text=#000000 bgcolor=#ffffff>\n"
            f"<h1>Error: {heading}</h1>\n<h2>{text}</h2>\n<h2></h2>\n</body></html>\n")


def forbidden(path: str) -> Reply:
    return Reply(403, _page(403, "Forbidden", "Forbidden", f"Your client does not have permission to get URL "
                                                          f"<code>{path}</code> from this server."),
                 "text/html; charset=UTF-8")


NOT_FOUND = Reply(404, _page(404, "Page not found", "Page not found", "The requested URL was not found on this "
                                                                      "server."), "text/html; charset=UTF-8")
UNAVAILABLE = Reply(503, _page(503, "Service Unavailable", "Service Unavailable", "The service you requested is "
                                                                                  "not available yet.<p>Please try "
                                                                                  "again in 30 seconds."),
                    "text/html; charset=UTF-8")
BAD_GATEWAY = (502, _page(502, "Bad Gateway", "Bad Gateway", "The server encountered a temporary error and could "
                                                             "not complete your request.<p>Please try again in 30 "
                                                             "seconds."))


def _owner(service, kind: str) -> str:
    return f"cloudrun:{kind}:{service.full_name}:{service.uid}"


def _route(backend, service, host: str, tag: str | None, kind: str) -> Route:
    return Route(host=host, port=80, pick=lambda environ: pick(backend, service, environ, tag),
                 unavailable=lambda: (UNAVAILABLE.status, UNAVAILABLE.body), owner=_owner(service, kind),
                 bad_gateway=BAD_GATEWAY, observe=lambda environ, status, size: answered(backend, environ, status,
                                                                                         size))


def open_routes(backend, service) -> None:
    """The service's two URLs, from creation on (they answer once a revision serves)."""
    for host in (service.host, service.hashed_host):
        backend.state.ingress.add(_route(backend, service, host, None, "service"))


def tag_routes(backend, service) -> None:
    """One route per tag of the serving traffic (called whenever it changes)."""
    ingress = backend.state.ingress
    ingress.remove(_owner(service, "tags"))
    for tag in service.tags():
        for host in (service.tag_host(tag), f"{tag}---{service.hashed_host}"):
            ingress.add(_route(backend, service, host, tag, "tags"))


def close_tag_routes(backend, service) -> None:
    """A deleted service's tag URLs stop answering; its two URLs answer Google's 404 page (pick)."""
    backend.state.ingress.remove(_owner(service, "tags"))


def pick(backend, service, environ, tag: str | None):
    """Where one request goes: an Upstream (the revision's instance), or a Reply of Google's."""
    with backend.lock:
        if service.deleted_at is not None or service.spec.ingress not in (INGRESS_ALL, 0) \
                or service.spec.default_uri_disabled:
            return NOT_FOUND
        if not _allowed(service, environ):
            return forbidden(environ.get("PATH_INFO") or "/")
        if tag is not None:
            name = service.tags().get(tag)
        else:
            name = choose(backend.random, [(t.revision, t.percent) for t in service.serving])
        revision = service.revisions.get(name) if name else None
        if revision is None:
            return NOT_FOUND if tag is not None else UNAVAILABLE
        revision.last_request = time.monotonic()
        record = RequestRecord(time=backend.clock(), method=environ.get("REQUEST_METHOD", "GET"),
                               url=_url(environ), user_agent=environ.get("HTTP_USER_AGENT", ""),
                               remote_ip=environ.get("REMOTE_ADDR", ""),
                               protocol=environ.get("SERVER_PROTOCOL", "HTTP/1.1"),
                               request_size=_int(environ.get("CONTENT_LENGTH")))
        revision.note_request(record)
        environ[RECORD_KEY] = (revision, record, time.monotonic())
        instance = revision.instance
        upstream = instance.upstream if instance is not None and not instance.stopping else None
    if upstream is None:
        upstream = backend.deployer.ensure_running(service, revision)
        with backend.lock:
            revision.last_request = time.monotonic()
    return upstream if upstream is not None else UNAVAILABLE


def answered(backend, environ, status: int, size: int) -> None:
    """The ingress's call once a request's answer has been sent: its request log line is complete
    (the status the client got, the bytes, the latency), as Cloud Run writes it then."""
    noted = environ.get(RECORD_KEY)
    if noted is None:  # answered before a revision was picked (403, 404, 503 pages): no revision's log
        return
    revision, record, started = noted
    with backend.lock:
        record.latency = time.monotonic() - started
        record.response_size = size
        instance = revision.instance
        record.instance_id = instance.id if instance is not None else ""
        record.status = status


def _url(environ) -> str:
    query = environ.get("QUERY_STRING")
    return f"https://{environ.get('HTTP_HOST', '')}{environ.get('PATH_INFO') or '/'}" + (f"?{query}" if query else "")


def _int(text) -> int:
    try:
        return max(0, int(text or 0))
    except ValueError:
        return 0


def _allowed(service, environ) -> bool:
    if service.public:
        return True
    if not (environ.get("HTTP_AUTHORIZATION") or "").lower().startswith("bearer "):
        return False
    return any(b.role == "roles/run.invoker" and b.members for b in service.policy.bindings)


def choose(rng, weighted: list[tuple[str, int]]) -> str | None:
    """A name by weight (percents); None when every weight is 0."""
    total = sum(max(w, 0) for _, w in weighted)
    if total <= 0:
        return None
    live = [(name, w) for name, w in weighted if w > 0]
    if len(live) == 1:
        return live[0][0]
    point = rng.random() * total
    for name, weight in live:
        point -= weight
        if point < 0:
            return name
    return live[-1][0]
