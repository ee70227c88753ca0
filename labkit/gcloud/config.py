"""`gcloud config set|get|get-value|unset|list`: properties in the gcloud configuration labkit
writes for the local cloud (CLOUDSDK_CONFIG, i.e. LABKIT_HOME/gcloud/configurations/config_default),
the same file the real gcloud reads there. As in gcloud, a CLOUDSDK_SECTION_NAME variable wins
over the file (labkit.start() sets CLOUDSDK_CORE_PROJECT and CLOUDSDK_RUN_REGION to the course's)."""
from __future__ import annotations

import configparser
import os
import sys
from pathlib import Path

from labkit.gcloud.errors import GcloudError

# The properties the course's commands read or set (gcloud knows many more; others are refused
# as gcloud refuses a property that does not exist).
KNOWN = {
    "core": ("project", "account", "disable_usage_reporting", "verbosity", "custom_ca_certs_file"),
    "run": ("region", "platform"),
    "artifacts": ("location", "repository"),
    "compute": ("region", "zone"),
    "auth": ("disable_credentials",),
}
HIDDEN_SECTIONS = ("api_endpoint_overrides", "component_manager")  # labkit's plumbing, not the student's


def folder() -> Path:
    given = os.environ.get("CLOUDSDK_CONFIG")
    if given:
        return Path(given)
    from labkit.config import settings

    return settings().home / "gcloud"


def _file() -> Path:
    base = folder()
    name = os.environ.get("CLOUDSDK_ACTIVE_CONFIG_NAME") or _read(base / "active_config") or "default"
    path = base / "configurations" / f"config_{name}"
    if not path.exists() and "CLOUDSDK_CONFIG" not in os.environ:
        from labkit import env
        from labkit.config import settings

        env.gcloud_files(settings())  # the configuration labkit.start() would have written
    return path


def _read(path: Path) -> str:
    try:
        return path.read_text().strip()
    except OSError:
        return ""


def _load() -> configparser.ConfigParser:
    parser = configparser.ConfigParser(interpolation=None)
    parser.read(_file())
    return parser


def split(name: str) -> tuple[str, str]:
    """'project' -> ('core', 'project'); 'run/region' -> ('run', 'region')."""
    section, _, prop = name.rpartition("/")
    section = section or "core"
    if section not in KNOWN and section not in HIDDEN_SECTIONS:
        raise GcloudError(f"Section [{section}] does not exist.")
    if section in KNOWN and prop not in KNOWN[section]:
        raise GcloudError(f"Section [{section}] has no property [{prop}].")
    return section, prop


def get(name: str) -> str | None:
    """The property's value as gcloud would use it (environment, then the configuration)."""
    section, prop = split(name)
    env = os.environ.get(f"CLOUDSDK_{section.upper()}_{prop.upper()}")
    if env:
        return env
    parser = _load()
    return parser.get(section, prop, fallback=None) or None


def project(flag: str | None = None) -> str:
    value = flag or get("core/project")
    if not value:
        raise GcloudError("The required property [project] is not currently set.\n"
                          "You may set it for your current workspace by running:\n\n"
                          "  $ gcloud config set project VALUE\n\n"
                          "or it can be set temporarily by the environment variable [CLOUDSDK_CORE_PROJECT]")
    return value


def set_(name: str, value: str) -> None:
    section, prop = split(name)
    if section == "core" and prop == "project":
        from labkit.cloud.gcp.project import DEFAULT_PROJECT

        if value != DEFAULT_PROJECT:  # gcloud checks with Resource Manager; the local cloud has one project
            print(f"WARNING: You do not appear to have access to project [{value}] or it does not exist.",
                  file=sys.stderr)
    env_name = f"CLOUDSDK_{section.upper()}_{prop.upper()}"
    if os.environ.get(env_name) and os.environ[env_name] != value:
        print(f"WARNING: Property [{prop}] is overridden by environment setting [{env_name}={os.environ[env_name]}]",
              file=sys.stderr)
    parser = _load()
    if not parser.has_section(section):
        parser.add_section(section)
    parser.set(section, prop, value)
    _write(parser)
    print(f"Updated property [{section}/{prop}].", file=sys.stderr)


def unset(name: str) -> None:
    section, prop = split(name)
    parser = _load()
    if parser.has_section(section):
        parser.remove_option(section, prop)
    _write(parser)
    print(f"Unset property [{section}/{prop}].", file=sys.stderr)


def _write(parser: configparser.ConfigParser) -> None:
    path = _file()
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as f:
        parser.write(f)


def listing() -> dict:
    """{section: {property: value}} as `gcloud config list` shows them (the environment's values win)."""
    parser = _load()
    data: dict = {}
    for section in parser.sections():
        if section in HIDDEN_SECTIONS:
            continue
        for prop, value in parser.items(section):
            data.setdefault(section, {})[prop] = value
    for name, value in os.environ.items():
        parts = name.split("_", 2)
        if len(parts) == 3 and parts[0] == "CLOUDSDK" and value:
            section, prop = parts[1].lower(), parts[2].lower()
            if section in KNOWN and prop in KNOWN[section]:
                data.setdefault(section, {})[prop] = value
    return {section: dict(sorted(props.items())) for section, props in sorted(data.items())}


def run(args: list[str], fmt: str | None) -> int:
    """`config set NAME VALUE`, `config get|get-value NAME`, `config unset NAME`, `config list`."""
    from labkit.gcloud import formats

    if not args:
        raise GcloudError("Command name argument expected.", exit_code=2)
    verb, rest = args[0], args[1:]
    if verb == "set":
        if len(rest) != 2:
            raise GcloudError("argument SECTION/PROPERTY VALUE: Must be specified.", exit_code=2)
        set_(rest[0], rest[1])
        return 0
    if verb in ("get", "get-value"):
        if len(rest) != 1:
            raise GcloudError("argument SECTION/PROPERTY: Must be specified.", exit_code=2)
        value = get(rest[0])
        if value is None:
            print("(unset)", file=sys.stderr)
        else:
            print(value)
        return 0
    if verb == "unset":
        if len(rest) != 1:
            raise GcloudError("argument SECTION/PROPERTY: Must be specified.", exit_code=2)
        unset(rest[0])
        return 0
    if verb == "list":
        data = listing()
        if fmt:
            sys.stdout.write(formats.render(data, fmt, "json", single=True))
        else:
            for section, props in data.items():
                print(f"[{section}]")
                for prop, value in props.items():
                    print(f"{prop} = {value}")
        name = os.environ.get("CLOUDSDK_ACTIVE_CONFIG_NAME") or _read(folder() / "active_config") or "default"
        print(f"\nYour active configuration is: [{name}]", file=sys.stderr)
        return 0
    raise GcloudError(f"Invalid choice: '{verb}'.", exit_code=2)
