"""`gcloud artifacts repositories create|list|describe|delete` and `artifacts docker images list`,
over labkit.gcp.artifact_registry_client() (gRPC). Wording and tables are gcloud's, as the real
gcloud prints them against the local cloud (tests/gcloud compare where gcloud is installed)."""
from __future__ import annotations

import sys

from labkit.gcloud import cli, config
from labkit.gcloud.errors import GcloudError

REPOSITORY_LIST_FORMAT = (
    "table(name.basename():label=REPOSITORY, format:label=FORMAT, mode:label=MODE, description:label=DESCRIPTION,"
    " location:label=LOCATION, labels:label=LABELS, encryption:label=ENCRYPTION, createTime.date():label=CREATE_TIME,"
    " updateTime.date():label=UPDATE_TIME, sizeMb:label='SIZE (MB)')")
IMAGE_LIST_FORMAT = ("table(package:label=IMAGE, version:label=DIGEST, createTime.date():label=CREATE_TIME,"
                     " updateTime.date():label=UPDATE_TIME, metadata.imageSizeBytes:label=SIZE)")
IMAGE_LIST_FORMAT_TAGS = ("table(package:label=IMAGE, version:label=DIGEST, tags:label=TAGS,"
                          " createTime.date():label=CREATE_TIME, updateTime.date():label=UPDATE_TIME,"
                          " metadata.imageSizeBytes:label=SIZE)")
FORMATS = {"docker": "DOCKER", "maven": "MAVEN", "npm": "NPM", "python": "PYTHON", "apt": "APT", "yum": "YUM",
           "go": "GO", "kfp": "KFP", "generic": "GENERIC"}


def _client():
    cli.require_cloud()
    from labkit import gcp

    return gcp.artifact_registry_client()


def to_dict(message) -> dict:
    """A proto-plus message as gcloud shows it: camelCase, enum names, default values left out."""
    from google.protobuf.json_format import MessageToDict

    return MessageToDict(type(message).pb(message))


def _location(args) -> str:
    location = args.location or config.get("artifacts/location")
    if not location:
        raise GcloudError("argument --location: Must be specified.", exit_code=2)
    return location


def _repository_parser(command: str, description: str, positional: bool = True):
    p = cli.parser(f"artifacts repositories {command}", description)
    if positional:
        p.add_argument("repository", metavar="REPOSITORY")
    p.add_argument("--location", help="Location of the repository (e.g. asia-northeast3).")
    return p


def _shown(repository: dict) -> dict:
    """gcloud's table columns computed from the Repository."""
    parts = repository.get("name", "").split("/")
    size = int(repository.get("sizeBytes", 0) or 0)
    return {**repository, "location": parts[3] if len(parts) > 3 else "",
            "mode": repository.get("mode", "STANDARD_REPOSITORY"),
            "encryption": "Customer-managed key" if repository.get("kmsKeyName") else "Google-managed key",
            "sizeMb": "0" if not size else f"{size / 1e6:.3f}"}


def create(argv: list[str]) -> int:
    p = _repository_parser("create", "Create an Artifact Registry repository.")
    p.add_argument("--repository-format", help="Format of the repository (docker, ...).")
    p.add_argument("--description")
    p.add_argument("--labels")
    p.add_argument("--mode", default="standard-repository")
    p.add_argument("--async", dest="async_", action="store_true")
    p.add_argument("--immutable-tags", action="store_true")
    args = p.parse_args(argv)
    if not args.repository_format:
        raise GcloudError("argument --repository-format: Must be specified.", exit_code=2)
    fmt = FORMATS.get(args.repository_format.lower())
    if fmt is None:
        raise GcloudError(f"argument --repository-format: Invalid choice: '{args.repository_format}'.", exit_code=2)
    project, location = config.project(args.project), _location(args)
    client = _client()
    from google.cloud import artifactregistry_v1 as ar

    repository = ar.Repository(format_=getattr(ar.Repository.Format, fmt), description=args.description or "")
    if args.labels:
        repository.labels.update(dict(item.partition("=")[::2] for item in args.labels.split(",")))
    if args.immutable_tags:
        repository.docker_config = ar.Repository.DockerRepositoryConfig(immutable_tags=True)
    operation = client.create_repository(parent=f"projects/{project}/locations/{location}",
                                         repository_id=args.repository, repository=repository)
    print(f"Create request issued for: [{args.repository}]", file=sys.stderr)
    if args.async_:
        print(f"Check operation [{operation.operation.name}] for status.", file=sys.stderr)
        return 0
    cli.wait(operation, 60)
    print(f"Created repository [{args.repository}].", file=sys.stderr)
    return 0


def list_(argv: list[str]) -> int:
    from labkit.gcloud import formats

    p = _repository_parser("list", "List repositories in the specified project.", positional=False)
    p.add_argument("--limit", type=int)
    args = p.parse_args(argv)
    project = config.project(args.project)
    location = args.location or config.get("artifacts/location")
    client = _client()
    if location:
        print(f"Listing items under project {project}, location {location}.\n", file=sys.stderr)
        locations = [location]
    else:
        print(f"Listing items under project {project}, across all locations.\n", file=sys.stderr)
        locations = [loc.location_id for loc in client.list_locations(
            request={"name": f"projects/{project}"}).locations] or ["-"]
    rows = []
    for loc in locations:
        rows += [_shown(to_dict(r)) for r in client.list_repositories(parent=f"projects/{project}/locations/{loc}")]
    rows = rows[:args.limit] if args.limit else rows
    out = formats.render(rows, args.format, REPOSITORY_LIST_FORMAT)
    if rows and not args.format:  # gcloud's table title, centred over the table
        width = max(len(line) for line in out.splitlines())
        out = "ARTIFACT_REGISTRY".center(width).rstrip() + "\n" + out
    sys.stdout.write(out)
    if not rows:
        print("Listed 0 items.", file=sys.stderr)
    return 0


