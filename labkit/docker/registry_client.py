"""A small OCI distribution (registry v2) client: login check, push, pull, and reading what a
registry holds. Works against the local cloud's registry (ECR and Artifact Registry names) and
any standard registry on 127.0.0.1; refuses everything else (see reference.route).

For checks and the grader:

    from labkit.docker import registry_client as rc
    creds = rc.ecr_credentials(boto3_ecr_client)               # ("AWS", password)
    ref = "123456789012.dkr.ecr.ap-northeast-2.amazonaws.com/my-app:v1.0"
    m = rc.fetch_manifest(ref, credentials=creds, endpoint="http://127.0.0.1:4566")
    m.digest, m.media_type, m.manifest["layers"]
    config = rc.fetch_config(ref, credentials=creds, endpoint=...)   # config["config"]["Cmd"]
    blob = rc.fetch_blob(ref, m.manifest["layers"][-1]["digest"], credentials=creds, endpoint=...)
    labkit.docker.layers.layer_files(blob)                           # ["/app/app.py", ...]
    img = rc.fetch_image(ref, credentials=creds, endpoint=...)       # all of it: img.config, img.files()

`credentials=None` uses what `labkit docker login` saved in LABKIT_HOME/docker/config.json
(`home=` picks another LABKIT_HOME). HTTP goes through http.client to 127.0.0.1 only, with no
proxy and no redirect to another host.
"""
from __future__ import annotations

import base64
import hashlib
import http
import http.client
import json
import re
import urllib.parse
from dataclasses import dataclass, field
from typing import TextIO

from labkit.docker import auth, reference as references
from labkit.docker.bases import CONFIG_V1, MANIFEST_V2
from labkit.docker.errors import DockerError
from labkit.docker.layers import sha256

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
MANIFEST_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
ACCEPT_MANIFESTS = ", ".join([MANIFEST_V2, OCI_MANIFEST, MANIFEST_LIST, OCI_INDEX])
USER_AGENT = "labkit-docker/1 (no engine; docker-compatible)"


class RegistryError(DockerError):
    """An error answer of a registry, relayed as docker prints it: `name unknown: The repository ...`."""

    def __init__(self, message: str, status: int = 0, errors: list[dict] | None = None,
                 hint: tuple[str, dict] | None = None):
        super().__init__(message, hint=hint)
        self.status = status
        self.errors = errors or []

    @property
    def code(self) -> str | None:
        return self.errors[0].get("code") if self.errors else None


class RegistryUnreachable(RegistryError):
    pass


class NoBasicAuthCredentials(RegistryError):
    pass


@dataclass
class Response:
    status: int
    reason: str
    headers: dict[str, str]
    body: bytes

    def header(self, name: str, default: str = "") -> str:
        return self.headers.get(name.lower(), default)


@dataclass
class Manifest:
    data: bytes
    media_type: str
    digest: str
    manifest: dict = field(default_factory=dict)


def registry_error(resp: Response, fallback: str = "") -> RegistryError:
    """docker's errcode formatting: `<code lower-cased, _ as space>: <message>`."""
    errors = []
    try:
        body = json.loads(resp.body or b"{}")
        errors = body.get("errors") or []
    except ValueError:
        body = None
    parts = []
    for e in errors:
        code = str(e.get("code", "UNKNOWN"))
        text = code.lower().replace("_", " ")
        message = e.get("message")
        parts.append(f"{text}: {message}" if message else text)
    if not parts:
        parts.append(fallback or f"unexpected status from the registry: {resp.status} {_status_text(resp)}")
    message = parts[0] if len(parts) == 1 else "errors:\n" + "\n".join(parts)
    return RegistryError(message, status=resp.status, errors=errors)


def _parse_challenge(header: str) -> tuple[str, dict[str, str]]:
    scheme, _, rest = header.strip().partition(" ")
    params = dict((k.lower(), v) for k, v in re.findall(r'(\w+)="([^"]*)"', rest))
    return scheme.lower(), params


