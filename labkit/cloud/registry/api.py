"""The OCI distribution API v2 (what docker, skopeo and oras speak) over ECR's models.

    GET  /v2/                                         ping (200 `{}` when authenticated)
    HEAD|GET|DELETE /v2/<name>/blobs/<digest>         a blob (DELETE: 405, as ECR)
    POST /v2/<name>/blobs/uploads/[?digest=|?mount=&from=]   start (or finish, or mount) an upload
    GET|PATCH|PUT|DELETE /v2/<name>/blobs/uploads/<uuid>     status, chunk, finish (?digest=), cancel
    HEAD|GET|PUT|DELETE /v2/<name>/manifests/<tag-or-digest>
    GET  /v2/<name>/tags/list[?n=&last=]
    GET  /v2/_catalog[?n=&last=]                      (an extension: ECR has no catalog)

Names may contain slashes (team/my-app). The registry (account and region) is the `Host` header
when it is ACCOUNT.dkr.ecr.REGION.amazonaws.com (what `labkit docker` sends), else the course's
defaults (a real docker/skopeo/oras using 127.0.0.1:PORT/NAME). Every request needs ECR's Basic
credentials (see registry/ecr.py) except a blob GET carrying a GetDownloadUrlForLayer signature.
Relative `Location` headers (/v2/...). Request bodies are read before the state lock is taken.
"""
from __future__ import annotations

import json
import re
import sys
import traceback
from urllib.parse import urlencode

from werkzeug.wrappers import Request, Response

from labkit.cloud.aws.ecr import models
from labkit.cloud.registry import oci
from labkit.cloud.registry.ecr import EcrStore, Unauthenticated
from labkit.cloud.registry.errors import API_VERSION_HEADER, RegistryError
from labkit.config import DEFAULT_ACCOUNT, DEFAULT_REGION

ECR_HOST = re.compile(r"^(\d{12})\.dkr\.ecr\.([a-z0-9-]+)\.amazonaws\.com(?::\d+)?$")
ROUTES = [  # (kind, pattern); names are greedy, so the longest name that fits wins, as in distribution
    ("base", re.compile(r"^/v2/?$")),
    ("catalog", re.compile(r"^/v2/_catalog$")),
    ("tags", re.compile(r"^/v2/(?P<name>.+)/tags/list$")),
    ("manifest", re.compile(r"^/v2/(?P<name>.+)/manifests/(?P<reference>[^/]+)$")),
    ("upload", re.compile(r"^/v2/(?P<name>.+)/blobs/uploads/(?P<upload>[^/]*)$")),
    ("blob", re.compile(r"^/v2/(?P<name>.+)/blobs/(?P<digest>[^/]+)$")),
]
METHODS = {"base": ("GET", "HEAD"), "catalog": ("GET",), "tags": ("GET",),
           "manifest": ("GET", "HEAD", "PUT", "DELETE"), "upload": ("GET", "POST", "PATCH", "PUT", "DELETE"),
           "blob": ("GET", "HEAD", "DELETE")}


def registry_app(state, environ, start_response):
    request = Request(environ)
    try:
        response = _dispatch(state, request)
    except RegistryError as exc:
        response = exc.response(request.method)
    except Exception as exc:  # our bug: answer in the registry's shape, log it
        traceback.print_exc(file=sys.stderr)
        response = RegistryError("UNKNOWN", f"labkit local cloud error: {type(exc).__name__}: {exc}",
                                 status=500).response(request.method)
    return response(environ, start_response)


def store_for(state, host: str) -> EcrStore | None:
    """The registry a Host header names: an ECR registry host, an Artifact Registry host
    (LOCATION-docker.pkg.dev: registry/artifact_registry.py), or the defaults for 127.0.0.1."""
    host = (host or "").lower()
    match = ECR_HOST.match(host)
    if match:
        return EcrStore(state, match.group(1), match.group(2))
    name = host.rsplit(":", 1)[0]
    if name.endswith("-docker.pkg.dev"):  # Artifact Registry: PROJECT/REPOSITORY/IMAGE names
        from labkit.cloud.registry.artifact_registry import store_for as artifact_store_for

        return artifact_store_for(state, host)
    if name.endswith(".amazonaws.com") or name.endswith(".pkg.dev"):
        return None  # not a registry the local cloud has
    return EcrStore(state, DEFAULT_ACCOUNT, DEFAULT_REGION)


