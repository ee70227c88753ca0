"""Checks of lab 02 (container registries: Amazon ECR, lesson section 2.1 and Exercise 3; then
GCP Artifact Registry, section 2.2).

Every condition reads state only: the local cloud through fresh boto3 clients and the official
Artifact Registry client (over REST), the student's docker client state in LABKIT_HOME, and the
written answers (Exercise 3, the digest read from `images list`).
"""
from __future__ import annotations

import re
import shlex

from labkit.checks import commands
from labkit.checks.answers import answer_text
from labkit.checks.core import CheckContext, Lab, Result, Step, condition
from labkit.checks import images

REPOSITORY = "my-app"
REGION = "ap-northeast-2"
ACCOUNT = "123456789012"
REGISTRY = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com"
IMAGE_URI = f"{REGISTRY}/{REPOSITORY}"
TAGS = ("v1.0", "latest")
CMD = ["python", "app.py"]
PORT = "8080/tcp"
PORT_NUMBER = 8080  # what messages show: a bare number, so Korean can say "8080번 포트"
APP_FILE = "/app/app.py"  # WORKDIR /app + COPY . .
OTHER_REGIONS = ("us-east-1", "us-west-2", "ap-northeast-1", "ap-northeast-3", "eu-west-1")


# -- step 1: the repository ------------------------------------------------------------

def _repository(ctx: CheckContext) -> dict | None:
    def fetch():
        ecr = ctx.client("ecr", region=REGION)
        try:
            return ecr.describe_repositories(repositoryNames=[REPOSITORY])["repositories"][0]
        except ecr.exceptions.RepositoryNotFoundException:
            return None
    return ctx.cached("repository", fetch)


def _region_holding_repository(ctx: CheckContext) -> str | None:
    for region in OTHER_REGIONS:
        ecr = ctx.client("ecr", region=region)
        try:
            ecr.describe_repositories(repositoryNames=[REPOSITORY])
            return region
        except ecr.exceptions.RepositoryNotFoundException:
            continue
    return None


@condition(points=1)
def repository_exists(ctx: CheckContext) -> list[Result]:
    repo = _repository(ctx)
    if repo is not None:
        return [Result("repository.exists", True, "lab02.repository.exists.ok", params={"uri": repo["repositoryUri"]})]
    elsewhere = _region_holding_repository(ctx)
    if elsewhere:
        return [Result("repository.exists", False, "lab02.repository.exists.wrong_region",
                       params={"region": elsewhere, "expected": REGION})]
    return [Result("repository.exists", False, "lab02.repository.exists.missing", params={"name": REPOSITORY})]


@condition(points=1)
def repository_scan_on_push(ctx: CheckContext) -> list[Result]:
    repo = _repository(ctx)
    if repo is None:
        return [Result("repository.scan_on_push", False, "lab02.repository.scan_on_push.no_repository")]
    ok = bool(repo.get("imageScanningConfiguration", {}).get("scanOnPush"))
    return [Result("repository.scan_on_push", ok,
                   "lab02.repository.scan_on_push.ok" if ok else "lab02.repository.scan_on_push.off")]


@condition(points=1)
def repository_tags_mutable(ctx: CheckContext) -> list[Result]:
    repo = _repository(ctx)
    if repo is None:
        return [Result("repository.mutable", False, "lab02.repository.mutable.no_repository")]
    mutability = repo.get("imageTagMutability") or "MUTABLE"  # ECR's default when unset
    if mutability == "MUTABLE":
        return [Result("repository.mutable", True, "lab02.repository.mutable.ok")]
    return [Result("repository.mutable", False, "lab02.repository.mutable.bad", params={"value": mutability})]


# -- step 2: docker login ------------------------------------------------------------------