class RegistryClient:
    """One registry, one keep-alive connection to 127.0.0.1."""

    def __init__(self, registry: str, credentials: tuple[str, str] | None = None, *,
                 endpoint: str | None = None, aws_port: int | None = None, timeout: float = 30.0):
        self.registry = registry
        self.route = references.route(registry, aws_port=aws_port, endpoint=endpoint)
        self.credentials = credentials
        self.timeout = timeout
        self._conn: http.client.HTTPConnection | None = None
        self._authorization: str | None = None
        self._challenge: tuple[str, dict[str, str]] | None = None
        self._tokens: dict[str, str] = {}

    # -- transport -----------------------------------------------------------------------
    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _send(self, method: str, path: str, headers: dict[str, str] | None = None,
              body: bytes | None = None) -> Response:
        hdrs = {"Host": self.route.host_header, "User-Agent": USER_AGENT}
        hdrs.update(headers or {})
        if body is not None:
            hdrs.setdefault("Content-Length", str(len(body)))
        for attempt in (0, 1):
            if self._conn is None:
                self._conn = http.client.HTTPConnection(self.route.connect_host, self.route.connect_port,
                                                        timeout=self.timeout)
            try:
                self._conn.request(method, path, body=body, headers=hdrs)
                raw = self._conn.getresponse()
                data = raw.read()
                resp = Response(raw.status, raw.reason, {k.lower(): v for k, v in raw.getheaders()}, data)
                if raw.will_close:
                    self.close()
                return resp
            except (ConnectionError, http.client.HTTPException, OSError) as exc:
                self.close()
                if attempt == 0 and isinstance(exc, (http.client.RemoteDisconnected, BrokenPipeError,
                                                     ConnectionResetError)):
                    continue
                raise self._unreachable(exc) from None
        raise AssertionError("unreachable")  # pragma: no cover

    def _unreachable(self, exc: Exception) -> RegistryUnreachable:
        where = f"{self.route.connect_host}:{self.route.connect_port}"
        if self.route.kind == "loopback":
            message = (f'Get "{self.route.display_base}/v2/": dial tcp {where}: connect: connection refused'
                       if isinstance(exc, ConnectionRefusedError) else f"{self.route.display_base}: {exc}")
            return RegistryUnreachable(message, hint=("docker.hint.registry_unreachable", {"address": where}))
        return RegistryUnreachable(
            f'Get "{self.route.display_base}/v2/": the local cloud is not answering on {where} ({exc.__class__.__name__})',
            hint=("docker.hint.cloud_down", {"endpoint": f"http://{where}"}))

    # -- auth ----------------------------------------------------------------------------
    def ping(self) -> Response:
        """GET /v2/ without credentials; remembers the auth challenge."""
        resp = self._send("GET", "/v2/")
        if resp.status == 401:
            self._challenge = _parse_challenge(resp.header("www-authenticate", "Basic"))
        return resp

    def _auth_header(self, scope: str | None) -> str | None:
        if self._challenge is None or self.credentials is None:
            return None
        scheme, params = self._challenge
        if scheme == "basic":
            user, password = self.credentials
            return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
        if scheme == "bearer":
            key = scope or ""
            if key not in self._tokens:
                self._tokens[key] = self._fetch_token(params, scope)
            return "Bearer " + self._tokens[key]
        return None

    def _fetch_token(self, params: dict[str, str], scope: str | None) -> str:
        realm = params.get("realm", "")
        parsed = urllib.parse.urlsplit(realm)
        token_client = self if parsed.netloc in ("", self.registry) else RegistryClient(
            parsed.netloc, self.credentials, endpoint=None, aws_port=self.route.connect_port
            if self.route.kind != "loopback" else None, timeout=self.timeout)
        query = {k: v for k, v in (("service", params.get("service")), ("scope", scope)) if v}
        path = (parsed.path or "/") + ("?" + urllib.parse.urlencode(query) if query else "")
        user, password = self.credentials or ("", "")
        basic = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
        resp = token_client._send("GET", path, {"Authorization": basic})
        if resp.status != 200:
            raise registry_error(resp, "unauthorized: authentication required")
        body = json.loads(resp.body or b"{}")
        return body.get("token") or body.get("access_token") or ""

    def request(self, method: str, path: str, *, headers: dict[str, str] | None = None, body: bytes | None = None,
                scope: str | None = None) -> Response:
        """A request with auth: on 401 learn the challenge and retry once with credentials."""
        hdrs = dict(headers or {})
        authorization = self._auth_header(scope)
        if authorization:
            hdrs["Authorization"] = authorization
        resp = self._send(method, path, hdrs, body)
        if resp.status == 401 and authorization is None:
            self._challenge = _parse_challenge(resp.header("www-authenticate", "Basic"))
            if self.credentials is None:
                if self._challenge[0] == "basic":
                    raise NoBasicAuthCredentials("no basic auth credentials", status=401)
                raise registry_error(resp, "unauthorized: authentication required")
            authorization = self._auth_header(scope)
            if authorization:
                hdrs["Authorization"] = authorization
                resp = self._send(method, path, hdrs, body)
        return resp

    def check_login(self) -> None:
        """What `docker login` does before saving: GET /v2/ with the credentials must answer 200."""
        resp = self.ping()
        if resp.status == 200:
            return
        if resp.status != 401:
            raise RegistryError(f"login attempt to {self.route.display_base}/v2/ failed with status: "
                                f"{resp.status} {_status_text(resp)}", status=resp.status)
        authorization = self._auth_header(None)
        resp = self._send("GET", "/v2/", {"Authorization": authorization} if authorization else {})
        if resp.status != 200:
            error = registry_error(resp)
            raise RegistryError(f"login attempt to {self.route.display_base}/v2/ failed with status: "
                                f"{resp.status} {_status_text(resp)}", status=resp.status, errors=error.errors)

    # -- blobs and manifests -------------------------------------------------------------
    @staticmethod
    def _scope(repository: str, actions: str) -> str:
        return f"repository:{repository}:{actions}"

    def blob_exists(self, repository: str, digest: str) -> bool:
        path, scope = f"/v2/{repository}/blobs/{digest}", self._scope(repository, "pull,push")
        resp = self.request("HEAD", path, scope=scope)
        if resp.status == 200:
            return True
        if resp.status == 404:  # BLOB_UNKNOWN, or NAME_UNKNOWN: the upload that follows says which
            return False
        # a HEAD answer has no body: ask again with GET to relay the registry's own message
        resp = self.request("GET", path, scope=scope)
        if resp.status == 200:
            return True
        raise registry_error(resp)

    def get_blob(self, repository: str, digest: str) -> bytes:
        path = f"/v2/{repository}/blobs/{digest}"
        resp = self.request("GET", path, scope=self._scope(repository, "pull"))
        for _ in range(3):
            if resp.status not in (301, 302, 303, 307, 308):
                break
            resp = self._follow(resp, repository)
        if resp.status != 200:
            raise registry_error(resp)
        if sha256(resp.body) != digest:
            raise RegistryError(f"blob {digest} from {self.registry} does not match its digest")
        return resp.body

    def _follow(self, resp: Response, repository: str) -> Response:
        location = resp.header("location")
        parsed = urllib.parse.urlsplit(location)
        if parsed.netloc and parsed.netloc not in (self.registry, self.route.host_header):
            references.route(parsed.netloc)  # raises RegistryRefused for anything off loopback
            return RegistryClient(parsed.netloc, None, timeout=self.timeout)._send("GET", _path_query(parsed))
        return self.request("GET", _path_query(parsed), scope=self._scope(repository, "pull"))

    def upload_blob(self, repository: str, data: bytes, digest: str) -> None:
        """POST /blobs/uploads/ then one PUT ?digest= with the whole blob (monolithic upload)."""
        scope = self._scope(repository, "pull,push")
        resp = self.request("POST", f"/v2/{repository}/blobs/uploads/", headers={"Content-Length": "0"}, body=b"",
                            scope=scope)
        if resp.status == 201:  # some registries accept a mount/monolithic POST at once
            return
        if resp.status != 202:
            raise registry_error(resp)
        location = resp.header("location")
        if not location:
            raise RegistryError("the registry did not say where to upload (no Location header)")
        parsed = urllib.parse.urlsplit(location)
        path = parsed.path if parsed.path.startswith("/") else f"/v2/{repository}/blobs/uploads/{parsed.path}"
        query = urllib.parse.parse_qsl(parsed.query, keep_blank_values=True)
        query.append(("digest", digest))
        resp = self.request("PUT", f"{path}?{urllib.parse.urlencode(query)}", body=data,
                            headers={"Content-Type": "application/octet-stream"}, scope=scope)
        if resp.status not in (201, 204):
            raise registry_error(resp)

    def get_manifest(self, repository: str, reference: str, accept: str = ACCEPT_MANIFESTS) -> Manifest:
        resp = self.request("GET", f"/v2/{repository}/manifests/{reference}", headers={"Accept": accept},
                            scope=self._scope(repository, "pull"))
        if resp.status != 200:
            raise registry_error(resp)
        digest = sha256(resp.body)
        if reference.startswith("sha256:") and digest != reference:
            raise RegistryError(f"manifest {reference} from {self.registry} does not match its digest")
        media_type = resp.header("content-type").split(";")[0].strip()
        manifest = json.loads(resp.body)
        media_type = manifest.get("mediaType") or media_type
        return Manifest(resp.body, media_type, digest, manifest)

    def put_manifest(self, repository: str, reference: str, data: bytes, media_type: str) -> str:
        resp = self.request("PUT", f"/v2/{repository}/manifests/{reference}", body=data,
                            headers={"Content-Type": media_type}, scope=self._scope(repository, "pull,push"))
        if resp.status not in (200, 201, 202):
            raise registry_error(resp)
        return resp.header("docker-content-digest") or sha256(data)

    def list_tags(self, repository: str) -> list[str]:
        resp = self.request("GET", f"/v2/{repository}/tags/list", scope=self._scope(repository, "pull"))
        if resp.status != 200:
            raise registry_error(resp)
        return list(json.loads(resp.body).get("tags") or [])


