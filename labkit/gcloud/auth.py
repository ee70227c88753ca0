"""`gcloud auth configure-docker HOSTS`, `auth print-access-token`, `auth list`. configure-docker
writes what gcloud writes (`"credHelpers": {HOST: "gcloud"}`) into the docker configuration
labkit docker reads (LABKIT_HOME/docker/config.json; gcloud's is ~/.docker/config.json), and
labkit docker then answers as gcloud's credential helper would: its user and the local token."""
from __future__ import annotations

import json
import sys

import argparse

from labkit.gcloud import cli
from labkit.gcloud.errors import GcloudError

AR_SUFFIX = "-docker.pkg.dev"
OTHER_GOOGLE_HOSTS = ("gcr.io", "us.gcr.io", "eu.gcr.io", "asia.gcr.io", "marketplace.gcr.io")


def configure_docker(argv: list[str]) -> int:
    p = cli.parser("auth configure-docker", "Register gcloud as a Docker credential helper.")
    p.add_argument("registries", nargs="?", metavar="REGISTRIES")
    p.add_argument("--include-artifact-registry", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    from labkit.docker import auth as docker_auth
    from labkit.docker.store import _atomic_write

    hosts = [h.strip() for h in (args.registries or ",".join(OTHER_GOOGLE_HOSTS)).split(",") if h.strip()]
    for host in hosts:
        if not (host.endswith(AR_SUFFIX) or host in OTHER_GOOGLE_HOSTS):
            raise GcloudError(f"Invalid repository: {host}. Please use a valid Artifact Registry or "
                              "Container Registry hostname.")
    path = docker_auth.config_path()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        data = {}
    helpers = data.get("credHelpers", {})
    print(f"Adding credentials for: {', '.join(hosts)}", file=sys.stderr)
    if all(helpers.get(h) == "gcloud" for h in hosts):
        print("gcloud credential helpers already registered correctly.", file=sys.stderr)
        return 0
    helpers.update({h: "gcloud" for h in hosts})
    data["credHelpers"] = helpers
    text = json.dumps(data, indent=2)
    print(f"After update, the following will be written to your Docker config file located \nat [{path}]:\n"
          f" {text}\n", file=sys.stderr)
    if not args.quiet:
        print("Do you want to continue (Y/n)?  ", file=sys.stderr)  # not a terminal: gcloud takes the default, Y
    path.parent.mkdir(parents=True, exist_ok=True)
    _atomic_write(path, (text + "\n").encode())
    print("Docker configuration file updated.", file=sys.stderr)
    return 0


def print_access_token(argv: list[str]) -> int:
    cli.parser("auth print-access-token", "Print an access token for the active account.").parse_args(argv)
    from labkit.cloud.gcp.project import ACCESS_TOKEN

    print(ACCESS_TOKEN)  # the local cloud's one token (never a real one)
    return 0


def list_(argv: list[str]) -> int:
    cli.parser("auth list", "Lists credentialed accounts.").parse_args(argv)
    print("No credentialed accounts.\n\nTo login, run:\n  $ gcloud auth login `ACCOUNT`\n", file=sys.stderr)
    from labkit.messages import text

    print(text("gcloud.note.no_login"), file=sys.stderr)
    return 0
