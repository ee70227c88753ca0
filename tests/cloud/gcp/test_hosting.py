"""The hosting of the Google APIs (labkit/cloud/gcp/hosting.py, grpc_server.py, rest.py,
operations.py) through the official client over both transports, on a real cloud process: gRPC on
the cloud's one port next to HTTP, REST under /gcp/<api>/, Google's errors, operations, paging.
Artifact Registry is the service that carries them here."""
from __future__ import annotations

import socket
import threading

import pytest
import requests
from google.api_core import exceptions
from google.cloud import artifactregistry_v1 as ar

from labkit.cloud.gcp import errors, hosting, operations
from labkit.cloud.server import HTTP2_PREFACE, opens_with_http2
from tests.cloud.gcp.clients import grpc_client, rest_client

PARENT = "projects/labkit-project/locations/asia-northeast3"
DOCKER = ar.Repository(format_=ar.Repository.Format.DOCKER)


@pytest.fixture(scope="module")
def clients(cloud):
    cloud.control("reset")
    return {"grpc": grpc_client(ar.ArtifactRegistryClient, cloud.port),
            "rest": rest_client(ar.ArtifactRegistryClient, cloud.port, "artifactregistry")}


@pytest.fixture(params=["grpc", "rest"])
def client(request, clients):
    return clients[request.param]


def test_create_returns_a_done_operation_both_transports_can_read(client, cloud):
    repo_id = f"hosting-{client.transport.kind}"
    op = client.create_repository(parent=PARENT, repository_id=repo_id, repository=DOCKER)
    repo = op.result(timeout=10)
    assert repo.name == f"{PARENT}/repositories/{repo_id}"
    assert repo.format_ == ar.Repository.Format.DOCKER
    name = op.operation.name
    assert name.startswith(PARENT + "/operations/")
    assert client.get_operation({"name": name}).done


def test_errors_are_googles_over_grpc_and_rest(clients, cloud):
    clients["grpc"].create_repository(parent=PARENT, repository_id="twice", repository=DOCKER).result()
    with pytest.raises(exceptions.AlreadyExists, match="the repository already exists"):  # gRPC: the status's class
        clients["grpc"].create_repository(parent=PARENT, repository_id="twice", repository=DOCKER)
    with pytest.raises(exceptions.Conflict):  # REST: the client picks the class from the HTTP status (409)
        clients["rest"].create_repository(parent=PARENT, repository_id="twice", repository=DOCKER)
    answer = requests.get(f"{cloud.endpoint}/gcp/artifactregistry/v1/{PARENT}/repositories/missing", timeout=10)
    assert answer.status_code == 404
    assert answer.json() == {"error": {"code": 404, "message": "Requested entity was not found.",
                                       "status": "NOT_FOUND"}}


def test_a_method_not_emulated_says_so(client):
    with pytest.raises(exceptions.MethodNotImplemented, match="does not emulate .*ArtifactRegistry.ListFiles"):
        list(client.list_files(parent=f"{PARENT}/repositories/x"))


def test_a_path_no_api_has_is_a_json_404(cloud):
    answer = requests.get(f"{cloud.endpoint}/gcp/artifactregistry/v9/nothing", timeout=10)
    assert answer.status_code == 404 and answer.json()["error"]["status"] == "NOT_FOUND"
    answer = requests.get(f"{cloud.endpoint}/gcp/nosuchapi/v1/x", timeout=10)
    assert answer.status_code == 404 and "nosuchapi" in answer.json()["error"]["message"]


def test_paging_follows_next_page_token_to_the_end(client):
    parent = "projects/labkit-project/locations/us-central1"
    for i in range(3):
        client.create_repository(parent=parent, repository_id=f"page-{client.transport.kind}-{i}", repository=DOCKER)
    pager = client.list_repositories(request={"parent": parent, "page_size": 2})
    names = [r.name.rsplit("/", 1)[1] for r in pager if client.transport.kind in r.name]
    assert names == [f"page-{client.transport.kind}-{i}" for i in range(3)]
    first = client.list_repositories(request={"parent": parent, "page_size": 2})
    assert len(first.repositories) == 2 and first.next_page_token
    with pytest.raises((exceptions.InvalidArgument, exceptions.BadRequest)):
        client.list_repositories(request={"parent": parent, "page_token": "not-ours"}).repositories


def test_http_keeps_working_on_the_same_port_after_grpc(clients, cloud):
    clients["grpc"].list_repositories(parent=PARENT)
    assert requests.get(cloud.endpoint + "/_labkit/health", timeout=5).json()["service"] == "labkit"


def test_the_peek_tells_http2_from_http1_and_waits_for_a_split_preface():
    listener = socket.create_server(("127.0.0.1", 0))  # TCP, as the cloud's port (MSG_WAITALL with MSG_PEEK)
    a = socket.create_connection(listener.getsockname())
    b, _ = listener.accept()
    listener.close()
    try:
        a.sendall(b"GET / HTTP/1.1\r\n")
        assert not opens_with_http2(b)
        assert b.recv(100) == b"GET / HTTP/1.1\r\n"  # peeked, not consumed
        a.sendall(HTTP2_PREFACE[:5])
        threading.Timer(0.05, a.sendall, args=(HTTP2_PREFACE[5:],)).start()
        assert opens_with_http2(b)
    finally:
        a.close()
        b.close()


def test_an_operation_finishes_later_and_wait_operation_sees_it():
    from google.longrunning import operations_pb2
    from google.protobuf import duration_pb2

    from labkit.cloud.state import CloudState

    state = CloudState()
    op = operations.start(state, PARENT, metadata=ar.OperationMetadata())
    assert not op.proto().done
    threading.Timer(0.05, op.finish, args=(ar.Repository(name="r"),)).start()
    waited = hosting.call(state, _method("WaitOperation"),
                          operations_pb2.WaitOperationRequest(name=op.name, timeout=duration_pb2.Duration(seconds=5)))
    assert waited.done and waited.response.type_url.endswith("google.devtools.artifactregistry.v1.Repository")
    failed = operations.start(state, PARENT).fail(errors.FailedPrecondition("no"))
    assert failed.proto().error.code == 9 and failed.proto().error.message == "no"


def _method(name):
    return next(s.methods[name] for s in hosting.services() if name in s.methods)