def _status_text(resp: Response) -> str:
    """Go's http.StatusText, as docker prints it ("Bad Request", whatever the server's reason says)."""
    try:
        return http.HTTPStatus(resp.status).phrase
    except ValueError:
        return resp.reason


def _path_query(parsed: urllib.parse.SplitResult) -> str:
    return parsed.path + (f"?{parsed.query}" if parsed.query else "")


# -- functions for checks and the grader ----------------------------------------------------

def client_for(image: str | references.Reference, credentials: tuple[str, str] | None = None, *,
               endpoint: str | None = None, home=None, timeout: float = 30.0) -> tuple[RegistryClient, references.Reference]:
    ref = references.parse(image) if isinstance(image, str) else image
    if credentials is None:
        credentials = auth.get_credentials(ref.domain, home)
    return RegistryClient(ref.domain, credentials, endpoint=endpoint, timeout=timeout), ref


def fetch_manifest(image: str, credentials: tuple[str, str] | None = None, *, endpoint: str | None = None,
                   home=None, platform: str = "linux/amd64") -> Manifest:
    """The manifest `image` names in its registry (a manifest list/index resolves to `platform`)."""
    with client_for(image, credentials, endpoint=endpoint, home=home)[0] as client:
        ref = references.parse(image)
        return _resolve_manifest(client, ref, platform)


