"""`gcloud services enable|disable|list`. The local cloud serves its APIs without being asked,
so enabling only records, per project, what the student enabled (in the gcloud configuration
folder), to print what gcloud prints: the operation once, nothing when already enabled."""
from __future__ import annotations

import json
import sys
import uuid

from labkit.gcloud import cli, config
from labkit.gcloud.errors import GcloudError

# The APIs the course names, with the titles `gcloud services list` shows.
TITLES = {
    "artifactregistry.googleapis.com": "Artifact Registry API",
    "cloudbuild.googleapis.com": "Cloud Build API",
    "cloudresourcemanager.googleapis.com": "Cloud Resource Manager API",
    "compute.googleapis.com": "Compute Engine API",
    "container.googleapis.com": "Kubernetes Engine API",
    "containerregistry.googleapis.com": "Container Registry API",
    "iam.googleapis.com": "Identity and Access Management (IAM) API",
    "logging.googleapis.com": "Cloud Logging API",
    "monitoring.googleapis.com": "Cloud Monitoring API",
    "run.googleapis.com": "Cloud Run Admin API",
    "serviceusage.googleapis.com": "Service Usage API",
    "storage.googleapis.com": "Cloud Storage API",
}
ALWAYS_ENABLED = ("serviceusage.googleapis.com", "cloudresourcemanager.googleapis.com", "logging.googleapis.com")


def _state_file():
    return config.folder() / "labkit-enabled-services.json"


def _enabled() -> dict:
    try:
        return json.loads(_state_file().read_text())
    except (OSError, ValueError):
        return {}


def _save(data: dict) -> None:
    path = _state_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=1, sort_keys=True))


def _project_number(project: str) -> str:
    from labkit.cloud.gcp.project import DEFAULT_PROJECT, PROJECT_NUMBER

    if project != DEFAULT_PROJECT:
        raise GcloudError(f"PERMISSION_DENIED: Project '{project}' not found or permission denied.")
    return str(PROJECT_NUMBER)


def enable(argv: list[str]) -> int:
    p = cli.parser("services enable", "Enables a service for consumption for a project.")
    p.add_argument("service", nargs="+", metavar="SERVICE")
    p.add_argument("--async", dest="async_", action="store_true")
    args = p.parse_args(argv)
    project = config.project(args.project)
    unknown = [s for s in args.service if s not in TITLES]
    if unknown:
        raise GcloudError(f"PERMISSION_DENIED: Not found or permission denied for service(s): {', '.join(unknown)}.",
                          hint=("gcloud.hint.services", {"services": ", ".join(sorted(TITLES))}))
    number = _project_number(project)
    data = _enabled()
    already = set(data.get(project, [])) | set(ALWAYS_ENABLED)
    new = [s for s in args.service if s not in already]
    if not new:
        return 0  # gcloud: the operation is already done, nothing is printed
    data[project] = sorted(set(data.get(project, [])) | set(new))
    _save(data)
    name = f"operations/acf.p2-{number}-{uuid.uuid4()}"
    if args.async_:
        print("Asynchronous operation is in progress... Use the following command to wait for its "
              f"completion:\n gcloud beta services operations wait {name}", file=sys.stderr)
    else:
        print(f'Operation "{name}" finished successfully.', file=sys.stderr)
    return 0


def disable(argv: list[str]) -> int:
    p = cli.parser("services disable", "Disable a service for consumption for a project.")
    p.add_argument("service", nargs="+", metavar="SERVICE")
    p.add_argument("--force", action="store_true")
    p.add_argument("--async", dest="async_", action="store_true")
    args = p.parse_args(argv)
    project = config.project(args.project)
    number = _project_number(project)
    data = _enabled()
    data[project] = [s for s in data.get(project, []) if s not in args.service]
    _save(data)
    print(f'Operation "operations/acf.p2-{number}-{uuid.uuid4()}" finished successfully.', file=sys.stderr)
    return 0


def list_(argv: list[str]) -> int:
    from labkit.gcloud import formats

    p = cli.parser("services list", "List services for a project.")
    p.add_argument("--enabled", action="store_true")
    p.add_argument("--available", action="store_true")
    args = p.parse_args(argv)
    project = config.project(args.project)
    _project_number(project)
    names = sorted(TITLES) if args.available else sorted(set(_enabled().get(project, [])) | set(ALWAYS_ENABLED))
    rows = [{"config": {"name": n, "title": TITLES[n]}, "name": f"projects/{project}/services/{n}",
             "state": "ENABLED" if not args.available else "STATE_UNSPECIFIED"} for n in names]
    sys.stdout.write(formats.render(rows, args.format, "table(config.name:label=NAME, config.title:label=TITLE)"))
    return 0