def _dispatch(state, request: Request) -> Response:
    if request.path == "/v2/token":  # Artifact Registry's token endpoint (its Bearer challenge's realm)
        store = store_for(state, request.environ.get("HTTP_HOST", ""))
        if hasattr(store, "token"):
            return _with_version(store.token(request.headers.get("Authorization", "")))
    kind, args = _route(request.path)
    if kind is None:
        return _with_version(Response("404 page not found\n", status=404, content_type="text/plain; charset=utf-8"))
    if request.method not in METHODS[kind]:
        raise RegistryError("UNSUPPORTED", "The operation is unsupported.")
    body = request.get_data() if request.method in ("PUT", "PATCH", "POST") else b""

    store = None
    if kind == "blob" and request.method in ("GET", "HEAD") and "X-Amz-Signature" in request.args:
        scope = models.backend(state).check_download(args["name"], args["digest"], request.args)
        if scope:  # a GetDownloadUrlForLayer URL: the signature is the credential
            store = EcrStore(state, *scope)
    if store is None:
        store = store_for(state, request.environ.get("HTTP_HOST", ""))
        if store is None:
            raise RegistryError("NAME_UNKNOWN", f"The registry {request.environ.get('HTTP_HOST')} is not served by the labkit local cloud")
        try:
            store.authenticate(request.headers.get("Authorization", ""))
        except Unauthenticated:
            return _with_version(Response("Not Authorized\n", status=401, content_type="text/plain; charset=utf-8",
                                          headers={"WWW-Authenticate": store.challenge()}))
    if "name" in args and hasattr(store, "prepare"):  # Artifact Registry: the repository must exist
        store.prepare(args["name"], writing=request.method not in ("GET", "HEAD"))
    with state.lock:
        return _with_version(HANDLERS[kind](store, request, body, **args))


def _route(path: str):
    for kind, pattern in ROUTES:
        match = pattern.match(path)
        if match:
            return kind, match.groupdict()
    return None, {}


def _with_version(response: Response) -> Response:
    response.headers[API_VERSION_HEADER[0]] = API_VERSION_HEADER[1]
    return response


def _empty(status: int, **headers) -> Response:
    response = Response(b"", status=status)
    response.headers.pop("Content-Type", None)
    for name, value in headers.items():
        response.headers[name.replace("_", "-")] = value
    response.headers["Content-Length"] = "0"
    return response


def _range(size: int) -> str:
    return f"0-{max(size - 1, 0)}"


# -- handlers ---------------------------------------------------------------------------------------

def base(store: EcrStore, request: Request, body: bytes) -> Response:
    return Response(b"{}", status=200, content_type="application/json; charset=utf-8")


def catalog(store: EcrStore, request: Request, body: bytes) -> Response:
    """An extension: ECR has no catalog endpoint."""
    names, link = _paginate(store.catalog(), request, "/v2/_catalog")
    return _json({"repositories": names}, link)


def tags(store: EcrStore, request: Request, body: bytes, name: str) -> Response:
    names, link = _paginate(store.tags(name), request, f"/v2/{name}/tags/list")
    return _json({"name": name, "tags": names}, link)


def _paginate(items: list[str], request: Request, path: str) -> tuple[list[str], str | None]:
    """`n` and `last` as the distribution spec defines them, with a `Link: <...>; rel="next"`."""
    last = request.args.get("last")
    if last is not None:
        items = [i for i in items if i > last]
    n = request.args.get("n")
    if n is None:
        return items, None
    if not n.isdigit():
        raise RegistryError("PAGINATION_NUMBER_INVALID", "invalid number of results requested")
    page = items[:int(n)]
    if len(items) > len(page) and page:
        return page, f'<{path}?{urlencode({"n": n, "last": page[-1]})}>; rel="next"'
    return page, None


def _json(doc: dict, link: str | None = None) -> Response:
    response = Response(json.dumps(doc), status=200, content_type="application/json; charset=utf-8")
    if link:
        response.headers["Link"] = link
    return response


