"""Image references the way docker reads them, and where each registry host is served.

    my-app                      -> docker.io/library/my-app:latest
    my-app:v1                   -> docker.io/library/my-app:v1
    123456789012.dkr.ecr.ap-northeast-2.amazonaws.com/my-app:v1.0
    asia-northeast3-docker.pkg.dev/my-project/my-repo/my-app
    127.0.0.1:5000/team/app@sha256:...

Grammar and normalisation follow github.com/distribution/reference: the first path component is
a registry host only if it contains "." or ":" or is "localhost"; otherwise the host is docker.io,
and a one-component name gets "library/". The tag defaults to "latest" (unless a digest is given).

Routing (the safety rule: nothing leaves 127.0.0.1):
- ECR hosts `ACCOUNT.dkr.ecr.REGION.amazonaws.com` and Artifact Registry hosts
  `REGION-docker.pkg.dev` are served by the local cloud: we connect to
  `127.0.0.1:{settings().aws_port}` and send the original host in the `Host` header.
- `127.0.0.1:PORT` and `localhost:PORT` are used as they are (plain HTTP on loopback).
- Any other registry (docker.io, ghcr.io, quay.io, ...) is refused with `RegistryRefused`.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from labkit.docker.errors import DockerError

DEFAULT_DOMAIN = "docker.io"
LEGACY_DEFAULT_DOMAIN = "index.docker.io"
OFFICIAL_REPO_PREFIX = "library/"
DEFAULT_TAG = "latest"

_ALNUM = r"[a-z0-9]+"
_SEPARATOR = r"(?:[._]|__|[-]+)"
_PATH_COMPONENT = rf"{_ALNUM}(?:{_SEPARATOR}{_ALNUM})*"
_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_DOMAIN = rf"(?:{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*|\[[0-9a-fA-F:]+\])(?::[0-9]+)?"
_TAG = r"[\w][\w.-]{0,127}"
_DIGEST = r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}"

_REFERENCE_RE = re.compile(
    rf"^(?P<name>(?:{_DOMAIN}/)?{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*)"
    rf"(?::(?P<tag>{_TAG}))?(?:@(?P<digest>{_DIGEST}))?$"
)
_ANY_CASE_NAME_RE = re.compile(
    rf"^(?:{_DOMAIN}/)?[a-zA-Z0-9]+(?:{_SEPARATOR}[a-zA-Z0-9]+)*(?:/[a-zA-Z0-9]+(?:{_SEPARATOR}[a-zA-Z0-9]+)*)*"
    rf"(?::{_TAG})?(?:@{_DIGEST})?$"
)
_DIGEST_RE = re.compile(r"^sha256:[0-9a-f]{64}$")

ECR_HOST_RE = re.compile(r"^(?P<account>\d{12})\.dkr\.ecr(?:-fips)?\.(?P<region>[a-z0-9-]+)\.amazonaws\.com(?:\.cn)?$")
ARTIFACT_REGISTRY_HOST_RE = re.compile(r"^(?P<location>[a-z0-9-]+)-docker\.pkg\.dev$")
LOOPBACK_HOST_RE = re.compile(r"^(?:127\.0\.0\.1|localhost)(?::(?P<port>\d{1,5}))?$")


class InvalidReference(DockerError):
    """docker: `invalid reference format`."""


@dataclass(frozen=True)
class Reference:
    """A parsed, normalised image reference."""

    domain: str          # "docker.io", "123456789012.dkr.ecr.ap-northeast-2.amazonaws.com", "127.0.0.1:5000"
    path: str            # "library/my-app", "my-app", "my-project/my-repo/my-app"
    tag: str | None      # "latest" when neither tag nor digest was given
    digest: str | None   # "sha256:..." when given with @

    @property
    def name(self) -> str:
        """Full repository name: docker.io/library/my-app."""
        return f"{self.domain}/{self.path}"

    @property
    def familiar_name(self) -> str:
        """The repository as docker shows it: my-app, user/app, 1234....amazonaws.com/my-app."""
        if self.domain == DEFAULT_DOMAIN:
            path = self.path
            if path.startswith(OFFICIAL_REPO_PREFIX) and "/" not in path[len(OFFICIAL_REPO_PREFIX):]:
                return path[len(OFFICIAL_REPO_PREFIX):]
            return path
        return self.name

    @property
    def reference(self) -> str:
        """What to ask the registry for: the digest if given, else the tag."""
        return self.digest or self.tag or DEFAULT_TAG

    def with_tag(self, tag: str) -> "Reference":
        return Reference(self.domain, self.path, tag, None)

    def __str__(self) -> str:  # full form: docker.io/library/my-app:latest
        return self.name + (f":{self.tag}" if self.tag else "") + (f"@{self.digest}" if self.digest else "")

    @property
    def familiar(self) -> str:  # my-app:latest
        return self.familiar_name + (f":{self.tag}" if self.tag else "") + (f"@{self.digest}" if self.digest else "")

    @property
    def tagged(self) -> str:
        """Full name with tag (the key of the local tag index): docker.io/library/my-app:latest."""
        return f"{self.name}:{self.tag or DEFAULT_TAG}"


def split_domain(name: str) -> tuple[str, str]:
    first, sep, rest = name.partition("/")
    if not sep or ("." not in first and ":" not in first and first != "localhost" and first.lower() == first):
        domain, path = DEFAULT_DOMAIN, name
    else:
        domain, path = first, rest
    if domain == LEGACY_DEFAULT_DOMAIN:
        domain = DEFAULT_DOMAIN
    if domain == DEFAULT_DOMAIN and "/" not in path:
        path = OFFICIAL_REPO_PREFIX + path
    return domain, path


def parse(text: str, default_tag: bool = True) -> Reference:
    """Parse like docker's ParseNormalizedNamed (+ TagNameOnly when `default_tag`).

    Raises InvalidReference with docker's wording."""
    text = text.strip()
    m = _REFERENCE_RE.match(text)
    if not m:
        if text and _ANY_CASE_NAME_RE.match(text):
            name = text.split("@", 1)[0]
            name = name.rsplit(":", 1)[0] if ":" in name.rsplit("/", 1)[-1] else name
            domain, path = split_domain(name)
            if domain != DEFAULT_DOMAIN or path.lower() != path:
                raise InvalidReference(f"invalid reference format: repository name ({path}) must be lowercase")
        raise InvalidReference("invalid reference format")
    name, tag, digest = m.group("name"), m.group("tag"), m.group("digest")
    if len(name) > 255:
        raise InvalidReference("invalid reference format: repository name must not be more than 255 characters")
    domain, path = split_domain(name)
    if path.lower() != path:
        raise InvalidReference(f"invalid reference format: repository name ({path}) must be lowercase")
    if digest and not _DIGEST_RE.match(digest):
        raise InvalidReference("invalid reference format")
    if tag is None and digest is None and default_tag:
        tag = DEFAULT_TAG
    return Reference(domain, path, tag, digest)


