"""Lab 02 states a student can leave behind, made for real: repositories through boto3 on a
local cloud, a login saved as `labkit docker login` saves it, a local image built with
`labkit docker build`, images pushed through ECR's own API. Every outcome of every lab 02
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
        return ctx


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
             pushes={"v1.0": GOOD, "latest": GOOD}, answer=SEED_ANSWER),
]
