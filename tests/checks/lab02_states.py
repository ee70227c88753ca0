"""Lab 02 states a student can leave behind, made for real: repositories through boto3 on a
local cloud, a login saved as `labkit docker login` saves it, a local image built with
`labkit docker build`, images pushed through ECR's own API; on the GCP side an Artifact Registry
repository through the official client, the docker config's `credHelpers` entry as
`gcloud auth configure-docker` writes it, images pushed through the registry's HTTP API with
gcloud's credential helper's user and token. Every outcome of every lab 02
condition is reached by one of SCENARIOS (tests/messages proves it), so the messages are
tested with the parameters the checks really pass."""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from labkit.checks.core import CheckContext
from tests.cloud.helpers import Image, digest, layer, login, upload_layer

REGION, REGISTRY = "ap-northeast-2", "123456789012.dkr.ecr.ap-northeast-2.amazonaws.com"
URI = f"{REGISTRY}/my-app"
AR_HOST = "asia-northeast3-docker.pkg.dev"
AR_REPOSITORY = "labkit-project/my-repo/my-app"  # the registry's name of the image

LESSON_DOCKERFILE = """FROM python:3.12-slim
WORKDIR /app
COPY . .
EXPOSE 8080
CMD ["python", "app.py"]
"""

SEED_ANSWER = f"""
aws ecr get-login-password --region ap-northeast-2 | docker login --username AWS --password-stdin {REGISTRY}
docker build -t my-app .
docker tag my-app:latest {URI}:v1.0
docker push {URI}:v1.0
"""


def pushed_image(cmd=("python", "app.py"), ports=("8080/tcp",), files=None, label: str = "") -> Image:
    """An image as `docker push` would send it; `label` makes a different digest for the same config."""
    files = {"app/app.py": f"print('hello{label}')\n".encode()} if files is None else files
    data = layer(files)
    inner = {"Labels": {"v": label}} if label else {}
    if cmd is not None:
        inner["Cmd"] = list(cmd)
    if ports:
        inner["ExposedPorts"] = {p: {} for p in ports}
    config = json.dumps({"architecture": "amd64", "os": "linux", "config": inner,
                         "rootfs": {"type": "layers", "diff_ids": [digest(data)]}}).encode()
    manifest = {"schemaVersion": 2, "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
                "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "size": len(config),
                           "digest": digest(config)},
                "layers": [{"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip", "size": len(data),
                            "digest": digest(data)}]}
    image = Image(config=config, layers=[data], manifest=json.dumps(manifest).encode())
    image.blobs = {digest(config): config, digest(data): data}
    return image


@dataclass
class Scenario:
    """What the student did. None / empty means "not done"."""
    name: str
    repository_region: str | None = None
    scan_on_push: bool = True
    mutability: str = "MUTABLE"
    login: str | None = None            # "valid" | "wrong"
    dockerfile: str | None = None
    pushes: dict = field(default_factory=dict)  # tag -> Image
    answer: str | None = None           # Exercise 3's text (None: never assigned)
    ar_location: str | None = None      # where my-repo is created (None: not created)
    ar_format: str = "DOCKER"
    ar_auth: str | None = None          # "helper" | "other_helper" | "login" | "wrong_login" | "not_json" | "ill_formed"
    ar_pushes: dict = field(default_factory=dict)  # tag -> Image, pushed to my-repo/my-app
    ar_tags: str | None = None          # the tags answer of step 9 (None: never assigned)

    def apply(self, ctx: CheckContext, workdir: Path) -> CheckContext:
        if self.repository_region:
            ecr = ctx.client("ecr", region=self.repository_region)
            ecr.create_repository(repositoryName="my-app", imageTagMutability="MUTABLE",
                                  imageScanningConfiguration={"scanOnPush": self.scan_on_push})
            for tag, image in self.pushes.items():
                push(ecr, image, tag)
            if self.mutability != "MUTABLE":  # after the pushes: they may move a tag
                ecr.put_image_tag_mutability(repositoryName="my-app", imageTagMutability=self.mutability)
        if self.login:
            from labkit.docker.auth import save_credentials

            user, password = login(ctx.client("ecr", region=REGION))
            save_credentials(REGISTRY, user, password if self.login == "valid" else "not-the-token", home=ctx.home)
        if self.dockerfile is not None:
            build(ctx.home, workdir, self.dockerfile)
        if self.answer is not None:
            ctx.answers["exercise3"] = self.answer
        self._apply_gcp(ctx)
        return ctx

    def _apply_gcp(self, ctx: CheckContext) -> None:
        if self.ar_location:
            from google.cloud import artifactregistry_v1 as ar

            ctx.google("artifactregistry").create_repository(
                parent=f"projects/labkit-project/locations/{self.ar_location}", repository_id="my-repo",
                repository=ar.Repository(format_=getattr(ar.Repository.Format, self.ar_format))).result()
        for tag, image in self.ar_pushes.items():
            ar_push(ctx.endpoint, image, tag)
        if self.ar_auth:
            ar_auth(ctx, self.ar_auth)
        if self.ar_tags is not None:
            ctx.answers["ar_tags"] = self.ar_tags


