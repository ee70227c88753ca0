"""GCP's side of the course in a notebook (`import labkit.gcp`): the official Google clients,
pinned to the local cloud the kernel uses, never to Google.

    from labkit import gcp
    services = gcp.run_client()                    # run_v2.ServicesClient over gRPC (the default transport)
    services = gcp.run_client(transport="rest")    # the same over REST
    gcp.revisions_client(), gcp.artifact_registry_client()
    gcp.PROJECT_ID, gcp.REGION                     # "labkit-project", "asia-northeast3"
    gcp.warm_up()                                  # the cloud loads its Google APIs now, in the background
    gcp.hit(service.uri, n=1000)                   # GET a Cloud Run URL n times: which answer, how often

gRPC goes to 127.0.0.1:PORT (the cloud's one port: it tells HTTP/2 from HTTP/1.1), REST to
http://127.0.0.1:PORT/gcp/<api>. Credentials are anonymous: the local cloud needs none, and no
Application Default Credentials are looked up (labkit.env keeps google-auth away from real ones).
"""
from __future__ import annotations

import re
import threading

from labkit.cloud.gcp.project import ACCESS_TOKEN, DEFAULT_PROJECT, DEFAULT_REGION, PROJECT_NUMBER

PROJECT_ID = DEFAULT_PROJECT
REGION = DEFAULT_REGION
__all__ = ["PROJECT_ID", "PROJECT_NUMBER", "REGION", "ACCESS_TOKEN", "run_client", "revisions_client",
           "artifact_registry_client", "endpoint", "warm_up", "hit"]

_LOOPBACK = re.compile(r"^http://127\.0\.0\.1:(\d{1,5})$")
_channels: dict[int, object] = {}
_channels_lock = threading.Lock()


def endpoint(given: str | None = None) -> str:
    """http://127.0.0.1:PORT of the kernel's local cloud (or `given`, which must be loopback)."""
    from labkit.config import settings

    value = (given or settings().endpoint).rstrip("/")
    if not _LOOPBACK.match(value):
        raise ValueError(f"labkit.gcp only talks to the local cloud on 127.0.0.1, not {value}")
    return value


def warm_up(endpoint: str | None = None) -> threading.Thread:
    """Have the cloud load its Google APIs now, in the background (about a second, once per cloud),
    so the notebook's first Google call does not wait for it."""
    import urllib.request

    url = f"{globals()['endpoint'](endpoint)}/gcp/"

    def load():
        try:
            urllib.request.build_opener(urllib.request.ProxyHandler({})).open(url, timeout=30).read()
        except OSError:
            pass  # the first real call will say what is wrong
    thread = threading.Thread(target=load, name="labkit-gcp-warm-up", daemon=True)
    thread.start()
    return thread


def run_client(transport: str = "grpc", endpoint: str | None = None):
    """Cloud Run's ServicesClient (google.cloud.run_v2)."""
    from google.cloud import run_v2

    return _client(run_v2.ServicesClient, "run", transport, endpoint)


def revisions_client(transport: str = "grpc", endpoint: str | None = None):
    """Cloud Run's RevisionsClient (google.cloud.run_v2)."""
    from google.cloud import run_v2

    return _client(run_v2.RevisionsClient, "run", transport, endpoint)


def artifact_registry_client(transport: str = "grpc", endpoint: str | None = None):
    """Artifact Registry's client (google.cloud.artifactregistry_v1)."""
    from google.cloud import artifactregistry_v1

    return _client(artifactregistry_v1.ArtifactRegistryClient, "artifactregistry", transport, endpoint)


def _client(client_class, api: str, transport: str, given: str | None):
    base = endpoint(given)
    if transport == "grpc":
        channel = _channel(int(_LOOPBACK.match(base).group(1)))
        return client_class(transport=client_class.get_transport_class("grpc")(channel=channel))
    if transport == "rest":
        from google.api_core.client_options import ClientOptions
        from google.auth.credentials import AnonymousCredentials

        return client_class(credentials=AnonymousCredentials(), transport="rest",
                            client_options=ClientOptions(api_endpoint=f"{base}/gcp/{api}"))
    raise ValueError(f"transport must be 'grpc' or 'rest', not {transport!r}")


def _channel(port: int):
    """One plaintext gRPC channel per cloud port, shared by every client of this kernel."""
    import grpc

    with _channels_lock:
        if port not in _channels:
            # never through an http_proxy/grpc_proxy a machine may have set: loopback stays loopback
            _channels[port] = grpc.insecure_channel(f"ipv4:127.0.0.1:{port}",  # an address: no resolver at all
                                                   options=[("grpc.enable_http_proxy", 0)])
        return _channels[port]


def hit(url: str, n: int = 1, path: str | None = None, timeout: float = 10.0, endpoint: str | None = None):
    """GET a Cloud Run URL (`https://SERVICE-...run.app`, a tag's `https://TAG---...`) n times and count
    the answers: the body of a 200, else "HTTP <status>: ..." (a canary's observed split; shown in a
    notebook as a table of shares). The local cloud answers `*.run.app` in plain HTTP on its port."""
    from labkit import aws

    return aws.hit(url, n, path=path, timeout=timeout, endpoint=endpoint)
