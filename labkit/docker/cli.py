"""`labkit docker ...`: the docker commands the course uses, without a Docker engine.

    labkit docker build -t my-app .
    labkit docker tag my-app:latest 123456789012.dkr.ecr.ap-northeast-2.amazonaws.com/my-app:v1.0
    aws ecr get-login-password --region ap-northeast-2 | \\
        labkit docker login --username AWS --password-stdin 123456789012.dkr.ecr.ap-northeast-2.amazonaws.com
    labkit docker push 123456789012.dkr.ecr.ap-northeast-2.amazonaws.com/my-app:v1.0
    labkit docker pull 123456789012.dkr.ecr.ap-northeast-2.amazonaws.com/my-app:v1.0
    labkit docker images
    labkit docker inspect my-app
    labkit docker rmi my-app
    labkit docker logout 123456789012.dkr.ecr.ap-northeast-2.amazonaws.com

Output and exit codes follow docker's; after an error, a hint in the notebook's language says
what to do next. Registries: only the local cloud (ECR and Artifact Registry names) and
127.0.0.1; nothing leaves this machine.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from datetime import datetime, timezone

from labkit.docker.errors import DockerError

NO_ENGINE_COMMANDS = ("run", "ps", "exec", "start", "stop", "restart", "kill", "logs", "rm", "create", "attach",
                      "compose", "container", "cp", "top", "stats", "commit", "export", "save", "load",
                      "network", "volume", "system", "buildx", "context", "swarm", "service", "stack")

COMMANDS_HELP = """Usage:  labkit docker COMMAND

The docker commands this course uses, without a Docker engine (nothing leaves 127.0.0.1).