@condition(points=1)
def logged_in(ctx: CheckContext) -> list[Result]:
    try:
        credentials = images.saved_credentials(ctx.home, REGISTRY)
    except images.BrokenState as broken:  # the student's own login file: their answer, with a hint
        return [Result("login.saved", False, broken.key, params=broken.params)]
    if credentials is None:
        return [Result("login.saved", False, "lab02.login.missing", params={"registry": REGISTRY})]
    if not images.credentials_accepted(ctx.endpoint, REGISTRY, credentials):
        return [Result("login.saved", False, "lab02.login.rejected", params={"registry": REGISTRY})]
    return [Result("login.saved", True, "lab02.login.ok", params={"registry": REGISTRY})]


# -- step 3: the local build -----------------------------------------------------------------

def _local_image(ctx: CheckContext):
    """The built image, None if there is none, or the BrokenState of a damaged store (each build
    condition then fails with what is broken)."""
    def read():
        try:
            return images.local_image(ctx.home, f"{REPOSITORY}:latest", name=REPOSITORY)
        except images.BrokenState as broken:
            return broken
    return ctx.cached("local_image", read)


def _broken(condition_id: str, image) -> list[Result] | None:
    if isinstance(image, images.BrokenState):
        return [Result(condition_id, False, image.key, params=image.params)]
    return None


@condition(points=1)
def built_image_exists(ctx: CheckContext) -> list[Result]:
    image = _local_image(ctx)
    ok = image is not None
    if broken := _broken("build.exists", image):
        return broken
    return [Result("build.exists", ok, "lab02.build.exists.ok" if ok else "lab02.build.exists.missing")]


def command_line(argv: list[str]) -> str:
    """A command as a student would type it (`python app.py`), not as JSON."""
    return shlex.join(argv)


def port_list(ports) -> str:
    """`8080, 53/udp`: tcp ports as bare numbers (as EXPOSE writes them), others with their protocol."""
    return ", ".join(sorted(p.removesuffix("/tcp") for p in ports))


@condition(points=1)
def built_image_cmd(ctx: CheckContext) -> list[Result]:
    image = _local_image(ctx)
    if broken := _broken("build.cmd", image):
        return broken
    if image is None:
        return [Result("build.cmd", False, "lab02.build.cmd.no_image")]
    cmd = images.effective_command(image.config)
    if cmd is None:
        return [Result("build.cmd", False, "lab02.build.cmd.none")]
    if cmd != CMD:
        return [Result("build.cmd", False, "lab02.build.cmd.bad",
                       params={"found": command_line(cmd), "expected": command_line(CMD)})]
    return [Result("build.cmd", True, "lab02.build.cmd.ok", params={"expected": command_line(CMD)})]


@condition(points=1)
def built_image_port(ctx: CheckContext) -> list[Result]:
    image = _local_image(ctx)
    if broken := _broken("build.port", image):
        return broken
    if image is None:
        return [Result("build.port", False, "lab02.build.port.no_image")]
    ports = images.exposed_ports(image.config)
    if PORT in ports:
        return [Result("build.port", True, "lab02.build.port.ok", params={"port": PORT_NUMBER})]
    if not ports:
        return [Result("build.port", False, "lab02.build.port.none", params={"port": PORT_NUMBER})]
    return [Result("build.port", False, "lab02.build.port.bad", params={"found": port_list(ports), "port": PORT_NUMBER})]


# -- step 4: tag and push ---------------------------------------------------------------------

def _pushed(ctx: CheckContext) -> dict:
    """Tag -> digest of what ECR holds in my-app, or {} if the repository is missing."""
    def fetch():
        if _repository(ctx) is None:
            return {}
        ecr = ctx.client("ecr", region=REGION)
        tags = {}
        for page in ecr.get_paginator("list_images").paginate(repositoryName=REPOSITORY):
            for image in page["imageIds"]:
                if "imageTag" in image:
                    tags[image["imageTag"]] = image["imageDigest"]
        return tags
    return ctx.cached("pushed", fetch)


