"""`RUN pip install` without a network: requirements installed from the course's environment.

labkit has no container engine and the course may have no network, so a `pip install` in a
Dockerfile is resolved against the distributions of the running interpreter (importlib.metadata):
each requirement, and its dependencies through Requires-Dist (markers evaluated for the image's
Python), is found there and its files (the ones its RECORD lists under site-packages, without
byte-code) are copied into the layer under the image's site-packages with their dist-info, with
byte-code for each module as pip compiles it at install (bytecode.py); console scripts are written
to the image's bin folder as pip writes them. The output reads like pip's.

Where it differs from pip (docs/fidelity.md):
- only what the course's environment has can be installed; a requirement it lacks fails as pip
  fails with no network ("No matching distribution found");
- a version the environment does not have (`flask==3.0.0` when the course has 3.1.3) installs the
  course's version, with a warning line saying so (pip with no network would fail);
- compiled extensions and byte-code are the course Python's (e.g. cpython-311), which is the Python
  that runs in a container built on a stand-in base (pip would write the image Python's .pyc).
"""
from __future__ import annotations

import base64
import functools
import hashlib
import os
import posixpath
import re
import sys
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

from packaging.markers import InvalidMarker, UndefinedComparison, UndefinedEnvironmentName
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from labkit.docker import bytecode
from labkit.docker.layers import Node, clean, fixed_mtime

COURSE_NOTE = "labkit: no network: installed from the course's environment ({path})"
# Skipped when copying: written fresh for the image (RECORD, INSTALLER) or tied to the course's
# machine (direct_url.json points at a local path).
INSTALL_SPECIFIC = {"RECORD", "INSTALLER", "REQUESTED", "direct_url.json"}
# What a Python base image already has: pip answers "Requirement already satisfied".
BASE_PROVIDED = {"pip"}
MACHINES = {"amd64": "x86_64", "arm64": "aarch64", "386": "i686", "arm": "armv7l"}


class NotAvailable(Exception):
    """A requirement pip could not install here; `log` is what pip prints."""

    def __init__(self, requirement: str, log: list[str], hint: tuple[str, dict]):
        super().__init__(requirement)
        self.requirement, self.log, self.hint = requirement, log, hint


@dataclass
class Chosen:
    dist: metadata.Distribution
    name: str                      # as its METADATA spells it: "Flask"
    version: str
    extras: set[str] = field(default_factory=set)
    requested: bool = False        # named on the command line / in a requirements file
    text: str = ""                 # the requirement it was collected for: "flask==3.0.0"
    deps: list[str] = field(default_factory=list)   # canonical names


@dataclass
class Installation:
    log: list[str]                          # pip's output
    substituted: list[tuple[str, str, str]]  # (requirement, name, version installed instead)
    entries: list[tuple[str, Node]]         # files for the layer (paths relative to the image root)
    installed: list[tuple[str, str]]        # (name, version), in install order


@functools.lru_cache(maxsize=4)
def _course_index(path_key: tuple[str, ...]) -> dict[str, metadata.Distribution]:
    """canonical name -> the first distribution of that name on sys.path (as import would find it)
    that has a RECORD (an installed wheel, so its files are known)."""
    index: dict[str, metadata.Distribution] = {}
    for dist in metadata.distributions(path=list(path_key)):
        key = _quick_name(dist)
        if key is None:
            name = dist.metadata.get("Name") if dist.metadata else None
            if not name:
                continue
            key = canonicalize_name(name)
        if key not in index and _has_record(dist):
            index[key] = dist
    return index


def _quick_name(dist: metadata.Distribution) -> str | None:
    """The canonical name from the dist-info folder's name, without parsing METADATA (half of a
    build's time went to reading every distribution of the course's environment)."""
    folder = getattr(dist, "_path", None)
    if folder is None or not str(folder).endswith(".dist-info"):
        return None
    stem = Path(str(folder)).name[: -len(".dist-info")]
    name = stem.split("-", 1)[0]
    return canonicalize_name(name) if name and "-" in stem else None


def _has_record(dist: metadata.Distribution) -> bool:
    folder = getattr(dist, "_path", None)
    if folder is not None:
        return (Path(str(folder)) / "RECORD").is_file()
    return dist.read_text("RECORD") is not None


def course_distributions() -> dict[str, metadata.Distribution]:
    return _course_index(tuple(sys.path))


def course_location() -> str:
    """Where the course's packages are (for the build's note): the first site-packages on sys.path."""
    for entry in sys.path:
        if entry.endswith("site-packages"):
            return entry
    return sys.prefix


def marker_environment(python_version: str, architecture: str) -> dict[str, str]:
    """PEP 508 marker values for the image's Python (Linux, CPython)."""
    parts = (python_version.split(".") + ["0", "0"])[:3]
    return {
        "python_version": ".".join(parts[:2]), "python_full_version": ".".join(parts),
        "implementation_name": "cpython", "implementation_version": ".".join(parts),
        "platform_python_implementation": "CPython", "os_name": "posix", "sys_platform": "linux",
        "platform_system": "Linux", "platform_machine": MACHINES.get(architecture, architecture),
        "platform_release": "", "platform_version": "", "extra": "",
    }