Commands:
  build       Build an image from a Dockerfile
  images      List images
  inspect     Return low-level information on images
  login       Log in to a registry (the local cloud's ECR or Artifact Registry)
  logout      Log out from a registry
  pull        Download an image from a registry
  push        Upload an image to a registry
  rmi         Remove one or more images
  tag         Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE
  history     Show the history of an image
  image       Manage images (ls, rm, inspect, tag, push, pull, build, history, prune)
  version     Show the labkit docker version information
"""


class UsageError(DockerError):
    exit_code = 125


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # docker: "unknown flag: --x\nSee 'docker build --help'."
        m = re.search(r"unrecognized arguments: (\S+)", message)
        if m:
            message = f"unknown flag: {m.group(1)}" if m.group(1).startswith("-") else message
        raise UsageError(f"{message}\nSee '{self.prog} --help'.")


def _parser(name: str, usage: str, description: str) -> _Parser:
    return _Parser(prog=f"labkit docker {name}", usage=f"labkit docker {name} {usage}", description=description,
                   add_help=True)


def _exactly(args: list, n: int, name: str, usage: str, description: str, at_least: bool = False) -> None:
    if (len(args) < n) if at_least else (len(args) != n):
        what = f"at least {n} argument{'s' if n > 1 else ''}" if at_least else f"exactly {n} argument{'s' if n > 1 else ''}"
        raise DockerError(f'"labkit docker {name}" requires {what}.\nSee \'labkit docker {name} --help\'.\n\n'
                          f"Usage:  labkit docker {name} {usage}\n\n{description}")


def _print_error(exc: DockerError, prefix: str = "") -> int:
    print(f"{prefix}{exc.message}", file=sys.stderr)
    _print_hint(exc)
    return exc.exit_code


def _print_hint(exc: DockerError) -> None:
    hint = exc.hint_text()
    if hint:
        from labkit.messages import text

        print(f"{text('docker.hint.label')}: {hint}", file=sys.stderr)


# -- build ------------------------------------------------------------------------------------

def cmd_build(argv: list[str]) -> int:
    from labkit.docker.build import BuildError, build, dockerfile_excerpt

    usage, description = "[OPTIONS] PATH", "Build an image from a Dockerfile"
    p = _parser("build", usage, description)
    p.add_argument("-t", "--tag", action="append", default=[], help="Name and optionally a tag (format: name:tag)")
    p.add_argument("-f", "--file", help="Name of the Dockerfile (default: PATH/Dockerfile)")
    p.add_argument("--build-arg", action="append", default=[], help="Set build-time variables")
    p.add_argument("--label", action="append", default=[], help="Set metadata for an image")
    p.add_argument("--target", help="Set the target build stage to build")
    p.add_argument("--platform", help="Set target platform for build (linux/amd64, linux/arm64)")
    p.add_argument("-q", "--quiet", action="store_true", help="Suppress the build output and print image ID on success")
    p.add_argument("--no-cache", action="store_true", help="Do not use cache when building the image")
    p.add_argument("--iidfile", help="Write the image ID to a file")
    p.add_argument("--push", action="store_true", help="Push the image after the build (buildx)")
    for flag in ("--pull", "--load", "--rm", "--force-rm"):
        p.add_argument(flag, action="store_true", help=argparse.SUPPRESS)
    for flag in ("--progress", "--network", "--cache-from", "--cache-to", "--output", "-o", "--secret", "--ssh"):
        p.add_argument(flag, action="append", help=argparse.SUPPRESS)
    args, rest = p.parse_known_args(argv)
    unknown = [a for a in rest if a.startswith("-")]
    if unknown:
        p.error(f"unrecognized arguments: {unknown[0]}")
    if len(rest) != 1:
        return _print_error(DockerError(f'ERROR: "labkit docker build" requires exactly 1 argument.\n'
                                        f"See 'labkit docker build --help'.\n\nUsage:  labkit docker build {usage}\n\n"
                                        f"{description}", hint=("docker.hint.build_path", {})))
    context = rest[0]
    if context == "-" or re.match(r"^(https?|git)://|^git@", context):
        return _print_error(DockerError(f"ERROR: labkit docker builds from a local folder only, not {context}"))
    build_args = {}
    for item in args.build_arg:
        key, eq, value = item.partition("=")
        build_args[key] = value if eq else os.environ.get(key, "")
    labels = dict(item.partition("=")[::2] for item in args.label)
    progress = None if args.quiet else sys.stderr
    try:
        result = build(context, args.tag, dockerfile=args.file, build_args=build_args, target=args.target,
                       platform=args.platform, labels=labels, no_cache=args.no_cache, out=progress)
    except BuildError as exc:
        if exc.step:
            print("------", file=sys.stderr)
            print(f" > {exc.step}:", file=sys.stderr)
            for line in exc.log:
                print(line, file=sys.stderr)
            print("------", file=sys.stderr)
        if exc.line:
            from pathlib import Path

            dockerfile = Path(args.file) if args.file else Path(context) / "Dockerfile"
            try:
                lines = dockerfile.read_text(encoding="utf-8").replace("\r\n", "\n").split("\n")
                print(dockerfile_excerpt(lines, exc.line, dockerfile.name), file=sys.stderr)
            except OSError:
                pass
        return _print_error(exc, prefix="ERROR: failed to solve: ")
    except DockerError as exc:
        return _print_error(exc)
    if args.quiet:
        print(result.id)
    if args.iidfile:
        with open(args.iidfile, "w") as f:
            f.write(result.id)
    _print_notes(result.notes)
    if args.push:
        for tag in result.tags:
            code = cmd_push([tag])
            if code:
                return code
    return 0


def _print_notes(notes: list) -> None:
    from labkit.messages import text

    seen = set()
    for key, params in notes:
        if key in seen:
            continue
        seen.add(key)
        print(f"{text('docker.note.label')}: {text(key, **params)}", file=sys.stderr)


# -- tag, rmi, images, inspect, history ---------------------------------------------------------

def _store():
    from labkit.docker.store import ImageStore

    return ImageStore()


def cmd_tag(argv: list[str]) -> int:
    usage, description = "SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]", "Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE"
    p = _parser("tag", usage, description)
    p.add_argument("args", nargs="*")
    args = p.parse_args(argv)
    try:
        _exactly(args.args, 2, "tag", usage, description)
        from labkit.docker import reference

        reference.parse(args.args[1])
        _store().tag(args.args[0], args.args[1])
    except DockerError as exc:
        from labkit.docker.store import ImageNotFound

        prefix = "Error response from daemon: " if isinstance(exc, ImageNotFound) else ""
        if isinstance(exc, ImageNotFound):
            exc.hint = ("docker.hint.no_such_image", {"ref": exc.ref})
        return _print_error(exc, prefix)
    return 0


def cmd_rmi(argv: list[str]) -> int:
    usage, description = "[OPTIONS] IMAGE [IMAGE...]", "Remove one or more images"
    p = _parser("rmi", usage, description)
    p.add_argument("-f", "--force", action="store_true", help="Force removal of the image")
    p.add_argument("--no-prune", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("images", nargs="*")
    args = p.parse_args(argv)
    try:
        _exactly(args.images, 1, "rmi", usage, description, at_least=True)
    except DockerError as exc:
        return _print_error(exc)
    store, code = _store(), 0
    for ref in args.images:
        try:
            for line in store.remove(ref, force=args.force):
                print(line)
        except DockerError as exc:
            from labkit.docker.store import ImageNotFound

            code = _print_error(exc, "Error response from daemon: " if isinstance(exc, ImageNotFound) else "")
    return code


def _human_size(size: float) -> str:
    """go-units HumanSizeWithPrecision(size, 3): 12.3kB, 150MB."""
    units = ["B", "kB", "MB", "GB", "TB", "PB"]
    i = 0
    while size >= 1000 and i < len(units) - 1:
        size /= 1000.0
        i += 1
    return f"{size:.3g}{units[i]}"


def _human_duration(seconds: float) -> str:
    """go-units HumanDuration, as docker's CREATED column shows it (without " ago")."""
    s = int(seconds)
    if s < 1:
        return "Less than a second"
    if s == 1:
        return "1 second"
    if s < 60:
        return f"{s} seconds"
    minutes = int(seconds / 60)
    if minutes == 1:
        return "About a minute"
    if minutes < 60:
        return f"{minutes} minutes"
    hours = int(round(seconds / 3600))
    if hours == 1:
        return "About an hour"
    if hours < 48:
        return f"{hours} hours"
    if hours < 24 * 7 * 2:
        return f"{hours // 24} days"
    if hours < 24 * 30 * 2:
        return f"{hours // 24 // 7} weeks"
    if hours < 24 * 365 * 2:
        return f"{hours // 24 // 30} months"
    return f"{int(seconds / 3600) // 24 // 365} years"


def _table(rows: list[list[str]]) -> str:
    """Go's tabwriter as docker uses it: minwidth 10, padding 3; the last column is not padded."""
    if not rows:
        return ""
    ncols = len(rows[0])
    widths = [max(max(len(r[i]) for r in rows) + 3, 10) for i in range(ncols - 1)]
    lines = []
    for r in rows:
        lines.append("".join(r[i].ljust(widths[i]) for i in range(ncols - 1)) + r[-1])
    return "\n".join(lines)


def _render(template: str, obj) -> str:
    """A small part of Go templates, as `--format` uses it: {{.A.B}}, {{json .A}}, {{.A}} with
    Go's printing of lists and maps; \\t and \\n escapes."""
    template = template.replace("\\t", "\t").replace("\\n", "\n")

    def lookup(path: str):
        value = obj
        for part in [p for p in path.strip().lstrip(".").split(".") if p]:
            if isinstance(value, dict):
                value = value.get(part)
            else:
                return None
        return value

    def go(value) -> str:
        if value is None:
            return "<no value>"
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, list):
            return "[" + " ".join(go(v) for v in value) + "]"
        if isinstance(value, dict):
            return "map[" + " ".join(f"{k}:{go(v) if v != {} else '{}'}" for k, v in sorted(value.items())) + "]"
        return str(value)

    def replace(m: re.Match) -> str:
        expr = m.group(1).strip()
        if expr.startswith("json "):
            return json.dumps(lookup(expr[5:]), separators=(",", ":"))
        if expr == ".":
            return go(obj)
        if expr.startswith("."):
            return go(lookup(expr))
        raise DockerError(f"template parsing error: function \"{expr.split()[0]}\" not defined")

    return re.sub(r"\{\{\s*(.*?)\s*\}\}", replace, template)