def _pushed_image(ctx: CheckContext):
    """The pushed `v1.0` (manifest, config, layers), or None when there is none to inspect."""
    def fetch():
        if "v1.0" not in _pushed(ctx):  # also covers a missing repository
            return None
        return images.pushed_image(ctx.client("ecr", region=REGION), REPOSITORY, "v1.0")
    return ctx.cached("pushed_image", fetch)


def short_digest(digest: str) -> str:
    """`sha256:1a2b3c4d5e6f`: enough to tell two images apart in a sentence."""
    algorithm, _, hexdigits = digest.partition(":")
    return f"{algorithm}:{hexdigits[:12]}"


@condition(points=1)
def pushed_tags(ctx: CheckContext) -> list[Result]:
    if _repository(ctx) is None:
        return [Result("push.tags", False, "lab02.push.tags.no_repository")]
    tags = _pushed(ctx)
    missing = [t for t in TAGS if t not in tags]
    if not missing:
        return [Result("push.tags", True, "lab02.push.tags.ok", params={"uri": IMAGE_URI})]
    if len(missing) == len(TAGS):
        return [Result("push.tags", False, "lab02.push.tags.none", params={"uri": IMAGE_URI})]
    have = [t for t in TAGS if t in tags]
    return [Result("push.tags", False, "lab02.push.tags.missing",
                   params={"tag": missing[0], "have": have[0], "uri": IMAGE_URI})]


@condition(points=1)
def pushed_one_digest(ctx: CheckContext) -> list[Result]:
    tags = _pushed(ctx)
    missing = [t for t in TAGS if t not in tags]
    if len(missing) == len(TAGS):
        return [Result("push.one_digest", False, "lab02.push.one_digest.nothing")]
    if missing:
        return [Result("push.one_digest", False, "lab02.push.one_digest.not_pushed", params={"tag": missing[0]})]
    if tags["v1.0"] != tags["latest"]:
        return [Result("push.one_digest", False, "lab02.push.one_digest.bad",
                       params={"v1": short_digest(tags["v1.0"]), "latest": short_digest(tags["latest"])})]
    return [Result("push.one_digest", True, "lab02.push.one_digest.ok")]


@condition(points=1)
def pushed_config(ctx: CheckContext) -> list[Result]:
    image = _pushed_image(ctx)
    if image is None:
        return [Result("push.config", False, "lab02.push.config.missing", params={"uri": IMAGE_URI})]
    cmd = images.effective_command(image.config)
    ports = images.exposed_ports(image.config)
    if cmd is None:
        return [Result("push.config", False, "lab02.push.config.cmd_none")]
    if cmd != CMD:
        return [Result("push.config", False, "lab02.push.config.cmd_bad",
                       params={"found": command_line(cmd), "expected": command_line(CMD)})]
    if not ports:
        return [Result("push.config", False, "lab02.push.config.port_none", params={"port": PORT_NUMBER})]
    if PORT not in ports:
        return [Result("push.config", False, "lab02.push.config.port_bad",
                       params={"found": port_list(ports), "port": PORT_NUMBER})]
    return [Result("push.config", True, "lab02.push.config.ok", params={"cmd": command_line(cmd), "port": PORT_NUMBER})]


@condition(points=1)
def pushed_app_file(ctx: CheckContext) -> list[Result]:
    image = _pushed_image(ctx)
    if image is None:
        return [Result("push.app_py", False, "lab02.push.app_py.no_image", params={"path": APP_FILE})]
    ok = APP_FILE in image.files()
    return [Result("push.app_py", ok, "lab02.push.app_py.ok" if ok else "lab02.push.app_py.missing",
                   params={"path": APP_FILE})]


# -- step 5: Exercise 3, the command sequence ----------------------------------------------------

