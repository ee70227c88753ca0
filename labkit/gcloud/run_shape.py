"""Cloud Run v2 resources in the shape gcloud shows them. gcloud run speaks the v1 (Knative) API,
so its --format keys are v1's (`status.url`, `status.traffic`, `metadata.name`,
`spec.template.spec.containers[0].image`); the local cloud serves v2, and this module maps a v2
Service or Revision onto those v1 names (what `--format=yaml` prints is this dict)."""
from __future__ import annotations

import json

from labkit.cloud.gcp.project import PROJECT_NUMBER


def _time(ts) -> str | None:
    if ts is None or not getattr(ts, "timestamp", None):
        return None
    from datetime import timezone

    return ts.astimezone(timezone.utc).isoformat(timespec="microseconds").replace("+00:00", "Z")


def _conditions(v2_conditions) -> list[dict]:
    from google.cloud import run_v2

    state = run_v2.Condition.State
    kinds = {"Ready": "Ready", "RoutesReady": "RoutesReady", "ConfigurationsReady": "ConfigurationsReady"}
    result = []
    for c in v2_conditions:
        status = {state.CONDITION_SUCCEEDED: "True", state.CONDITION_FAILED: "False"}.get(c.state, "Unknown")
        entry = {"type": kinds.get(c.type_, c.type_), "status": status}
        if _time(c.last_transition_time):
            entry["lastTransitionTime"] = _time(c.last_transition_time)
        if c.message:
            entry["message"] = c.message
        result.append(entry)
    return result


def _container(c) -> dict:
    container: dict = {"image": c.image}
    if c.name:
        container["name"] = c.name
    if c.command:
        container["command"] = list(c.command)
    if c.args:
        container["args"] = list(c.args)
    if c.env:
        container["env"] = [{"name": e.name, "value": e.value} for e in c.env]
    if c.ports:
        container["ports"] = [{"name": p.name or "http1", "containerPort": p.container_port} for p in c.ports]
    if c.resources.limits:
        container["resources"] = {"limits": dict(c.resources.limits)}
    return container


def _template_spec(template) -> dict:
    spec: dict = {"containerConcurrency": template.max_instance_request_concurrency,
                  "containers": [_container(c) for c in template.containers]}
    if template.timeout:
        spec["timeoutSeconds"] = int(template.timeout.total_seconds())
    if template.service_account:
        spec["serviceAccountName"] = template.service_account
    return spec


def traffic_targets(traffic, with_url: bool = False) -> list[dict]:
    from google.cloud import run_v2

    latest = run_v2.TrafficTargetAllocationType.TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST
    result = []
    for t in traffic:
        entry: dict = {}
        if t.type_ == latest:
            entry["latestRevision"] = True
        if t.revision:
            entry["revisionName"] = t.revision
        entry["percent"] = t.percent
        if t.tag:
            entry["tag"] = t.tag
        if with_url and getattr(t, "uri", ""):
            entry["url"] = t.uri
        if not t.percent and not t.tag:
            continue
        result.append(entry)
    return result


def service(s) -> dict:
    """A run_v2.Service as gcloud's v1 Service."""
    project, region, name = _parts(s.name)
    annotations = {"run.googleapis.com/ingress": _ingress(s.ingress)}
    if s.creator:
        annotations["serving.knative.dev/creator"] = s.creator
    if s.last_modifier:
        annotations["serving.knative.dev/lastModifier"] = s.last_modifier
    if s.urls:
        annotations["run.googleapis.com/urls"] = json.dumps(list(s.urls))
    template_meta: dict = {}
    if s.template.revision:
        template_meta["name"] = s.template.revision
    if s.template.annotations:
        template_meta["annotations"] = dict(s.template.annotations)
    if s.template.labels:
        template_meta["labels"] = dict(s.template.labels)
    status: dict = {"observedGeneration": s.observed_generation or s.generation,
                    "conditions": _conditions([s.terminal_condition] + list(s.conditions)) if s.terminal_condition.type_
                    else _conditions(s.conditions),
                    "latestReadyRevisionName": s.latest_ready_revision.rsplit("/", 1)[-1],
                    "latestCreatedRevisionName": s.latest_created_revision.rsplit("/", 1)[-1],
                    "traffic": traffic_targets(s.traffic_statuses, with_url=True),
                    "url": s.uri, "address": {"url": s.uri}}
    return {"apiVersion": "serving.knative.dev/v1", "kind": "Service",
            "metadata": {"name": name, "namespace": str(PROJECT_NUMBER), "uid": s.uid,
                         "generation": s.generation, "creationTimestamp": _time(s.create_time),
                         "labels": {"cloud.googleapis.com/location": region, **dict(s.labels)},
                         "annotations": annotations},
            "spec": {"template": {"metadata": template_meta, "spec": _template_spec(s.template)},
                     "traffic": traffic_targets(s.traffic)},
            "status": status}


def revision(r, serving: dict[str, int] | None = None) -> dict:
    """A run_v2.Revision as gcloud's v1 Revision (`serving`: revision name -> percent, for ACTIVE)."""
    project, region, service_name, name = _revision_parts(r.name)
    spec = {"containerConcurrency": r.max_instance_request_concurrency,
            "containers": [_container(c) for c in r.containers]}
    if r.timeout:
        spec["timeoutSeconds"] = int(r.timeout.total_seconds())
    if r.service_account:
        spec["serviceAccountName"] = r.service_account
    annotations = dict(r.annotations)
    if r.creator:
        annotations["serving.knative.dev/creator"] = r.creator
    status = {"observedGeneration": r.generation,
              "conditions": _conditions(list(r.conditions)),
              "logUrl": r.log_uri, "imageDigest": next((c.image for c in r.containers if "@" in c.image), None)}
    status = {k: v for k, v in status.items() if v is not None}
    return {"apiVersion": "serving.knative.dev/v1", "kind": "Revision",
            "metadata": {"name": name, "namespace": str(PROJECT_NUMBER), "uid": r.uid, "generation": r.generation,
                         "creationTimestamp": _time(r.create_time),
                         "labels": {"serving.knative.dev/service": service_name,
                                    "serving.knative.dev/configuration": service_name,
                                    "cloud.googleapis.com/location": region, **dict(r.labels)},
                         "annotations": annotations},
            "spec": spec, "status": status,
            # gcloud's table columns (its Revision wrapper's properties)
            "active": bool(serving and serving.get(name)), "service_name": service_name,
            "ready_symbol": _ready_symbol(status["conditions"]),
            "author": annotations.get("serving.knative.dev/creator", "")}


def _ready_symbol(conditions: list[dict]) -> str:
    ready = next((c for c in conditions if c["type"] == "Ready"), None)
    if ready is None or ready["status"] == "Unknown":
        return "…"
    return "✔" if ready["status"] == "True" else "X"


def ready_symbol(shaped: dict) -> str:
    return _ready_symbol(shaped["status"]["conditions"])


def _ingress(value) -> str:
    from google.cloud import run_v2

    names = {run_v2.IngressTraffic.INGRESS_TRAFFIC_ALL: "all",
             run_v2.IngressTraffic.INGRESS_TRAFFIC_INTERNAL_ONLY: "internal",
             run_v2.IngressTraffic.INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER: "internal-and-cloud-load-balancing"}
    return names.get(value, "all")


def _parts(name: str) -> tuple[str, str, str]:
    parts = name.split("/")
    return parts[1], parts[3], parts[5]


def _revision_parts(name: str) -> tuple[str, str, str, str]:
    parts = name.split("/")
    return parts[1], parts[3], parts[5], parts[-1]