def cmd_images(argv: list[str]) -> int:
    usage, description = "[OPTIONS] [REPOSITORY[:TAG]]", "List images"
    p = _parser("images", usage, description)
    p.add_argument("-q", "--quiet", action="store_true", help="Only show image IDs")
    p.add_argument("-a", "--all", action="store_true", help="Show all images")
    p.add_argument("--digests", action="store_true", help="Show digests")
    p.add_argument("--no-trunc", action="store_true", help="Don't truncate output")
    p.add_argument("--format", help="Format output using a Go template (e.g. '{{.Repository}}:{{.Tag}}')")
    p.add_argument("-f", "--filter", action="append", default=[], help="Filter output (dangling=true, reference=...)")
    p.add_argument("repository", nargs="?")
    args = p.parse_args(argv)
    from labkit.docker import reference as references

    now = time.time()
    rows = []
    for image in _store().list():
        entries = [(t.rsplit(":", 1)[0], t.rsplit(":", 1)[1]) for t in image.repo_tags] or [("<none>", "<none>")]
        for repo, tag in entries:
            digest = "<none>"
            for rd in image.repo_digests:
                if rd.split("@", 1)[0] == repo:
                    digest = rd.split("@", 1)[1]
            rows.append({
                "Repository": repo, "Tag": tag, "Digest": digest,
                "ID": image.id if args.no_trunc else image.short_id,
                "CreatedSince": _human_duration(now - image.created_local) + " ago",
                "CreatedAt": datetime.fromtimestamp(image.created_local, tz=timezone.utc).strftime("%Y-%m-%d %H:%M:%S +0000 UTC"),
                "Size": _human_size(image.size),
            })
    if args.repository:
        want = references.parse(args.repository, default_tag=False)
        rows = [r for r in rows if r["Repository"] != "<none>"
                and references.parse(r["Repository"], default_tag=False).name == want.name
                and (want.tag is None or r["Tag"] == want.tag)]
    for f in args.filter:
        key, _, value = f.partition("=")
        if key == "dangling":
            rows = [r for r in rows if (r["Tag"] == "<none>") == (value.lower() == "true")]
        elif key == "reference":
            import fnmatch

            rows = [r for r in rows if fnmatch.fnmatch(r["Repository"], value) or
                    fnmatch.fnmatch(f"{r['Repository']}:{r['Tag']}", value)]
        else:
            return _print_error(DockerError(f"Error response from daemon: invalid filter '{key}'"))
    if args.quiet:
        seen = []
        for r in rows:
            if r["ID"] not in seen:
                seen.append(r["ID"])
        for image_id in seen:
            print(image_id)
        return 0
    if args.format:
        fmt = args.format
        if fmt.startswith("table"):
            fmt = fmt[5:].strip()
            header = _render(fmt, {k: k.upper() for k in rows[0]} if rows else {
                k: k.upper() for k in ("Repository", "Tag", "ID", "CreatedSince", "Size", "Digest")})
            cells = [header.split("\t")] + [_render(fmt, r).split("\t") for r in rows]
            print(_table(cells))
        elif fmt == "json" or fmt == "{{json .}}":
            for r in rows:
                print(json.dumps(r, separators=(",", ":")))
        else:
            for r in rows:
                print(_render(fmt, r))
        return 0
    header = ["REPOSITORY", "TAG", *(["DIGEST"] if args.digests else []), "IMAGE ID", "CREATED", "SIZE"]
    table = [header] + [[r["Repository"], r["Tag"], *([r["Digest"]] if args.digests else []), r["ID"],
                         r["CreatedSince"], r["Size"]] for r in rows]
    print(_table(table))
    return 0