def fetch_config(image: str, credentials: tuple[str, str] | None = None, *, endpoint: str | None = None,
                 home=None) -> dict:
    """The image config JSON (`config["config"]["Cmd"]`, `["ExposedPorts"]`, `["rootfs"]`, ...)."""
    client, ref = client_for(image, credentials, endpoint=endpoint, home=home)
    with client:
        manifest = _resolve_manifest(client, ref, "linux/amd64")
        return json.loads(client.get_blob(ref.path, manifest.manifest["config"]["digest"]))


def fetch_blob(image: str, digest: str, credentials: tuple[str, str] | None = None, *,
               endpoint: str | None = None, home=None) -> bytes:
    """One blob (a layer's tar.gz, a config) of `image`'s repository, digest-verified."""
    client, ref = client_for(image, credentials, endpoint=endpoint, home=home)
    with client:
        return client.get_blob(ref.path, digest)


@dataclass
class RemoteImage:
    """An image as a registry holds it: manifest, config and layer blobs (all digest-verified)."""

    manifest: Manifest
    config: dict
    layers: list[bytes]

    @property
    def digest(self) -> str:
        return self.manifest.digest

    def files(self) -> list[str]:
        """Absolute paths of every layer's entries (not directories): ["/app/app.py", ...]."""
        from labkit.docker.layers import layer_files

        seen: dict[str, None] = {}
        for blob in self.layers:
            for path in layer_files(blob):
                seen[path] = None
        return sorted(seen)