def ar_auth(ctx: CheckContext, how: str) -> None:
    """The docker config as configure-docker (or a hand edit, or `docker login`) leaves it."""
    from labkit.docker.auth import config_path, save_credentials

    path = config_path(ctx.home)
    path.parent.mkdir(parents=True, exist_ok=True)
    if how in ("login", "wrong_login"):
        from labkit.cloud.gcp.project import ACCESS_TOKEN

        save_credentials(AR_HOST, "oauth2accesstoken", ACCESS_TOKEN if how == "login" else "ya29.expired", home=ctx.home)
        return
    if how == "not_json":
        path.write_text('{"credHelpers": {')
        return
    data = json.loads(path.read_text()) if path.exists() else {}
    data["credHelpers"] = ["gcloud"] if how == "ill_formed" else {AR_HOST: "gcloud" if how == "helper" else "desktop"}
    path.write_text(json.dumps(data))


def ar_push(endpoint: str, image: Image, tag: str) -> None:
    """What `docker push` does to Artifact Registry: blobs, then the manifest, as gcloud's helper's user."""
    from labkit.cloud.gcp.project import ACCESS_TOKEN
    from labkit.docker.auth import GCLOUD_HELPER_USER
    from labkit.docker.registry_client import RegistryClient

    with RegistryClient(AR_HOST, (GCLOUD_HELPER_USER, ACCESS_TOKEN), endpoint=endpoint) as client:
        for blob_digest, data in image.blobs.items():
            if not client.blob_exists(AR_REPOSITORY, blob_digest):
                client.upload_blob(AR_REPOSITORY, data, blob_digest)
        client.put_manifest(AR_REPOSITORY, tag, image.manifest, image.media_type)


def push(ecr, image: Image, tag: str) -> None:
    """What `docker push` does through ECR's API: upload the layers ECR lacks, then PutImage."""
    have = ecr.batch_check_layer_availability(repositoryName="my-app", layerDigests=list(image.blobs))["layers"]
    present = {layer["layerDigest"] for layer in have if layer.get("layerAvailability") == "AVAILABLE"}
    for blob_digest, data in image.blobs.items():
        if blob_digest not in present:
            upload_layer(ecr, "my-app", data)
    ecr.put_image(repositoryName="my-app", imageManifest=image.manifest.decode(),
                  imageManifestMediaType=image.media_type, imageTag=tag)


def build(home: Path, workdir: Path, dockerfile: str) -> None:
    """`labkit docker build -t my-app .` in a folder holding this Dockerfile and the app."""
    from labkit.docker.cli import main

    app = workdir / "app"
    app.mkdir(parents=True, exist_ok=True)
    (app / "Dockerfile").write_text(dockerfile)
    (app / "app.py").write_text("print('hello')\n")
    saved_env, saved_cwd = os.environ.get("LABKIT_HOME"), os.getcwd()
    os.environ["LABKIT_HOME"] = str(home)
    os.chdir(app)
    try:
        assert main(["build", "-q", "-t", "my-app", "."]) == 0
    finally:
        os.chdir(saved_cwd)
        if saved_env is None:
            os.environ.pop("LABKIT_HOME", None)
        else:
            os.environ["LABKIT_HOME"] = saved_env