def describe(argv: list[str]) -> int:
    from labkit.gcloud import formats

    args = _repository_parser("describe", "Describe an Artifact Registry repository.").parse_args(argv)
    project, location = config.project(args.project), _location(args)
    repository = to_dict(_client().get_repository(
        name=f"projects/{project}/locations/{location}/repositories/{args.repository}"))
    sys.stdout.write(formats.render(repository, args.format, "yaml", single=True))
    if not args.format:
        size = int(repository.get("sizeBytes", 0) or 0)
        print(f"Encryption: {_shown(repository)['encryption']}\nRepository Size: {size / 1e6:.3f}MB",
              file=sys.stderr)
    return 0


def delete(argv: list[str]) -> int:
    p = _repository_parser("delete", "Delete an Artifact Registry repository.")
    p.add_argument("--async", dest="async_", action="store_true")
    args = p.parse_args(argv)
    project, location = config.project(args.project), _location(args)
    client = _client()
    name = f"projects/{project}/locations/{location}/repositories/{args.repository}"
    client.get_repository(name=name)  # gcloud asks first (NOT_FOUND before the prompt)
    if not args.quiet:  # never a terminal here: gcloud takes the prompt's default (continue)
        print(f"You are about to delete repository [{args.repository}]\n\nDo you want to continue (Y/n)?  ",
              file=sys.stderr)
    operation = client.delete_repository(name=name)
    print(f"Delete request issued for: [{args.repository}]", file=sys.stderr)
    if not args.async_:
        cli.wait(operation, 60)
        print(f"Deleted repository [{args.repository}].", file=sys.stderr)
    return 0


def images_list(argv: list[str]) -> int:
    """`gcloud artifacts docker images list LOCATION-docker.pkg.dev/PROJECT/REPO[/IMAGE] [--include-tags]`."""
    from labkit.gcloud import formats

    p = cli.parser("artifacts docker images list", "List Artifact Registry container images.")
    p.add_argument("image_path", nargs="?", metavar="IMAGE_PATH")
    p.add_argument("--include-tags", action="store_true")
    p.add_argument("--limit", type=int)
    p.add_argument("--sort-by")
    args = p.parse_args(argv)
    project = config.project(args.project)
    path = args.image_path or ""
    parts = path.split("/")
    if path and (len(parts) < 3 or not parts[0].endswith("-docker.pkg.dev")):
        raise GcloudError(f"Invalid Docker string.\n\nA valid container image can be referenced by tag or digest, "
                          f"has one of the following formats:\n  LOCATION-docker.pkg.dev/PROJECT-ID/REPOSITORY-ID/IMAGE"
                          f"\n  LOCATION-docker.pkg.dev/PROJECT-ID/REPOSITORY-ID/IMAGE:tag\n"
                          f"  LOCATION-docker.pkg.dev/PROJECT-ID/REPOSITORY-ID/IMAGE@sha256:digest",
                          hint=("gcloud.hint.image_path", {"project": project}))
    if not path:
        location, repo = config.get("artifacts/location"), config.get("artifacts/repository")
        if not (location and repo):
            raise GcloudError("argument IMAGE_PATH: Must be specified.", exit_code=2)
        parts = [f"{location}-docker.pkg.dev", project, repo]
    location = parts[0][: -len("-docker.pkg.dev")]
    project, repo, image = parts[1], parts[2], "/".join(parts[3:])
    client = _client()
    parent = f"projects/{project}/locations/{location}/repositories/{repo}"
    client.get_repository(name=parent)  # as gcloud: a missing repository is refused before listing
    print(f"Listing items under project {project}, location {location}, repository {repo}.\n", file=sys.stderr)
    rows = []
    prefix = f"{parts[0]}/{project}/{repo}/{image}" if image else ""
    for img in client.list_docker_images(parent=parent):
        package, _, version = img.uri.partition("@")
        if prefix and not (package == prefix or package.startswith(prefix + "/")):
            continue
        shown = to_dict(img)
        rows.append({"package": package, "version": version, "createTime": shown.get("uploadTime"),
                     "updateTime": shown.get("updateTime"),
                     "metadata": {"buildTime": shown.get("buildTime"), "mediaType": img.media_type,
                                  "imageSizeBytes": str(img.image_size_bytes), "name": img.name},
                     "tags": ", ".join(img.tags) if args.include_tags else ""})
    rows = rows[:args.limit] if args.limit else rows
    default = IMAGE_LIST_FORMAT_TAGS if args.include_tags else IMAGE_LIST_FORMAT
    sys.stdout.write(formats.render(rows, args.format, default))
    if not rows:
        print("Listed 0 items.", file=sys.stderr)
    return 0