def fetch_image(image: str, credentials: tuple[str, str] | None = None, *, endpoint: str | None = None,
                home=None, platform: str = "linux/amd64") -> RemoteImage:
    """Manifest, config and layers of `image` in its registry, in one call (one connection)."""
    client, ref = client_for(image, credentials, endpoint=endpoint, home=home)
    with client:
        manifest = _resolve_manifest(client, ref, platform)
        config = json.loads(client.get_blob(ref.path, manifest.manifest["config"]["digest"]))
        layers = [client.get_blob(ref.path, d["digest"]) for d in manifest.manifest.get("layers", [])]
    return RemoteImage(manifest, config, layers)


def ecr_credentials(ecr_client) -> tuple[str, str]:
    """(user, password) from a boto3 ECR client's get_authorization_token (user is "AWS")."""
    data = ecr_client.get_authorization_token()["authorizationData"][0]
    user, _, password = base64.b64decode(data["authorizationToken"]).decode().partition(":")
    return user, password


def _resolve_manifest(client: RegistryClient, ref: references.Reference, platform: str) -> Manifest:
    manifest = client.get_manifest(ref.path, ref.reference)
    if manifest.media_type in (MANIFEST_LIST, OCI_INDEX) or "manifests" in manifest.manifest:
        os_name, _, arch = platform.partition("/")
        for entry in manifest.manifest.get("manifests", []):
            p = entry.get("platform", {})
            if p.get("os") == os_name and p.get("architecture") == arch:
                return client.get_manifest(ref.path, entry["digest"])
        raise RegistryError(f"no matching manifest for {platform} in the manifest list entries")
    return manifest


# -- push and pull ---------------------------------------------------------------------------

@dataclass
class PushResult:
    reference: str       # familiar: 1234....amazonaws.com/my-app:v1.0
    tag: str
    digest: str          # as the registry reported it (Docker-Content-Digest)
    size: int            # manifest size in bytes
    pushed: list[str] = field(default_factory=list)     # blob digests uploaded
    existing: list[str] = field(default_factory=list)   # blob digests the registry had