@condition(points=0)
def exercise3_answered(ctx: CheckContext) -> list[Result]:
    """The step's gate: with only the placeholder there, the step is one "not answered yet"."""
    answered = answer_text(ctx, "exercise3") is not None
    return [Result("exercise3.answered", answered,
                   "lab02.exercise3.answered" if answered else "lab02.exercise3.unanswered", points=0)]


def _exercise3(ctx: CheckContext) -> dict:
    """Where each expected command first appears in the answer (its order among the commands), or None."""
    def analyse():
        text = answer_text(ctx, "exercise3") or ""
        found = {"login": None, "build": None, "tag": None, "push": None, "built_names": set()}
        for cmd in commands.parse(text).commands:
            argv = cmd.argv
            aws_words = commands.positional(argv, 1, ("--region", "--profile", "--output", "--endpoint-url"))
            if argv[:1] == ["aws"] and aws_words[:2] == ["ecr", "get-login-password"] and cmd.pipe_to is not None:
                login = cmd.pipe_to.argv
                region = commands.option(argv, "--region")
                server = commands.positional(login, 2, ("--username", "-u", "--password", "-p"))
                if (login[:2] == ["docker", "login"] and commands.option(login, "--username", "-u") == "AWS"
                        and "--password-stdin" in login and region == REGION
                        and server and server[-1].removeprefix("https://") == REGISTRY):
                    found["login"] = found["login"] or cmd.position
            elif argv[:2] == ["docker", "build"]:
                tag = commands.option(argv, "-t", "--tag")
                if tag and commands.positional(argv, 2, ("-t", "--tag", "-f", "--file", "--build-arg")):
                    found["build"] = found["build"] or cmd.position
                    found["built_names"].add(_with_tag(tag))
                    if _with_tag(tag) == f"{IMAGE_URI}:v1.0":
                        found["tag"] = found["tag"] or cmd.position
            elif argv[:2] == ["docker", "tag"] and len(argv) >= 4:
                source, target = _with_tag(argv[2]), _with_tag(argv[3])
                if target == f"{IMAGE_URI}:v1.0" and source in found["built_names"] | {f"{REPOSITORY}:latest"}:
                    found["tag"] = found["tag"] or cmd.position
            elif argv[:2] == ["docker", "push"] and len(argv) >= 3 and _with_tag(argv[-1]) == f"{IMAGE_URI}:v1.0":
                found["push"] = found["push"] or cmd.position
        return found
    return ctx.cached("exercise3", analyse)


def _with_tag(ref: str) -> str:
    last = ref.rsplit("/", 1)[-1]
    return ref if ":" in last or "@" in last else f"{ref}:latest"


@condition(points=1)
def exercise3_login(ctx):
    ok = _exercise3(ctx)["login"] is not None
    return [Result("exercise3.login", ok, "lab02.exercise3.login.ok" if ok else "lab02.exercise3.login.missing",
                   params={"registry": REGISTRY})]


@condition(points=1)
def exercise3_build_and_tag(ctx):
    found = _exercise3(ctx)
    ok = found["build"] is not None and found["tag"] is not None
    return [Result("exercise3.build_tag", ok, "lab02.exercise3.build_tag.ok" if ok else "lab02.exercise3.build_tag.missing",
                   params={"uri": IMAGE_URI})]


@condition(points=1)
def exercise3_push(ctx):
    ok = _exercise3(ctx)["push"] is not None
    return [Result("exercise3.push", ok, "lab02.exercise3.push.ok" if ok else "lab02.exercise3.push.missing",
                   params={"uri": IMAGE_URI})]


@condition(points=1)
def exercise3_order(ctx):
    """Login, build, tag, push, in that order (login may come any time before the push, as
    for a real registry, but the seed's answer logs in first)."""
    found = _exercise3(ctx)
    lines = [found[p] for p in ("login", "build", "tag", "push")]
    if None in lines:
        return [Result("exercise3.order", False, "lab02.exercise3.order.incomplete")]
    login, build, tag, push = lines
    ok = login < push and build <= tag < push
    return [Result("exercise3.order", ok, "lab02.exercise3.order.ok" if ok else "lab02.exercise3.order.bad")]