def blob(store: EcrStore, request: Request, body: bytes, name: str, digest: str) -> Response:
    """Known gap: answers 200 with the bytes (ECR redirects to a presigned S3 URL); no Range requests."""
    if request.method == "DELETE":  # ECR deletes images, never single blobs
        raise RegistryError("UNSUPPORTED", "The operation is unsupported.")
    data = store.blob(name, digest)
    response = Response(data, status=200, content_type="application/octet-stream")
    response.headers["Docker-Content-Digest"] = digest
    return response


def upload(store: EcrStore, request: Request, body: bytes, name: str, upload: str) -> Response:
    if request.method == "POST":
        if upload:
            raise RegistryError("UNSUPPORTED", "The operation is unsupported.")
        return _start_upload(store, request, body, name)
    if not upload:
        raise RegistryError("BLOB_UPLOAD_UNKNOWN", "Upload with id '' could not be found")
    location = f"/v2/{name}/blobs/uploads/{upload}"
    if request.method == "GET":
        size = store.upload_size(name, upload)
        return _empty(204, Location=location, Range=_range(size), Docker_Upload_UUID=upload)
    if request.method == "DELETE":
        store.cancel(name, upload)
        return _empty(204)
    if request.method == "PATCH":
        start = _content_range_start(request, len(body))
        size = store.append(name, upload, body, start)
        return _empty(202, Location=location, Range=_range(size), Docker_Upload_UUID=upload)
    digest = request.args.get("digest")  # PUT: the last chunk (maybe empty) and the digest
    if not digest:
        raise RegistryError("DIGEST_INVALID", "The digest parameter is missing")
    digest = store.finish(name, upload, digest, body)
    return _empty(201, Location=f"/v2/{name}/blobs/{digest}", Docker_Content_Digest=digest)


def _start_upload(store: EcrStore, request: Request, body: bytes, name: str) -> Response:
    store.check_repository(name)
    mount, source = request.args.get("mount"), request.args.get("from")
    if mount and source and store.mount(name, mount, source):
        return _empty(201, Location=f"/v2/{name}/blobs/{mount}", Docker_Content_Digest=mount)
    digest = request.args.get("digest")
    if digest:  # monolithic upload: the whole blob in the POST
        digest = store.put_blob(name, digest, body)
        return _empty(201, Location=f"/v2/{name}/blobs/{digest}", Docker_Content_Digest=digest)
    upload_id = store.start_upload(name)
    return _empty(202, Location=f"/v2/{name}/blobs/uploads/{upload_id}", Range="0-0",
                  Docker_Upload_UUID=upload_id)


def _content_range_start(request: Request, length: int) -> int | None:
    header = request.headers.get("Content-Range")
    if not header:
        return None
    match = re.fullmatch(r"(?:bytes[ =])?(\d+)-(\d+)(?:/\d+|/\*)?", header.strip())
    if not match or int(match.group(2)) - int(match.group(1)) + 1 != length:
        raise RegistryError("RANGE_INVALID", f"Invalid Content-Range '{header}' for a chunk of {length} bytes")
    return int(match.group(1))


def manifest(store: EcrStore, request: Request, body: bytes, name: str, reference: str) -> Response:
    """Known gap: the stored manifest is served whatever the Accept header asks (no schema 1
    conversion, no 404 for an index a client does not accept)."""
    if request.method in ("GET", "HEAD"):
        image = store.manifest(name, reference, pull=request.method == "GET")
        response = Response(image.manifest, status=200, content_type=image.media_type)
        response.headers["Docker-Content-Digest"] = image.digest
        return response
    if request.method == "DELETE":
        store.delete_manifest(name, reference)
        return _empty(202)
    if not reference.startswith("sha256:"):
        problem = models.tag_problem(reference)
        if problem:
            raise RegistryError("TAG_INVALID", f"Invalid parameter at 'imageTag' failed to satisfy constraint: "
                                               f"'{problem}'")
    elif not oci.DIGEST.match(reference):
        raise RegistryError("DIGEST_INVALID", f"Invalid digest '{reference}'")
    digest = store.put_manifest(name, reference, body, request.headers.get("Content-Type"))
    return _empty(201, Location=f"/v2/{name}/manifests/{digest}", Docker_Content_Digest=digest)


HANDLERS = {"base": base, "catalog": catalog, "tags": tags, "blob": blob, "upload": upload, "manifest": manifest}
