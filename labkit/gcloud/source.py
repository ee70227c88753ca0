"""`gcloud run deploy SERVICE --source=DIR`: what Cloud Build does for gcloud, done here by labkit
docker's builder (no engine needed): the Dockerfile in DIR is built, pushed as
`REGION-docker.pkg.dev/PROJECT/cloud-run-source-deploy/SERVICE:latest` (the repository gcloud
creates on first use), and the service is deployed from that image's digest, as gcloud deploys it.
Buildpacks (a folder without a Dockerfile) are not available locally."""
from __future__ import annotations

import io
import sys
from pathlib import Path

from labkit.gcloud import cli
from labkit.gcloud.errors import GcloudError

REPOSITORY = "cloud-run-source-deploy"


def plan(project: str, region: str, service: str) -> tuple[str, str | None]:
    """(the image gcloud builds, without tag; the repository to create first, or None)."""
    from google.api_core import exceptions

    from labkit import gcp

    image = f"{region}-docker.pkg.dev/{project}/{REPOSITORY}/{service}"
    try:
        gcp.artifact_registry_client().get_repository(
            name=f"projects/{project}/locations/{region}/repositories/{REPOSITORY}")
        return image, None
    except exceptions.NotFound:
        print(f"Deploying from source requires an Artifact Registry Docker repository to store built containers. "
              f"A repository named [{REPOSITORY}] in region [{region}] will be created.\n\n"
              f"Do you want to continue (Y/n)?  \n", file=sys.stderr)
        return image, REPOSITORY


def check(folder: str) -> Path:
    path = Path(folder)
    if not path.is_dir():
        raise GcloudError(f"Invalid value for [--source]: {folder} is not a directory.")
    if not (path / "Dockerfile").is_file():
        from labkit.messages import text

        raise GcloudError(text("gcloud.source.no_dockerfile", folder=folder))
    return path


def build_and_push(folder: str, image: str, repository: str | None, project: str, region: str) -> str:
    """The image's `REPO/SERVICE@sha256:...` once built and pushed; gcloud's stages on stderr."""
    from labkit.cloud.gcp.project import ACCESS_TOKEN
    from labkit.docker.build import BuildError, build
    from labkit.docker.errors import DockerError
    from labkit.docker.registry_client import push

    from labkit import gcp

    if repository is not None:
        from google.cloud import artifactregistry_v1 as ar

        _stage("Creating Container Repository...")
        operation = gcp.artifact_registry_client().create_repository(
            parent=f"projects/{project}/locations/{region}", repository_id=repository,
            repository=ar.Repository(format_=ar.Repository.Format.DOCKER,
                                     description="Cloud Run Source Deployments"))
        cli.wait(operation, 60)
        _done()
    _stage("Uploading sources...")
    _done()
    _stage("Building Container...")
    log = io.StringIO()
    try:
        build(folder, [f"{image}:latest"], out=log)
        pushed = push(f"{image}:latest", credentials=("oauth2accesstoken", ACCESS_TOKEN))
    except (BuildError, DockerError) as exc:
        _done(ok=False)
        print("Deployment failed", file=sys.stderr)
        sys.stderr.write(log.getvalue())
        raise GcloudError(f"Build failed; check build logs for details: {exc.message}") from None
    _done()
    return f"{image}@{pushed.digest}"


def _stage(title: str) -> None:
    sys.stderr.write(title)
    sys.stderr.flush()


def _done(ok: bool = True) -> None:
    sys.stderr.write(".done\n" if ok else ".failed\n")
    sys.stderr.flush()