def inspect_document(image) -> dict:
    """What `docker image inspect` shows for a stored image."""
    config = image.config.get("config") or {}
    history = image.config.get("history") or []
    full_config = {
        "Hostname": "", "Domainname": "", "User": config.get("User", ""),
        "AttachStdin": False, "AttachStdout": False, "AttachStderr": False,
    }
    if config.get("ExposedPorts"):
        full_config["ExposedPorts"] = config["ExposedPorts"]
    full_config.update({
        "Tty": False, "OpenStdin": False, "StdinOnce": False,
        "Env": config.get("Env"), "Cmd": config.get("Cmd"),
    })
    if config.get("Healthcheck"):
        full_config["Healthcheck"] = config["Healthcheck"]
    if config.get("ArgsEscaped"):
        full_config["ArgsEscaped"] = True
    full_config.update({
        "Image": "", "Volumes": config.get("Volumes"), "WorkingDir": config.get("WorkingDir", ""),
        "Entrypoint": config.get("Entrypoint"), "OnBuild": config.get("OnBuild"), "Labels": config.get("Labels"),
    })
    if config.get("StopSignal"):
        full_config["StopSignal"] = config["StopSignal"]
    if config.get("Shell"):
        full_config["Shell"] = config["Shell"]
    return {
        "Id": image.id,
        "RepoTags": image.repo_tags,
        "RepoDigests": image.repo_digests,
        "Parent": "",
        "Comment": history[-1].get("comment", "") if history else "",
        "Created": image.config.get("created", ""),
        "DockerVersion": "",
        "Author": image.config.get("author", ""),
        "Config": full_config,
        "Architecture": image.config.get("architecture", ""),
        **({"Variant": image.config["variant"]} if image.config.get("variant") else {}),
        "Os": image.config.get("os", ""),
        "Size": image.size,
        "GraphDriver": {"Data": None, "Name": "labkit"},
        "RootFS": {"Type": "layers", "Layers": (image.config.get("rootfs") or {}).get("diff_ids", [])},
        "Metadata": {"LastTagTime": datetime.fromtimestamp(image.created_local, tz=timezone.utc)
                     .strftime("%Y-%m-%dT%H:%M:%S.%fZ")},
        "Descriptor": {"mediaType": image.media_type, "digest": image.digest, "size": len(image.manifest_bytes)},
    }


