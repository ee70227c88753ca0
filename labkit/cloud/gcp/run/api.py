"""Cloud Run Admin API v2 (google.cloud.run.v2.Services and .Revisions) on the GCP hosting
(labkit/cloud/gcp/hosting.py serves them over gRPC and REST): each handler takes the client library's
request message and returns its response message or an operation. The rules are in models.py.

Create and update return an operation that finishes when the service is reconciled (its new revision
ready and the traffic applied) or fails with Cloud Run's error; delete's is done at once.
"""
from __future__ import annotations

from google.cloud import run_v2

from labkit.cloud.gcp import operations
from labkit.cloud.gcp.hosting import GoogleService
from labkit.cloud.gcp.paging import page
from labkit.cloud.gcp.run import models

services = GoogleService("run", run_v2.ServicesClient)
revisions = GoogleService("run", run_v2.RevisionsClient)


def _operation(state, service: models.Service, proto: run_v2.Service):
    return operations.start(state, models.parent_path(service.project, service.region), metadata=proto)


def _reconciling(state, backend, service: models.Service, validate_only: bool):
    """Create's and update's operation: done at once for a dry run, else when the service is reconciled."""
    proto = backend.service_proto(service)
    op = _operation(state, service, proto)
    if validate_only:
        return op.finish(proto)
    backend.wait(service, op)
    return op


@services.method("CreateService")
def create_service(state, request: run_v2.CreateServiceRequest):
    backend = models.backend(state)
    service = backend.create_service(request.parent, request.service_id, request.service, request.validate_only)
    return _reconciling(state, backend, service, request.validate_only)


@services.method("GetService")
def get_service(state, request: run_v2.GetServiceRequest):
    backend = models.backend(state)
    return backend.service_proto(backend.get_service(request.name))


@services.method("ListServices")
def list_services(state, request: run_v2.ListServicesRequest):
    backend = models.backend(state)
    items, token = page(backend.list_services(request.parent), request.page_size, request.page_token)
    return run_v2.ListServicesResponse(services=[backend.service_proto(s) for s in items], next_page_token=token)


@services.method("UpdateService")
def update_service(state, request: run_v2.UpdateServiceRequest):
    backend = models.backend(state)
    mask = request.update_mask if "update_mask" in request else None
    service, _created = backend.update_service(request.service, mask, request.allow_missing, request.validate_only)
    return _reconciling(state, backend, service, request.validate_only)


@services.method("DeleteService")
def delete_service(state, request: run_v2.DeleteServiceRequest):
    backend = models.backend(state)
    service = backend.delete_service(request.name, request.etag, request.validate_only)
    proto = backend.service_proto(service)
    return _operation(state, service, proto).finish(proto)


@services.method("GetIamPolicy")
def get_iam_policy(state, request):
    return models.backend(state).get_iam_policy(request.resource)


@services.method("SetIamPolicy")
def set_iam_policy(state, request):
    return models.backend(state).set_iam_policy(request.resource, request.policy)


@services.method("TestIamPermissions")
def test_iam_permissions(state, request):
    return models.backend(state).test_iam_permissions(request.resource, list(request.permissions))


@revisions.method("GetRevision")
def get_revision(state, request: run_v2.GetRevisionRequest):
    backend = models.backend(state)
    return backend.revision_proto(backend.get_revision(request.name))


@revisions.method("ListRevisions")
def list_revisions(state, request: run_v2.ListRevisionsRequest):
    backend = models.backend(state)
    items, token = page(backend.list_revisions(request.parent), request.page_size, request.page_token)
    return run_v2.ListRevisionsResponse(revisions=[backend.revision_proto(r) for r in items], next_page_token=token)


@revisions.method("DeleteRevision")
def delete_revision(state, request: run_v2.DeleteRevisionRequest):
    backend = models.backend(state)
    revision = backend.delete_revision(request.name, request.etag, request.validate_only)
    proto = backend.revision_proto(revision)
    return operations.start(state, models.parent_path(revision.project, revision.region), metadata=proto).finish(proto)