def _applies(req: Requirement, env: dict[str, str], extras: set[str]) -> bool:
    if req.marker is None:
        return True
    try:
        return any(req.marker.evaluate({**env, "extra": extra}) for extra in sorted(extras | {""}))
    except (InvalidMarker, UndefinedComparison, UndefinedEnvironmentName):
        return False


def installed_in_image(fs: dict[str, Node], site: str) -> dict[str, tuple[str, str]]:
    """canonical name -> (name, version) of the distributions already in the image's site-packages."""
    prefix = clean(site) + "/"
    found: dict[str, tuple[str, str]] = {}
    for path, node in fs.items():
        if node.kind != "file" or not path.startswith(prefix) or not path.endswith(".dist-info/METADATA"):
            continue
        if path.count("/") != prefix.count("/") + 1:
            continue
        text = node.data.decode("utf-8", errors="replace")
        name = re.search(r"^Name:\s*(.+)$", text, re.M)
        version = re.search(r"^Version:\s*(.+)$", text, re.M)
        if name and version:
            found[canonicalize_name(name.group(1).strip())] = (name.group(1).strip(), version.group(1).strip())
    return found


def install(requirements: list[str], *, fs: dict[str, Node], site: str, python_version: str,
            architecture: str = "amd64") -> Installation:
    """Resolve `requirements` (pip's requirement strings, in order) against the course's
    environment and return the files to add to the layer. Raises NotAvailable."""
    env = marker_environment(python_version, architecture)
    course = course_distributions()
    present = installed_in_image(fs, site)
    log: list[str] = []
    substituted: list[tuple[str, str, str]] = []
    chosen: dict[str, Chosen] = {}
    order: list[str] = []   # canonical names in the order they were collected
    queue: list[tuple[str, str | None]] = [(text, None) for text in requirements]

    while queue:
        text, parent = queue.pop(0)
        try:
            req = Requirement(text)
        except InvalidRequirement:
            raise NotAvailable(text, [f"ERROR: Invalid requirement: '{text}'"],
                               ("docker.hint.pip_invalid_requirement", {"name": text}))
        key = canonicalize_name(req.name)
        if not _applies(req, env, set()):
            if parent is None:
                log.append(f"Ignoring {req.name}: markers '{req.marker}' don't match your environment")
            continue
        if key in chosen:
            item = chosen[key]
            item.requested = item.requested or parent is None
            new_extras = set(req.extras) - item.extras
            if new_extras:
                item.extras |= new_extras
                queue.extend(_dependencies(item, env, new_extras, chosen))
            continue
        if key in present and req.specifier.contains(present[key][1], prereleases=True):
            log.append(f"Requirement already satisfied: {req.name} in {site} ({present[key][1]})"
                       + (f" (from {parent})" if parent else ""))
            continue
        if key in BASE_PROVIDED and key not in present:
            log.append(f"Requirement already satisfied: {req.name} in {site}")
            continue
        log.append(f"Collecting {text}" + (f" (from {parent})" if parent else ""))
        dist = course.get(key)
        if dist is None:
            raise NotAvailable(req.name, log + [
                f"ERROR: Could not find a version that satisfies the requirement {text} (from versions: none)",
                f"ERROR: No matching distribution found for {text}"],
                ("docker.hint.pip_not_in_course", {"name": req.name}))
        item = Chosen(dist, dist.metadata["Name"], dist.version, set(req.extras), parent is None, text=text)
        log.append(f"  Using {item.name}-{item.version} from the course's environment (no network)")
        if not req.specifier.contains(item.version, prereleases=True):
            line = (f"labkit: warning: {text} is not in the course's environment (no network); "
                    f"installing {item.name} {item.version}, the version it has")
            log.append(line)
            substituted.append((text, item.name, item.version))
        chosen[key] = item
        order.append(key)
        queue.extend(_dependencies(item, env, item.extras | {""}, chosen))

    if not chosen:
        return Installation(log, substituted, [], [])
    install_order = _install_order(chosen, order)
    names = [chosen[k].name for k in install_order]
    log.append("Installing collected packages: " + ", ".join(names))
    entries: list[tuple[str, Node]] = []
    for key in install_order:
        entries.extend(_files(chosen[key], site))
    done = sorted((f"{chosen[k].name}-{chosen[k].version}" for k in install_order), key=str.lower)
    log.append("Successfully installed " + " ".join(done))
    log.append(COURSE_NOTE.format(path=course_location()))
    return Installation(log, substituted, entries, [(chosen[k].name, chosen[k].version) for k in install_order])


