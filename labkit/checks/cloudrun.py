"""Reading a Cloud Run service for a check, through the official client over REST
(`ctx.google("run")`, `ctx.google("revisions")`), the way a student would see it in the console:
the service, its revisions, a container's environment, whether anybody may call its URL.
Every read is cached for the check run, so the conditions of a step read one snapshot.
"""
from __future__ import annotations

from labkit.checks.core import CheckContext

INVOKER, PUBLIC = "roles/run.invoker", "allUsers"   # gcloud's --allow-unauthenticated grants this


def service(ctx: CheckContext, name: str):
    """The service `name` (projects/P/locations/R/services/S) as a run_v2.Service, or None."""
    def fetch():
        from google.api_core import exceptions

        try:
            return ctx.google("run").get_service(name=name)
        except exceptions.NotFound:
            return None
    return ctx.cached(f"cloudrun.service:{name}", fetch)


def revisions(ctx: CheckContext, service_name: str) -> list:
    """The service's revisions, oldest first ([] when the service does not exist)."""
    def fetch():
        from google.api_core import exceptions

        if service(ctx, service_name) is None:
            return []
        try:
            found = list(ctx.google("revisions").list_revisions(parent=service_name))
        except exceptions.NotFound:
            return []
        return sorted(found, key=lambda r: (r.create_time.timestamp() if r.create_time else 0, r.name))
    return ctx.cached(f"cloudrun.revisions:{service_name}", fetch)


def first_container(holder):
    """The first container of a Revision or of a Service's template (`service.template`), or None."""
    containers = list(holder.containers)
    return containers[0] if containers else None


def env(holder) -> dict[str, str]:
    """The first container's environment variables by name ({} without a container)."""
    container = first_container(holder)
    return {variable.name: variable.value for variable in container.env} if container else {}


def is_public(ctx: CheckContext, name: str) -> bool:
    """Whether allUsers holds roles/run.invoker in the service's IAM policy."""
    def fetch():
        policy = ctx.google("run").get_iam_policy(request={"resource": name})
        return any(binding.role == INVOKER and PUBLIC in binding.members for binding in policy.bindings)
    return ctx.cached(f"cloudrun.public:{name}", fetch)