GOOD = pushed_image()
SCENARIOS = [
    Scenario("untouched", answer="\n# YOUR CODE HERE\n"),
    Scenario("untouched_ko_old_stub", answer="\n# 여기에 코드를 작성하세요\nraise NotImplementedError()\n"),
    Scenario("wrong_region", repository_region="us-east-1", answer=SEED_ANSWER.replace("docker push", "# docker push")),
    Scenario("repository_only", repository_region=REGION, scan_on_push=False, mutability="IMMUTABLE", login="wrong",
             dockerfile=LESSON_DOCKERFILE.replace('CMD ["python", "app.py"]', 'CMD ["python", "server.py"]')
             .replace("EXPOSE 8080", "EXPOSE 3000"),
             answer=SEED_ANSWER.replace("docker build -t my-app .", "")),
    Scenario("only_v1_wrong_cmd", repository_region=REGION, login="valid",
             dockerfile=LESSON_DOCKERFILE.replace("EXPOSE 8080\n", "").replace('CMD ["python", "app.py"]', "CMD []"),
             pushes={"v1.0": pushed_image(cmd=("python", "server.py"), files={"srv/server.py": b"print(1)\n"})},
             answer="\n".join(reversed(SEED_ANSWER.strip().splitlines()))),
    Scenario("two_images_no_cmd", repository_region=REGION, dockerfile=LESSON_DOCKERFILE.replace("CMD", "# CMD"),
             pushes={"v1.0": pushed_image(cmd=None), "latest": GOOD},
             answer=SEED_ANSWER.splitlines()[1]),
    Scenario("no_port", repository_region=REGION, pushes={"v1.0": pushed_image(ports=()), "latest": pushed_image(ports=())},
             answer="\n".join(SEED_ANSWER.splitlines()[2:])),
    Scenario("wrong_port", repository_region=REGION, pushes={"v1.0": pushed_image(ports=("3000/tcp", "53/udp"))}),
    Scenario("only_latest", repository_region=REGION, pushes={"latest": GOOD}),
    Scenario("solution", repository_region=REGION, login="valid", dockerfile=LESSON_DOCKERFILE,
             pushes={"v1.0": GOOD, "latest": GOOD}, answer=SEED_ANSWER,
             ar_location="asia-northeast3", ar_auth="helper", ar_pushes={"v1.0": GOOD, "latest": GOOD},
             ar_tags="\n# the TAGS column\nlatest, v1.0\n"),
    # Artifact Registry (steps 6-9), on top of a finished ECR part where the comparison needs one
    Scenario("ar_elsewhere", login="valid", ar_location="us-central1", ar_auth="other_helper",
             ar_tags=GOOD.digest),
    Scenario("ar_maven_token_login", ar_location="asia-northeast3", ar_format="MAVEN", ar_auth="login",
             ar_tags="latest"),
    Scenario("ar_other_image", repository_region=REGION, pushes={"v1.0": GOOD}, ar_location="asia-northeast3",
             ar_auth="wrong_login", ar_pushes={"v1.0": pushed_image(label="rebuilt")}, ar_tags="v1.0 latest"),
    Scenario("ar_no_ecr", ar_location="asia-northeast3", ar_auth="not_json",
             ar_pushes={"v1.0": GOOD, "latest": pushed_image(label="rebuilt")},
             ar_tags="v1.0"),
    Scenario("ar_nothing_pushed", ar_location="asia-northeast3", ar_auth="ill_formed", ar_tags="v1.0, latest"),
    # both tags on one digest, and the answer copies only one of them: the TAGS column lists both
    Scenario("ar_one_tag_left_out", ar_location="asia-northeast3", ar_auth="helper",
             ar_pushes={"v1.0": GOOD, "latest": GOOD}, ar_tags="v1.0"),
]