def is_digest(text: str) -> bool:
    return bool(_DIGEST_RE.match(text))


# -- where a registry is served -------------------------------------------------------------

class RegistryRefused(DockerError):
    """The registry is outside 127.0.0.1: labkit never contacts it."""


@dataclass(frozen=True)
class Route:
    """How to reach a registry: the TCP address to connect to, and the Host header to send."""

    registry: str        # the host as written in image names
    connect_host: str    # always 127.0.0.1
    connect_port: int
    host_header: str
    kind: str            # "ecr" | "artifact-registry" | "loopback"
    scheme: str          # what docker would show in messages ("https" for cloud hosts)

    @property
    def display_base(self) -> str:
        return f"{self.scheme}://{self.registry}"

    @property
    def ecr_account(self) -> str | None:
        m = ECR_HOST_RE.match(self.registry)
        return m.group("account") if m else None

    @property
    def ecr_region(self) -> str | None:
        m = ECR_HOST_RE.match(self.registry)
        return m.group("region") if m else None


def route(registry: str, aws_port: int | None = None, endpoint: str | None = None) -> Route:
    """Where to send requests for `registry` (a host as in image names).

    `endpoint` ("http://127.0.0.1:PORT") overrides the local cloud's address (the grader uses
    its own cloud); otherwise `aws_port` or `settings().aws_port`. Raises RegistryRefused for
    any registry that is not the local cloud or loopback."""
    host = registry.lower()
    if ECR_HOST_RE.match(host) or ARTIFACT_REGISTRY_HOST_RE.match(host):
        port = _cloud_port(aws_port, endpoint)
        kind = "ecr" if ECR_HOST_RE.match(host) else "artifact-registry"
        return Route(registry, "127.0.0.1", port, registry, kind, "https")
    m = LOOPBACK_HOST_RE.match(host)
    if m:
        port = int(m.group("port") or 80)
        return Route(registry, "127.0.0.1", port, registry, "loopback", "http")
    raise RegistryRefused(f"refusing to contact {registry}: labkit docker only talks to the local cloud (127.0.0.1)",
                          hint=("docker.hint.registry_refused", {"host": registry}))


def _cloud_port(aws_port: int | None, endpoint: str | None) -> int:
    if endpoint:
        m = re.match(r"^https?://(?:127\.0\.0\.1|localhost)(?::(\d+))?/?$", endpoint)
        if not m:
            raise RegistryRefused(f"refusing endpoint {endpoint}: only http://127.0.0.1:PORT is allowed")
        return int(m.group(1) or 80)
    if aws_port:
        return int(aws_port)
    from labkit.config import settings

    return settings().aws_port