def push(image: str, *, store=None, credentials: tuple[str, str] | None = None, endpoint: str | None = None,
         out: TextIO | None = None) -> PushResult:
    """docker push: HEAD each blob, upload the missing ones, PUT the manifest with its media type.
    Progress lines like docker's go to `out`."""
    from labkit.docker.store import ImageNotFound, ImageStore

    store = store or ImageStore()
    ref = references.parse(image)
    if ref.digest and not ref.tag:
        raise DockerError("cannot push a digest reference")
    try:
        local = store.get(str(ref))
    except ImageNotFound:
        raise DockerError(f"An image does not exist locally with the tag: {ref.familiar_name}",
                          hint=("docker.hint.tag_first", {"ref": ref.familiar})) from None
    if credentials is None:
        credentials = auth.get_credentials(ref.domain, store.home)
    client = RegistryClient(ref.domain, credentials, endpoint=endpoint)

    def say(line: str) -> None:
        if out is not None:
            out.write(line + "\n")
            out.flush()

    result = PushResult(reference=ref.familiar, tag=ref.tag or "latest", digest="", size=len(local.manifest_bytes))
    say(f"The push refers to repository [{ref.familiar_name}]")
    with client:
        try:
            layers = list(reversed(local.manifest.get("layers", [])))
            for layer in layers:
                say(f"{layer['digest'].split(':', 1)[1][:12]}: Preparing")
            for layer in layers:
                digest = layer["digest"]
                short = digest.split(":", 1)[1][:12]
                if client.blob_exists(ref.path, digest):
                    result.existing.append(digest)
                    say(f"{short}: Layer already exists")
                else:
                    client.upload_blob(ref.path, store.blob(digest), digest)
                    result.pushed.append(digest)
                    say(f"{short}: Pushed")
            config_digest = local.manifest["config"]["digest"]
            if client.blob_exists(ref.path, config_digest):
                result.existing.append(config_digest)
            else:
                client.upload_blob(ref.path, store.blob(config_digest), config_digest)
                result.pushed.append(config_digest)
            media_type = local.manifest.get("mediaType") or MANIFEST_V2
            result.digest = client.put_manifest(ref.path, result.tag, local.manifest_bytes, media_type)
        except RegistryError as exc:
            raise _with_hint(exc, ref, client.route, credentials) from None
    store.add_repo_digest(str(ref), f"{ref.familiar_name}@{result.digest}")
    say(f"{result.tag}: digest: {result.digest} size: {result.size}")
    return result


@dataclass
class PullResult:
    reference: str
    digest: str
    image: object
    downloaded: list[str] = field(default_factory=list)
    up_to_date: bool = False