# -- steps 6-9: GCP Artifact Registry --------------------------------------------------------------
# The same image, pushed to GCP's registry. Reads: one GetRepository, one ListDockerImages (the rest
# only on a failure path), the docker config file: lab 02 is the grader's throughput benchmark.

AR_REPOSITORY = "my-repo"
AR_LOCATION = "asia-northeast3"
AR_PROJECT = "labkit-project"
AR_HOST = f"{AR_LOCATION}-docker.pkg.dev"
AR_IMAGE = f"{AR_HOST}/{AR_PROJECT}/{AR_REPOSITORY}/my-app"
AR_REPOSITORY_NAME = f"projects/{AR_PROJECT}/locations/{AR_LOCATION}/repositories/{AR_REPOSITORY}"
# where a student may have created it instead (looked at only when it is not in asia-northeast3)
AR_OTHER_LOCATIONS = ("us-central1", "us-east1", "us", "asia", "asia-northeast1", "asia-northeast2",
                      "europe-west1")
DIGEST = re.compile(r"sha256:[0-9a-f]{64}")


def _not_found():
    from google.api_core import exceptions

    return exceptions.NotFound


def _ar_repository(ctx: CheckContext):
    """The Repository message of my-repo in asia-northeast3, or None."""
    def fetch():
        try:
            return ctx.google("artifactregistry").get_repository(name=AR_REPOSITORY_NAME)
        except _not_found():
            return None
    return ctx.cached("ar_repository", fetch)


def _ar_location_holding_repository(ctx: CheckContext) -> str | None:
    client = ctx.google("artifactregistry")
    for location in AR_OTHER_LOCATIONS:
        try:
            client.get_repository(name=f"projects/{AR_PROJECT}/locations/{location}/repositories/{AR_REPOSITORY}")
            return location
        except _not_found():
            continue
    return None


@condition(points=1)
def ar_repository_exists(ctx: CheckContext) -> list[Result]:
    if _ar_repository(ctx) is not None:
        return [Result("ar_repository.exists", True, "lab02.ar.repository.exists.ok",
                       params={"uri": f"{AR_HOST}/{AR_PROJECT}/{AR_REPOSITORY}"})]
    elsewhere = _ar_location_holding_repository(ctx)
    if elsewhere:
        return [Result("ar_repository.exists", False, "lab02.ar.repository.exists.wrong_location",
                       params={"location": elsewhere, "expected": AR_LOCATION})]
    return [Result("ar_repository.exists", False, "lab02.ar.repository.exists.missing",
                   params={"repo": AR_REPOSITORY, "location": AR_LOCATION})]


@condition(points=1)
def ar_repository_docker(ctx: CheckContext) -> list[Result]:
    repo = _ar_repository(ctx)
    if repo is None:
        return [Result("ar_repository.docker", False, "lab02.ar.repository.docker.no_repository")]
    fmt = type(repo).Format(repo.format_).name
    if fmt == "DOCKER":
        return [Result("ar_repository.docker", True, "lab02.ar.repository.docker.ok")]
    return [Result("ar_repository.docker", False, "lab02.ar.repository.docker.bad", params={"value": fmt.lower()})]