def cmd_inspect(argv: list[str], kind: str = "object") -> int:
    usage, description = "[OPTIONS] IMAGE [IMAGE...]", "Return low-level information on images"
    name = "inspect" if kind == "object" else "image inspect"
    p = _parser(name, usage, description)
    p.add_argument("-f", "--format", help="Format output using a Go template (e.g. '{{.Config.Cmd}}')")
    p.add_argument("--type", help="Only 'image' is known here")
    p.add_argument("-s", "--size", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("images", nargs="*")
    args = p.parse_args(argv)
    try:
        _exactly(args.images, 1, name, usage, description, at_least=True)
    except DockerError as exc:
        return _print_error(exc)
    if args.type and args.type != "image":
        return _print_error(DockerError(f'"{args.type}" is not a valid value for --type',
                                        hint=("docker.hint.no_engine", {"command": f"inspect --type {args.type}"})))
    store = _store()
    found, missing = [], []
    for ref in args.images:
        try:
            found.append(inspect_document(store.get(ref)))
        except DockerError:
            missing.append(ref)
    if args.format:
        try:
            for doc in found:
                print(_render(args.format, doc))
        except DockerError as exc:
            return _print_error(exc)
    else:
        print(json.dumps(found, indent=4, ensure_ascii=False) if found else "[]")
    if missing:
        noun = "object" if kind == "object" and args.type != "image" else "image"
        for ref in missing:
            print(f"Error: No such {noun}: {ref}", file=sys.stderr)
        from labkit.messages import text

        print(f"{text('docker.hint.label')}: {text('docker.hint.no_such_image', ref=missing[0])}", file=sys.stderr)
        return 1
    return 0


def cmd_history(argv: list[str]) -> int:
    usage, description = "[OPTIONS] IMAGE", "Show the history of an image"
    p = _parser("history", usage, description)
    p.add_argument("--no-trunc", action="store_true", help="Don't truncate output")
    p.add_argument("-q", "--quiet", action="store_true", help="Only show image IDs")
    p.add_argument("images", nargs="*")
    args = p.parse_args(argv)
    try:
        _exactly(args.images, 1, "history", usage, description)
        image = _store().get(args.images[0])
    except DockerError as exc:
        return _print_error(exc, "Error response from daemon: " if "No such image" in exc.message else "")
    from labkit.docker.layers import read_layer

    sizes = []
    for digest in image.layer_digests:
        entries = read_layer(image.layer(digest))
        sizes.append(sum(len(n.data) for n in entries.values() if n.kind == "file"))
    rows = [["IMAGE", "CREATED", "CREATED BY", "SIZE", "COMMENT"]]
    layer_index = len(sizes) - 1
    history = list(image.config.get("history") or [])
    now = time.time()
    for i, entry in enumerate(reversed(history)):
        size = 0
        if not entry.get("empty_layer"):
            size = sizes[layer_index] if layer_index >= 0 else 0
            layer_index -= 1
        created_by = entry.get("created_by", "")
        if not args.no_trunc and len(created_by) > 45:
            created_by = created_by[:44] + "…"
        created = entry.get("created", "")
        try:
            when = datetime.strptime(created[:19], "%Y-%m-%dT%H:%M:%S").replace(tzinfo=timezone.utc).timestamp()
            created = _human_duration(now - when) + " ago"
        except ValueError:
            pass
        image_id = (image.id if args.no_trunc else image.short_id) if i == 0 else "<missing>"
        rows.append([image_id, created, created_by, _human_size(size), entry.get("comment", "")])
    if args.quiet:
        for r in rows[1:]:
            print(r[0])
        return 0
    print(_table(rows))
    return 0


def cmd_prune(argv: list[str]) -> int:
    p = _parser("image prune", "[OPTIONS]", "Remove unused images")
    p.add_argument("-f", "--force", action="store_true")
    p.add_argument("-a", "--all", action="store_true", help=argparse.SUPPRESS)
    p.parse_args(argv)
    deleted = _store().prune()
    if deleted:
        print("Deleted Images:")
        for image_id in deleted:
            print(f"deleted: {image_id}")
        print()
    print("Total reclaimed space: 0B")
    return 0


# -- registry commands ------------------------------------------------------------------------

def cmd_push(argv: list[str]) -> int:
    usage, description = "[OPTIONS] NAME[:TAG]", "Upload an image to a registry"
    p = _parser("push", usage, description)
    p.add_argument("-a", "--all-tags", action="store_true", help="Push all tags of an image to the repository")
    p.add_argument("-q", "--quiet", action="store_true", help="Suppress verbose output")
    p.add_argument("--platform", help=argparse.SUPPRESS)
    p.add_argument("names", nargs="*")
    args = p.parse_args(argv)
    from labkit.docker import reference as references
    from labkit.docker.registry_client import push

    try:
        _exactly(args.names, 1, "push", usage, description)
        ref = references.parse(args.names[0])
        references.route(ref.domain)  # refuse an outside registry before anything else
        targets = [args.names[0]]
        if args.all_tags:
            if ":" in args.names[0].rsplit("/", 1)[-1] or ref.digest:
                raise DockerError("tag can't be used with --all-tags/-a")
            targets = [t for image in _store().list() for t in image.repo_tags
                       if references.parse(t).name == ref.name]
            if not targets:
                raise DockerError(f"An image does not exist locally with the tag: {ref.familiar_name}",
                                  hint=("docker.hint.tag_first", {"ref": ref.familiar}))
        for target in targets:
            result = push(target, out=None if args.quiet else sys.stdout)
            if args.quiet:
                print(result.reference)
    except DockerError as exc:
        return _print_error(exc)
    return 0


def cmd_pull(argv: list[str]) -> int:
    usage, description = "[OPTIONS] NAME[:TAG|@DIGEST]", "Download an image from a registry"
    p = _parser("pull", usage, description)
    p.add_argument("-q", "--quiet", action="store_true", help="Suppress verbose output")
    p.add_argument("--platform", default="linux/amd64", help="Set platform (linux/amd64)")
    p.add_argument("-a", "--all-tags", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("names", nargs="*")
    args = p.parse_args(argv)
    from labkit.docker import reference as references
    from labkit.docker.registry_client import pull

    try:
        _exactly(args.names, 1, "pull", usage, description)
        ref = references.parse(args.names[0])
        if ref.domain != references.DEFAULT_DOMAIN:
            references.route(ref.domain)
        result = pull(args.names[0], platform=args.platform, out=None if args.quiet else sys.stdout)
        if args.quiet:
            print(str(references.parse(result.reference)))
    except references.RegistryRefused as exc:
        return _print_error(exc)
    except DockerError as exc:
        return _print_error(exc, "" if exc.message.startswith(("\"", "invalid")) else "Error response from daemon: ")
    return 0


def cmd_login(argv: list[str]) -> int:
    usage, description = "[OPTIONS] [SERVER]", "Log in to a registry"
    p = _parser("login", usage, description)
    p.add_argument("-u", "--username", help="Username")
    p.add_argument("-p", "--password", help="Password")
    p.add_argument("--password-stdin", action="store_true", help="Take the password from stdin")
    p.add_argument("server", nargs="*")
    args = p.parse_args(argv)
    from labkit.docker import auth, reference as references
    from labkit.docker.registry_client import RegistryClient, RegistryError

    try:
        if len(args.server) > 1:
            _exactly(args.server, 1, "login", usage, description)
        server = args.server[0] if args.server else "docker.io"
        host = auth._key(server)
        if host in ("docker.io", "index.docker.io", "registry-1.docker.io"):
            references.route("docker.io")  # raises RegistryRefused
        route = references.route(host)
        password = args.password
        if args.password is not None:
            print("WARNING! Using --password via the CLI is insecure. Use --password-stdin.", file=sys.stderr)
            if args.password_stdin:
                raise DockerError("--password and --password-stdin are mutually exclusive")
        if args.password_stdin:
            if not args.username:
                raise DockerError("Must provide --username with --password-stdin")
            password = sys.stdin.read()
            password = password[:-1] if password.endswith("\n") else password
            password = password[:-1] if password.endswith("\r") else password
            if not password:
                hint = ("docker.hint.empty_password_ecr", {"region": route.ecr_region}) if route.kind == "ecr" else \
                    ("docker.hint.empty_password", {})
                raise DockerError("Error: Password Required", hint=hint)
        username = args.username
        if username is None or password is None:
            if not sys.stdin.isatty():
                raise DockerError("Error: Cannot perform an interactive login from a non TTY device",
                                  hint=("docker.hint.login_pipe" if route.kind == "ecr" else "docker.hint.login",
                                        {"host": host, "region": route.ecr_region or ""}))
            import getpass

            if username is None:
                username = input("Username: ").strip()
            if password is None:
                password = getpass.getpass("Password: ")
        if not username:
            raise DockerError("Error: Non-null Username Required")
        try:
            with RegistryClient(host, (username, password)) as client:
                client.check_login()
        except RegistryError as exc:
            if not isinstance(exc, DockerError) or exc.hint is None:
                exc.hint = ("docker.hint.login_failed_ecr", {"region": route.ecr_region, "host": host}) \
                    if route.kind == "ecr" else ("docker.hint.login_failed", {"host": host})
            return _print_error(exc, "Error response from daemon: ")
        path = auth.save_credentials(host, username, password)
    except DockerError as exc:
        return _print_error(exc)
    print(f"WARNING! Your credentials are stored unencrypted in '{path}'.\n"
          "Configure a credential helper to remove this warning. See\n"
          "https://docs.docker.com/go/credential-store/\n", file=sys.stderr)
    print("Login Succeeded")
    return 0


def cmd_logout(argv: list[str]) -> int:
    p = _parser("logout", "[SERVER]", "Log out from a registry")
    p.add_argument("server", nargs="?", default="docker.io")
    args = p.parse_args(argv)
    from labkit.docker import auth

    host = auth._key(args.server)
    if not auth.remove_credentials(host):
        print(f"Not logged in to {host}")
        return 0
    print(f"Removing login credentials for {host}")
    return 0


def cmd_version(argv: list[str]) -> int:
    import platform

    print("Client: labkit docker (no engine: build, tag, push, pull, images, inspect)\n"
          f" Version:    1.0\n Python:     {platform.python_version()}\n OS/Arch:    linux/amd64\n\n"
          "Server: none (labkit has no container engine; images live in LABKIT_HOME/docker)")
    return 0


COMMANDS = {
    "build": cmd_build, "tag": cmd_tag, "push": cmd_push, "pull": cmd_pull, "login": cmd_login,
    "logout": cmd_logout, "images": cmd_images, "inspect": cmd_inspect, "rmi": cmd_rmi,
    "history": cmd_history, "version": cmd_version,
}
IMAGE_SUBCOMMANDS = {
    "ls": cmd_images, "list": cmd_images, "rm": cmd_rmi, "remove": cmd_rmi, "tag": cmd_tag, "push": cmd_push,
    "pull": cmd_pull, "build": cmd_build, "history": cmd_history, "prune": cmd_prune,
    "inspect": lambda argv: cmd_inspect(argv, kind="image"),
}


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(COMMANDS_HELP)
        return 0
    if argv[0] in ("-v", "--version"):
        print("labkit docker version 1.0 (no engine)")
        return 0
    command, rest = argv[0], argv[1:]
    try:
        if command == "image":
            if not rest or rest[0] in ("-h", "--help"):
                print("Usage:  labkit docker image COMMAND\n\nCommands: " + ", ".join(sorted(IMAGE_SUBCOMMANDS)))
                return 0
            handler = IMAGE_SUBCOMMANDS.get(rest[0])
            if handler is None:
                return _unknown(f"image {rest[0]}")
            return handler(rest[1:])
        handler = COMMANDS.get(command)
        if handler is None:
            return _unknown(command)
        return handler(rest)
    except UsageError as exc:
        print(exc.message, file=sys.stderr)
        return exc.exit_code
    except SystemExit as exc:  # argparse's --help
        return exc.code if isinstance(exc.code, int) else 0
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `labkit docker images | head -1`
        try:
            sys.stdout = open(os.devnull, "w")
        except OSError:
            pass
        return 0


def _unknown(command: str) -> int:
    name = command.split()[-1]
    if name in NO_ENGINE_COMMANDS:
        return _print_error(DockerError(f"labkit docker: '{command}' needs a container engine, which labkit does not have.",
                                        hint=("docker.hint.no_engine", {"command": command})))
    print(f"labkit docker: '{command}' is not a docker command.\nSee 'labkit docker --help'", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