def pull(image: str, *, store=None, credentials: tuple[str, str] | None = None, endpoint: str | None = None,
         platform: str = "linux/amd64", out: TextIO | None = None) -> PullResult:
    """docker pull into the local store. Known base images (python:3.12-slim, ...) come from
    labkit's stand-ins; other docker.io images are refused (no internet)."""
    from labkit.docker import bases
    from labkit.docker.store import ImageStore

    store = store or ImageStore()
    ref = references.parse(image)

    def say(line: str) -> None:
        if out is not None:
            out.write(line + "\n")
            out.flush()

    shown = ref.tag or ref.digest
    if ref.domain == references.DEFAULT_DOMAIN:
        base = bases.find(ref)
        if base is None:
            known = ", ".join(bases.known_names())
            raise RegistryError(f"pull access denied for {ref.familiar_name}: labkit cannot download from docker.io "
                                f"(no internet); known base images: {known}",
                                hint=("docker.hint.unknown_base", {"image": ref.familiar, "bases": known}))
        say(f"{shown}: Pulling from {ref.path}")
        existed = _tag_points_at(store, ref, base.digest)
        had_layer = store.has_blob(base.layer.digest)
        store.put_blob(base.layer.blob, base.layer.digest)
        store.put_blob(base.config_bytes, base.config_digest)
        say(f"{base.layer.digest.split(':', 1)[1][:12]}: {'Already exists' if had_layer else 'Pull complete'}")
        stored = store.add_image(base.manifest_bytes, tags=[str(ref)] if ref.tag else [],
                                 repo_digest=f"{ref.familiar_name}@{base.digest}")
        say(f"Digest: {base.digest}")
        say(f"Status: {'Image is up to date for' if existed else 'Downloaded newer image for'} {ref.familiar}")
        say(str(ref))
        return PullResult(ref.familiar, base.digest, stored, [], existed)

    if credentials is None:
        credentials = auth.get_credentials(ref.domain, store.home)
    client = RegistryClient(ref.domain, credentials, endpoint=endpoint)
    with client:
        try:
            manifest = _resolve_manifest(client, ref, platform)
        except RegistryError as exc:
            if exc.code == "MANIFEST_UNKNOWN":
                exc.message = f"manifest for {ref.familiar} not found: {exc.message}"
            elif exc.code == "NAME_UNKNOWN":
                exc.message = f"repository {ref.familiar_name} not found: {exc.message}"
            elif isinstance(exc, NoBasicAuthCredentials):
                exc.message = (f'Head "{client.route.display_base}/v2/{ref.path}/manifests/{ref.reference}": '
                               "no basic auth credentials")
            raise _with_hint(exc, ref, client.route, credentials) from None
        say(f"{shown}: Pulling from {ref.path}")
        existed = _tag_points_at(store, ref, manifest.digest)
        downloaded = []
        try:
            for descriptor in manifest.manifest.get("layers", []):
                digest = descriptor["digest"]
                short = digest.split(":", 1)[1][:12]
                if store.has_blob(digest):
                    say(f"{short}: Already exists")
                    continue
                store.put_blob(client.get_blob(ref.path, digest), digest)
                downloaded.append(digest)
                say(f"{short}: Pull complete")
            config_digest = manifest.manifest["config"]["digest"]
            if not store.has_blob(config_digest):
                store.put_blob(client.get_blob(ref.path, config_digest), config_digest)
        except RegistryError as exc:
            raise _with_hint(exc, ref, client.route, credentials) from None
    stored = store.add_image(manifest.data, tags=[str(ref)] if ref.tag else [],
                             repo_digest=f"{ref.familiar_name}@{manifest.digest}")
    say(f"Digest: {manifest.digest}")
    say(f"Status: {'Image is up to date for' if existed else 'Downloaded newer image for'} {ref.familiar}")
    say(ref.familiar)
    return PullResult(ref.familiar, manifest.digest, stored, downloaded, existed)


def _tag_points_at(store, ref: references.Reference, digest: str) -> bool:
    """docker's "Image is up to date": the name already points at this manifest."""
    try:
        return store.resolve(str(ref)) == digest
    except DockerError:
        return False


def _with_hint(exc: RegistryError, ref: references.Reference, route: references.Route,
               credentials: tuple[str, str] | None) -> RegistryError:
    """Attach the hint that helps a student most with this registry error."""
    if exc.hint:
        return exc
    host = ref.domain
    if isinstance(exc, NoBasicAuthCredentials) or exc.status == 401 or exc.code in ("UNAUTHORIZED", "DENIED"):
        stale = credentials is not None and not isinstance(exc, NoBasicAuthCredentials)
        if route.kind == "ecr":
            key = "docker.hint.login_failed_ecr" if stale else "docker.hint.login_ecr"
            exc.hint = (key, {"host": host, "region": route.ecr_region})
        else:
            exc.hint = ("docker.hint.login_failed" if stale else "docker.hint.login", {"host": host})
    elif exc.code == "NAME_UNKNOWN":
        if route.kind == "ecr":
            exc.hint = ("docker.hint.create_repository", {"name": ref.path, "region": route.ecr_region})
        elif route.kind == "artifact-registry":
            parts = ref.path.split("/")
            exc.hint = ("docker.hint.create_ar_repository",
                        {"repo": parts[1] if len(parts) > 1 else parts[0],
                         "location": host.removesuffix("-docker.pkg.dev")})
    elif exc.code == "TAG_INVALID" or "immutable" in exc.message.lower():
        exc.hint = ("docker.hint.tag_immutable", {"tag": ref.tag or "latest"})
    elif exc.code == "MANIFEST_UNKNOWN":
        exc.hint = ("docker.hint.manifest_unknown_ecr", {"ref": ref.familiar, "name": ref.path}) \
            if route.kind == "ecr" else ("docker.hint.manifest_unknown", {"ref": ref.familiar})
    return exc