@condition(points=1)
def ar_docker_auth(ctx: CheckContext) -> list[Result]:
    """configure-docker's entry `"credHelpers": {"asia-northeast3-docker.pkg.dev": "gcloud"}` in the
    lab's docker config (or, as Google also documents, a `docker login` with an access token)."""
    from labkit.docker.auth import config_path

    path = config_path(ctx.home)
    where = {"path": images.shown_path(path), "host": AR_HOST}
    try:
        data = images._read_json(path, "lab02.ar.auth.not_json", **where)
        if data is not None and (not isinstance(data, dict) or not isinstance(data.get("credHelpers", {}), dict)
                                 or not isinstance(data.get("auths", {}), dict)):
            raise images.BrokenState("lab02.ar.auth.ill_formed", **where)
    except images.BrokenState as broken:  # the student's own file: their answer, with a hint
        return [Result("ar_auth.helper", False, broken.key, params=broken.params)]
    helper = (data or {}).get("credHelpers", {}).get(AR_HOST)
    if helper == "gcloud":
        return [Result("ar_auth.helper", True, "lab02.ar.auth.ok", params={"host": AR_HOST})]
    if helper is not None:
        return [Result("ar_auth.helper", False, "lab02.ar.auth.other_helper",
                       params={"host": AR_HOST, "value": str(helper) or "\"\""})]
    if (data or {}).get("auths", {}).get(AR_HOST) is not None:
        try:
            credentials = images.saved_credentials(ctx.home, AR_HOST)
        except images.BrokenState:  # an entry without a readable `auth`: a login that cannot work
            credentials = None
        if credentials and images.credentials_accepted(ctx.endpoint, AR_HOST, credentials):
            return [Result("ar_auth.helper", True, "lab02.ar.auth.ok_login", params={"host": AR_HOST})]
        return [Result("ar_auth.helper", False, "lab02.ar.auth.rejected", params={"host": AR_HOST})]
    return [Result("ar_auth.helper", False, "lab02.ar.auth.missing", params={"host": AR_HOST})]


def _ar_pushed(ctx: CheckContext) -> dict:
    """Tag -> digest of my-app in my-repo, {} if the repository or the image is missing."""
    def fetch():
        if _ar_repository(ctx) is None:
            return {}
        tags = {}
        for image in ctx.google("artifactregistry").list_docker_images(parent=AR_REPOSITORY_NAME):
            package, _, digest = image.uri.partition("@")
            if package == AR_IMAGE:
                tags.update({tag: digest for tag in image.tags})
        return tags
    return ctx.cached("ar_pushed", fetch)


@condition(points=1)
def ar_pushed_tags(ctx: CheckContext) -> list[Result]:
    if _ar_repository(ctx) is None:
        return [Result("ar_push.tags", False, "lab02.ar.push.tags.no_repository")]
    tags = _ar_pushed(ctx)
    missing = [t for t in TAGS if t not in tags]
    if not missing:
        return [Result("ar_push.tags", True, "lab02.ar.push.tags.ok", params={"uri": AR_IMAGE})]
    if len(missing) == len(TAGS):
        return [Result("ar_push.tags", False, "lab02.ar.push.tags.none", params={"uri": AR_IMAGE})]
    have = [t for t in TAGS if t in tags]
    return [Result("ar_push.tags", False, "lab02.ar.push.tags.missing",
                   params={"tag": missing[0], "have": have[0], "uri": AR_IMAGE})]


@condition(points=1)
def ar_pushed_one_digest(ctx: CheckContext) -> list[Result]:
    tags = _ar_pushed(ctx)
    missing = [t for t in TAGS if t not in tags]
    if len(missing) == len(TAGS):
        return [Result("ar_push.one_digest", False, "lab02.ar.push.one_digest.nothing")]
    if missing:
        return [Result("ar_push.one_digest", False, "lab02.ar.push.one_digest.not_pushed", params={"tag": missing[0]})]
    if tags["v1.0"] != tags["latest"]:
        return [Result("ar_push.one_digest", False, "lab02.ar.push.one_digest.bad",
                       params={"v1": short_digest(tags["v1.0"]), "latest": short_digest(tags["latest"])})]
    return [Result("ar_push.one_digest", True, "lab02.ar.push.one_digest.ok")]


