"""Checks of lab 09, GCP part (lesson section 9.2): `gcloud run deploy my-app --source=.` in
asia-northeast3, public, with CLOUD_PROVIDER=GCP, answering `Hello from GCP!`.

State is read through the official Google clients over REST (`ctx.google("run")`,
`ctx.google("artifactregistry")`), "it answers" by a GET of the service's URL through the cloud the
checks grade (`labkit.net.get(url, endpoint=ctx.endpoint)`), as the AWS part's checks do. Built from
source means what gcloud leaves behind: the service's image lives in the region's
`cloud-run-source-deploy` repository of Artifact Registry, and that image is there.
"""
from __future__ import annotations

from labkit.checks import cloudrun, service_urls
from labkit.checks.cloudrun import INVOKER, PUBLIC
from labkit.checks.core import CheckContext, Result, Step, condition

PROJECT = "labkit-project"
REGION = "asia-northeast3"
SERVICE = "my-app"
SERVICE_NAME = f"projects/{PROJECT}/locations/{REGION}/services/{SERVICE}"
SOURCE_REPOSITORY = "cloud-run-source-deploy"   # where gcloud puts the images it builds from source
REPOSITORY_NAME = f"projects/{PROJECT}/locations/{REGION}/repositories/{SOURCE_REPOSITORY}"
IMAGE_PREFIX = f"{REGION}-docker.pkg.dev/{PROJECT}/{SOURCE_REPOSITORY}/"
PROVIDER = "GCP"
ANSWER = f"Hello from {PROVIDER}!"
HTTP_TIMEOUT_S = 10.0   # a revision scaled to zero starts on the first request: the answer waits for it


def _service(ctx: CheckContext):
    """The Cloud Run service my-app in asia-northeast3 (run_v2.Service), or None."""
    return cloudrun.service(ctx, SERVICE_NAME)


def _ready(service) -> bool:
    from google.cloud.run_v2 import Condition

    return service.terminal_condition.state == Condition.State.CONDITION_SUCCEEDED


def _image_in_registry(ctx: CheckContext, image: str) -> bool:
    """Whether the source deploy repository holds `image` (REPO_HOST/PROJECT/REPO/NAME@sha256:... or :TAG)."""
    def fetch():
        from google.api_core import exceptions

        name, _, digest = image.partition("@")
        tag = "latest"
        if not digest and ":" in name.rsplit("/", 1)[-1]:
            name, _, tag = name.rpartition(":")
        try:
            pager = ctx.google("artifactregistry").list_docker_images(parent=REPOSITORY_NAME)
            for found in pager:
                base, _, found_digest = found.uri.partition("@")
                if base == name and (found_digest == digest if digest else tag in found.tags):
                    return True
        except exceptions.NotFound:
            return False
        return False
    return ctx.cached(f"cloudrun:image:{image}", fetch)


def _repository_exists(ctx: CheckContext) -> bool:
    def fetch():
        from google.api_core import exceptions

        try:
            ctx.google("artifactregistry").get_repository(name=REPOSITORY_NAME)
            return True
        except exceptions.NotFound:
            return False
    return ctx.cached("cloudrun:repository", fetch)


# -- step 5: Cloud Run from source --------------------------------------------------------------------

@condition(points=1)
def cloudrun_ready(ctx: CheckContext) -> list[Result]:
    service = _service(ctx)
    if service is None:
        return [Result("cloudrun.ready", False, "lab09.cloudrun.ready.missing", params={"name": SERVICE, "region": REGION})]
    if _ready(service):
        return [Result("cloudrun.ready", True, "lab09.cloudrun.ready.ok", params={"name": SERVICE, "region": REGION})]
    reason = service.terminal_condition.message or service.terminal_condition.reason or "-"
    if service.reconciling:
        return [Result("cloudrun.ready", False, "lab09.cloudrun.ready.reconciling", params={"name": SERVICE})]
    return [Result("cloudrun.ready", False, "lab09.cloudrun.ready.failed", params={"name": SERVICE, "reason": reason})]


@condition(points=1)
def cloudrun_source(ctx: CheckContext) -> list[Result]:
    service = _service(ctx)
    if service is None:
        return [Result("cloudrun.source", False, "lab09.cloudrun.source.no_service")]
    container = cloudrun.first_container(service.template)
    image = container.image if container else ""
    if not image.startswith(IMAGE_PREFIX):
        return [Result("cloudrun.source", False, "lab09.cloudrun.source.image",
                       params={"found": image or "-", "repository": SOURCE_REPOSITORY})]
    if not _image_in_registry(ctx, image):
        key = "lab09.cloudrun.source.gone" if _repository_exists(ctx) else "lab09.cloudrun.source.no_repository"
        return [Result("cloudrun.source", False, key, params={"found": image, "repository": SOURCE_REPOSITORY})]
    return [Result("cloudrun.source", True, "lab09.cloudrun.source.ok", params={"repository": SOURCE_REPOSITORY})]


@condition(points=1)
def cloudrun_env(ctx: CheckContext) -> list[Result]:
    service = _service(ctx)
    if service is None:
        return [Result("cloudrun.env", False, "lab09.cloudrun.env.no_service")]
    env = cloudrun.env(service.template)
    if env.get("CLOUD_PROVIDER") == PROVIDER:
        return [Result("cloudrun.env", True, "lab09.cloudrun.env.ok", params={"value": PROVIDER})]
    if "CLOUD_PROVIDER" not in env:
        return [Result("cloudrun.env", False, "lab09.cloudrun.env.missing", params={"value": PROVIDER})]
    return [Result("cloudrun.env", False, "lab09.cloudrun.env.other",
                   params={"found": env["CLOUD_PROVIDER"], "value": PROVIDER})]


@condition(points=1)
def cloudrun_public(ctx: CheckContext) -> list[Result]:
    if _service(ctx) is None:
        return [Result("cloudrun.public", False, "lab09.cloudrun.public.no_service")]
    public = cloudrun.is_public(ctx, SERVICE_NAME)
    return [Result("cloudrun.public", public, "lab09.cloudrun.public.ok" if public else "lab09.cloudrun.public.private",
                   params={"member": PUBLIC, "role": INVOKER})]


@condition(points=1)
def cloudrun_answers(ctx: CheckContext) -> list[Result]:
    service = _service(ctx)
    if service is None or not service.uri:
        return [Result("cloudrun.answers", False, "lab09.cloudrun.answers.no_service")]
    reply = service_urls.ask(ctx, service.uri, HTTP_TIMEOUT_S)
    if reply == (200, ANSWER):
        return [Result("cloudrun.answers", True, "lab09.cloudrun.answers.ok", params={"url": service.uri, "found": ANSWER})]
    if reply is not None and reply[0] == 403:
        return [Result("cloudrun.answers", False, "lab09.cloudrun.answers.forbidden", params={"url": service.uri})]
    return [Result("cloudrun.answers", False, "lab09.cloudrun.answers.wrong",
                   params={"url": service.uri, "found": service_urls.shown(reply), "expected": ANSWER})]


STEP = Step("cloudrun", "lab09.step.cloudrun",
            [cloudrun_ready, cloudrun_source, cloudrun_env, cloudrun_public, cloudrun_answers])