def _dependencies(item: Chosen, env: dict[str, str], extras: set[str], chosen: dict[str, Chosen]):
    """(requirement, parent) pairs for item's Requires-Dist that apply to `extras`."""
    out = []
    parent = item.text
    for text in item.dist.requires or []:
        try:
            req = Requirement(text)
        except InvalidRequirement:
            continue
        if req.marker is None:
            if "" not in extras:
                continue  # an unconditional dependency was queued with the distribution itself
        elif not any(_marker_true(req, env, extra) for extra in extras):
            continue
        dep = canonicalize_name(req.name)
        if dep not in item.deps:
            item.deps.append(dep)
        plain = str(req).split(";")[0].strip()
        out.append((plain, parent))
    return out


def _marker_true(req: Requirement, env: dict[str, str], extra: str) -> bool:
    try:
        return req.marker.evaluate({**env, "extra": extra})
    except (InvalidMarker, UndefinedComparison, UndefinedEnvironmentName):
        return False


def _install_order(chosen: dict[str, Chosen], order: list[str]) -> list[str]:
    """Dependencies before the packages that need them (as pip installs), ties in collection order."""
    out: list[str] = []
    seen: set[str] = set()

    def visit(key: str) -> None:
        if key in seen or key not in chosen:
            return
        seen.add(key)
        for dep in chosen[key].deps:
            visit(dep)
        out.append(key)

    for key in order:
        visit(key)
    return out


def _record_hash(data: bytes) -> str:
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def _files(item: Chosen, site: str) -> list[tuple[str, Node]]:
    """The distribution's files under the image's site-packages, a fresh RECORD, INSTALLER and
    REQUESTED (for a requested one), and its console scripts in the image's bin folder."""
    base = Path(str(item.dist.locate_file("")))
    site = clean(site)
    bin_dir = clean(site.split("/lib/")[0] + "/bin") if "/lib/" in site else "usr/local/bin"
    entries: list[tuple[str, Node]] = []
    record_lines: list[str] = []
    dist_info = None
    mtime = fixed_mtime()  # every file of the layer has it (layers.py), so the .pyc are valid
    for line in (item.dist.read_text("RECORD") or "").splitlines():
        relative = line.split(",", 1)[0].strip().strip('"')
        if not relative or relative.startswith("/") or relative.startswith("..") or "\\" in relative:
            continue  # scripts and data outside site-packages: scripts are written below
        if "__pycache__/" in relative or relative.endswith((".pyc", ".pyo")):
            continue
        top, _, rest = relative.partition("/")
        if top.endswith(".dist-info"):
            dist_info = top
            if rest in INSTALL_SPECIFIC:
                continue
        source = base / relative
        try:
            data = source.read_bytes()
            mode = 0o755 if os.stat(source).st_mode & 0o111 else 0o644
        except OSError:
            continue
        entries.append((f"{site}/{relative}", Node("file", mode, data)))
        record_lines.append(f"{relative},{_record_hash(data)},{len(data)}")
        pyc_name = bytecode.cache_name(relative) if not top.endswith(".dist-info") else None
        if pyc_name is not None:
            pyc = bytecode.for_layer(source, data, f"/{site}/{relative}", mtime)
            if pyc is not None:
                entries.append((f"{site}/{pyc_name}", Node("file", 0o644, pyc)))
                record_lines.append(f"{pyc_name},,")  # as pip records what it compiled
    if dist_info is None:
        dist_info = f"{canonicalize_name(item.name).replace('-', '_')}-{item.version}.dist-info"
    relative_bin = posixpath.relpath(bin_dir, site)
    for script, data in _console_scripts(item, "/" + bin_dir + "/python"):
        entries.append((f"{bin_dir}/{script}", Node("file", 0o755, data)))
        record_lines.append(f"{relative_bin}/{script},{_record_hash(data)},{len(data)}")
    extra = {"INSTALLER": b"labkit\n"}
    if item.requested:
        extra["REQUESTED"] = b""
    for name, data in extra.items():
        entries.append((f"{site}/{dist_info}/{name}", Node("file", 0o644, data)))
        record_lines.append(f"{dist_info}/{name},{_record_hash(data)},{len(data)}")
    record_lines.append(f"{dist_info}/RECORD,,")
    record = ("\n".join(sorted(record_lines)) + "\n").encode()
    entries.append((f"{site}/{dist_info}/RECORD", Node("file", 0o644, record)))
    return entries


SCRIPT = """#!{python}
# -*- coding: utf-8 -*-
import re
import sys
from {module} import {attr}
if __name__ == "__main__":
    sys.argv[0] = re.sub(r"(-script\\.pyw|\\.exe)?$", "", sys.argv[0])
    sys.exit({call}())
"""


def _console_scripts(item: Chosen, python: str) -> list[tuple[str, bytes]]:
    out = []
    for entry in sorted(item.dist.entry_points, key=lambda e: e.name):
        if entry.group != "console_scripts" or not re.fullmatch(r"[A-Za-z0-9._-]+", entry.name):
            continue
        module, _, attr = entry.value.partition(":")
        attr = attr.split("[")[0].strip()
        if not module.strip() or not attr:
            continue
        top = attr.split(".")[0]
        out.append((entry.name, SCRIPT.format(python=python, module=module.strip(), attr=top, call=attr).encode()))
    return out