@condition(points=1)
def ar_same_image_as_ecr(ctx: CheckContext) -> list[Result]:
    """One image, two registries: v1.0 has the same digest in Artifact Registry as in ECR."""
    ar_digest = _ar_pushed(ctx).get("v1.0")
    if ar_digest is None:
        return [Result("ar_push.same_as_ecr", False, "lab02.ar.push.same_as_ecr.no_image")]
    ecr_digest = _pushed(ctx).get("v1.0")
    if ecr_digest is None:
        return [Result("ar_push.same_as_ecr", False, "lab02.ar.push.same_as_ecr.no_ecr", params={"uri": IMAGE_URI})]
    if ar_digest != ecr_digest:
        return [Result("ar_push.same_as_ecr", False, "lab02.ar.push.same_as_ecr.bad",
                       params={"ar": short_digest(ar_digest), "ecr": short_digest(ecr_digest)})]
    return [Result("ar_push.same_as_ecr", True, "lab02.ar.push.same_as_ecr.ok", params={"digest": short_digest(ar_digest)})]


@condition(points=1)
def ar_list_tags(ctx: CheckContext) -> list[Result]:
    """The tags the student read from `gcloud artifacts docker images list --include-tags` for the
    digest of v1.0, against the graded cloud's. Tags, not the digest: a digest depends on the packages
    of the machine that built the image, and the grader builds it again on its own.
    (One condition: a "not answered yet" gate would add nothing to it.)"""
    answer = answer_text(ctx, "ar_tags")
    if answer is None:
        return [Result("ar_list.tags", False, "lab02.ar.list.unanswered")]
    if DIGEST.search(answer.lower()) or re.fullmatch(r"\s*[0-9a-f]{12,64}\s*", answer.lower()):
        return [Result("ar_list.tags", False, "lab02.ar.list.tags.digest")]
    lines = [line for line in answer.splitlines() if not line.strip().startswith("#")]  # comments, nbgrader's markers
    given = [t for t in re.split(r"[\s,;]+", " ".join(lines)) if t]
    pushed = _ar_pushed(ctx)
    digest = pushed.get("v1.0")
    if digest is None:
        return [Result("ar_list.tags", False, "lab02.ar.list.tags.no_image", params={"uri": AR_IMAGE})]
    truth = sorted(tag for tag, d in pushed.items() if d == digest)
    extra = [t for t in given if t not in truth]
    if extra:
        return [Result("ar_list.tags", False, "lab02.ar.list.tags.extra",
                       params={"tag": extra[0][:40], "uri": AR_IMAGE})]
    missing = [t for t in truth if t not in given]
    if missing:
        return [Result("ar_list.tags", False, "lab02.ar.list.tags.missing",
                       params={"tag": missing[0], "uri": AR_IMAGE})]
    return [Result("ar_list.tags", True, "lab02.ar.list.tags.ok",
                   params={"tags": ", ".join(truth), "digest": short_digest(digest)})]


LAB = Lab(id="lab02", steps=[
    Step("repository", "lab02.step.repository", [repository_exists, repository_scan_on_push],
         hidden=[repository_tags_mutable]),
    Step("login", "lab02.step.login", [logged_in]),
    Step("build", "lab02.step.build", [built_image_exists, built_image_cmd, built_image_port]),
    Step("push", "lab02.step.push", [pushed_tags, pushed_one_digest, pushed_config], hidden=[pushed_app_file]),
    Step("exercise3", "lab02.step.exercise3", [exercise3_login, exercise3_build_and_tag, exercise3_push,
                                               exercise3_order], gate=exercise3_answered),
    Step("ar_repository", "lab02.step.ar_repository", [ar_repository_exists, ar_repository_docker]),
    Step("ar_auth", "lab02.step.ar_auth", [ar_docker_auth]),
    Step("ar_push", "lab02.step.ar_push", [ar_pushed_tags, ar_pushed_one_digest], hidden=[ar_same_image_as_ecr]),
    Step("ar_list", "lab02.step.ar_list", [ar_list_tags]),
])
