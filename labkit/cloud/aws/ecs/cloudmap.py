"""Service Connect's side in AWS Cloud Map, through moto's servicediscovery backend in this process
(so `aws servicediscovery list-namespaces / list-services / list-instances` see what ECS did):

- a cluster's `serviceConnectDefaults.namespace` that names no namespace creates an HTTP namespace
  of that name ("API calls" discovery only), as ECS does;
- a service's Service Connect namespace (name, id or ARN) must exist, else ECS's
  NamespaceNotFoundException; each `services[]` entry gets a Cloud Map service named after its
  `discoveryName` (else its `portName`) in that namespace;
- every RUNNING task of the service is an instance of it (id = the task id; AWS_INSTANCE_IPV4 /
  AWS_INSTANCE_PORT = the task's address and the named port), deregistered when the task stops.

moto is imported lazily (slow to import; only a Service Connect call needs it). Its backends are
plain dicts: every access here holds one lock.
"""
from __future__ import annotations

import threading

_lock = threading.Lock()


def _backend(account: str, region: str):
    from moto.servicediscovery.models import servicediscovery_backends

    return servicediscovery_backends[account][region]


def find_namespace(account: str, region: str, ref: str) -> dict | None:
    """The namespace a name, id or ARN refers to: {"id", "arn", "name", "type"}, or None."""
    with _lock:
        for namespace in _backend(account, region).list_namespaces():
            if ref in (namespace.name, namespace.id, namespace.arn):
                return {"id": namespace.id, "arn": namespace.arn, "name": namespace.name, "type": namespace.type}
    return None


def ensure_http_namespace(account: str, region: str, ref: str) -> dict:
    """The namespace `ref` names, created as an HTTP namespace when there is none (an ARN or id
    that names nothing cannot be created: None is never returned for a name)."""
    found = find_namespace(account, region, ref)
    if found is not None or ref.startswith(("arn:", "ns-")):
        return found
    with _lock:
        _backend(account, region).create_http_namespace(name=ref, creator_request_id=None,
                                                        description="Created by Amazon ECS (Service Connect)",
                                                        tags=[])
    return find_namespace(account, region, ref)


def ensure_service(account: str, region: str, namespace_id: str, name: str) -> dict:
    """The Cloud Map service `name` in the namespace (made if missing): {"id", "arn", "name"}."""
    with _lock:
        backend = _backend(account, region)
        for service in backend.list_services():
            if service.namespace_id == namespace_id and service.name == name:
                return {"id": service.id, "arn": service.arn, "name": service.name}
        service = backend.create_service(name=name, namespace_id=namespace_id, creator_request_id=None,
                                         description="Managed by Amazon ECS (Service Connect)", dns_config=None,
                                         health_check_config=None, health_check_custom_config=None, tags=[],
                                         service_type="HTTP")
        return {"id": service.id, "arn": service.arn, "name": service.name}


def register(account: str, region: str, service_id: str, instance_id: str, attributes: dict) -> None:
    with _lock:
        try:
            _backend(account, region).register_instance(service_id=service_id, instance_id=instance_id,
                                                        creator_request_id=None, attributes=attributes)
        except Exception:  # the Cloud Map service was deleted meanwhile: nothing to register in
            pass


def deregister(account: str, region: str, service_id: str, instance_id: str) -> None:
    with _lock:
        try:
            _backend(account, region).deregister_instance(service_id=service_id, instance_id=instance_id)
        except Exception:  # already gone (deregistered by hand, or the service deleted)
            pass
