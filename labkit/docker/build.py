"""`labkit docker build`: a Dockerfile into a docker v2 schema2 image, without a container engine.

Supported: FROM (known stand-in bases, images of the local store, `scratch`, earlier stages;
multi-stage with `AS` and `COPY --from`), ARG (global and per stage, --build-arg), ENV, LABEL,
WORKDIR, COPY and ADD from the build context (globs, `.`, directories, .dockerignore; --chmod;
--chown ignored with a note; ADD extracts local tar archives), EXPOSE, CMD and ENTRYPOINT (exec
and shell form, docker's semantics), USER, VOLUME, STOPSIGNAL, HEALTHCHECK, SHELL, ONBUILD
(recorded only).

RUN (there is no container engine):
- `pip install ...` (pip, pip3, python -m pip, uv pip; `-r FILE` read from the image at that
  point) is installed for real into the step's layer, offline: each requirement and its
  dependencies are resolved against the course's environment (the running interpreter's
  distributions) and their files and dist-info copied under the base's site-packages
  (pip_offline.py); the output reads like pip's and says the packages came from the course's
  environment. A requirement the environment lacks fails the build as pip fails without network.
- any other command is recorded in the history (empty layer) with a warning.

Deterministic: the same Dockerfile and context give the same digests (see layers.py; the image's
`created` is SOURCE_DATE_EPOCH, else 1970-01-01, as BuildKit does with SOURCE_DATE_EPOCH).
"""
from __future__ import annotations

import io
import json
import os
import posixpath
import re
import shlex
import sys
import tarfile
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TextIO

from labkit.docker import bases, pip_offline, reference as references
from labkit.docker.bases import CONFIG_V1, LAYER_GZIP, MANIFEST_V2, MARKER_PATH, dumps
from labkit.docker.context import BuildContext, compile_pattern, has_glob, is_excluded
from labkit.docker.dockerfile import (DockerfileError, Instruction, Lexer, is_legacy_key_value, parse_dockerfile,
                                      parse_json_array, parse_key_values)
from labkit.docker.errors import DockerError
from labkit.docker.layers import Layer, LayerWriter, Node, apply_layer, clean, fixed_mtime, read_layer, sha256
from labkit.docker.store import Image, ImageNotFound, ImageStore

BUILDKIT_COMMENT = "buildkit.dockerfile.v0"
STEP_INSTRUCTIONS = ("RUN", "COPY", "ADD", "WORKDIR")
DEFAULT_SHELL = ["/bin/sh", "-c"]
PLATFORM_ARGS = {"TARGETPLATFORM": "linux/amd64", "TARGETOS": "linux", "TARGETARCH": "amd64", "TARGETVARIANT": "",
                 "BUILDPLATFORM": "linux/amd64", "BUILDOS": "linux", "BUILDARCH": "amd64", "BUILDVARIANT": ""}


class BuildError(DockerError):
    """docker build failed; `message` is what follows `ERROR: failed to solve: `."""

    def __init__(self, message: str, hint: tuple[str, dict] | None = None, line: int | None = None,
                 step: str | None = None, log: list[str] | None = None):
        super().__init__(message, hint=hint)
        self.line = line
        self.step = step
        self.log = log or []


@dataclass
class BuildResult:
    image: Image
    tags: list[str]               # full names: docker.io/library/my-app:latest
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def id(self) -> str:
        return self.image.id

    @property
    def digest(self) -> str:
        return self.image.digest


# -- progress output (BuildKit's --progress=plain) ---------------------------------------------

class Progress:
    def __init__(self, out: TextIO | None):
        self.out = out
        self.vertex = 0

    def write(self, text: str) -> None:
        if self.out is not None:
            self.out.write(text)
            self.out.flush()

    def start(self, title: str) -> "Vertex":
        self.vertex += 1
        self.write(f"#{self.vertex} {title}\n")
        return Vertex(self, self.vertex)


class Vertex:
    def __init__(self, progress: Progress, number: int):
        self.progress, self.number, self.t0 = progress, number, time.monotonic()

    def log(self, line: str) -> None:
        self.progress.write(f"#{self.number} {line}\n")

    def timed(self, line: str) -> None:  # a line of the step's own output, with its time
        self.progress.write(f"#{self.number} {time.monotonic() - self.t0:.3f} {line}\n")

    def done(self) -> None:
        self.progress.write(f"#{self.number} DONE {time.monotonic() - self.t0:.1f}s\n\n")

    def cached(self) -> None:
        self.progress.write(f"#{self.number} CACHED\n\n")

    def error(self, message: str) -> None:
        self.progress.write(f"#{self.number} ERROR: {message}\n")


# -- stages ------------------------------------------------------------------------------------

@dataclass
class Stage:
    index: int
    name: str | None
    from_inst: Instruction
    instructions: list[Instruction]
    # build state
    base_text: str = ""
    fs: dict[str, Node] = field(default_factory=dict)
    layers: list[tuple[str, str, bytes | None]] = field(default_factory=list)  # (digest, diff_id, blob if new)
    config: dict = field(default_factory=dict)
    history: list[dict] = field(default_factory=list)
    args: dict[str, str] = field(default_factory=dict)
    architecture: str = "amd64"
    os: str = "linux"
    cmd_set: bool = False
    shell: list[str] = field(default_factory=lambda: list(DEFAULT_SHELL))
    built: bool = False

    @property
    def display(self) -> str:
        return self.name or f"stage-{self.index}"

    @property
    def env(self) -> dict[str, str]:
        env = dict(self.args)
        for item in self.config.get("Env") or []:
            key, _, value = item.partition("=")
            env[key] = value
        return env

    @property
    def workdir(self) -> str:
        return self.config.get("WorkingDir") or "/"

    def set_env(self, key: str, value: str) -> None:
        items = [e for e in (self.config.get("Env") or []) if e.partition("=")[0] != key]
        items.append(f"{key}={value}")
        self.config["Env"] = items


class Builder:
    def __init__(self, context_dir: str | os.PathLike, *, dockerfile: str | os.PathLike | None = None,
                 tags: list[str] | tuple = (), build_args: dict[str, str] | None = None, target: str | None = None,
                 platform: str | None = None, labels: dict[str, str] | None = None, no_cache: bool = False,
                 store: ImageStore | None = None, out: TextIO | None = None):
        self.context_dir = Path(context_dir)
        self.dockerfile_path = Path(dockerfile) if dockerfile else self.context_dir / "Dockerfile"
        if not dockerfile and not self.dockerfile_path.exists() and (self.context_dir / "dockerfile").is_file():
            self.dockerfile_path = self.context_dir / "dockerfile"  # docker's fallback to the lowercase name
        self.tags = [self._parse_tag(t) for t in tags]
        self.build_args = dict(build_args or {})
        self.target = target
        self.platform = platform or "linux/amd64"
        self.extra_labels = dict(labels or {})
        self.no_cache = no_cache
        self.store = store or ImageStore()
        self.progress = Progress(out)
        self.warnings: list[str] = []      # BuildKit-style check warnings, printed at the end
        self.notes: list[str] = []
        self.lexer = Lexer()
        self.created = datetime.fromtimestamp(fixed_mtime(), tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        self.dockerfile_lines: list[str] = []
        self.context: BuildContext | None = None
        self.stages: list[Stage] = []
        self.all_cached = True
        self.architecture = "amd64"
        self.platform_args = dict(PLATFORM_ARGS)
        self.meta_args: dict[str, str | None] = {}

    @staticmethod
    def _parse_tag(tag: str) -> references.Reference:
        try:
            ref = references.parse(tag)
        except references.InvalidReference as exc:
            reason = exc.message.split(": ", 1)[1] if ": " in exc.message else "invalid reference format"
            raise DockerError(f'ERROR: invalid tag "{tag}": {reason}', hint=("docker.hint.invalid_tag", {"tag": tag}))
        if ref.digest:
            raise DockerError(f'ERROR: invalid tag "{tag}": a tag cannot contain a digest')
        return ref

    # -- driver ------------------------------------------------------------------------------
    def build(self) -> BuildResult:
        t0 = time.monotonic()
        if not self.context_dir.is_dir():
            raise DockerError(f'ERROR: unable to prepare context: path "{self.context_dir}" not found',
                              hint=("docker.hint.context_missing", {"path": str(self.context_dir)}))
        arch = self.platform.split("/")
        if len(arch) < 2 or arch[0] != "linux":
            raise DockerError(f'ERROR: failed to parse platform {self.platform}: only linux/ARCH is supported')
        self.architecture = arch[1]
        self.platform_args.update({"TARGETPLATFORM": self.platform, "TARGETARCH": self.architecture})
        self.progress.write('#0 building with "labkit" instance using files-only driver (no container engine)\n\n')

        v = self.progress.start(f"[internal] load build definition from {self.dockerfile_path.name}")
        try:
            text = self.dockerfile_path.read_text(encoding="utf-8")
        except (FileNotFoundError, IsADirectoryError):
            v.error(f"failed to read dockerfile: open {self.dockerfile_path.name}: no such file or directory")
            raise BuildError(f"failed to read dockerfile: open {self.dockerfile_path.name}: no such file or directory",
                             hint=("docker.hint.dockerfile_missing", {"dir": str(self.context_dir.resolve())}))
        v.log(f"transferring dockerfile: {_human_bytes(len(text.encode()))} done")
        v.done()
        self.dockerfile_lines = text.replace("\r\n", "\n").split("\n")
        try:
            dockerfile = parse_dockerfile(text)
        except DockerfileError as exc:
            raise BuildError(exc.message, hint=exc.hint, line=exc.line)
        self.lexer = Lexer(dockerfile.escape)
        self._split_stages(dockerfile.instructions)
        target = self._target_stage()
        needed = self._needed(target)

        for stage in self.stages:  # resolve every needed FROM first (BuildKit: load metadata)
            if stage.index in needed:
                self._resolve_from(stage)

        v = self.progress.start("[internal] load .dockerignore")
        ignore = self.context_dir / ".dockerignore"
        v.log(f"transferring context: {_human_bytes(ignore.stat().st_size if ignore.is_file() else 2)} done")
        v.done()

        for stage in self.stages:
            if stage.index in needed:
                self._build_stage(stage, single=len(needed) == 1)

        return self._export(self.stages[target], time.monotonic() - t0)

    def _split_stages(self, instructions: list[Instruction]) -> None:
        self.meta_args: dict[str, str | None] = {}
        current: Stage | None = None
        for inst in instructions:
            if inst.cmd == "FROM":
                words = inst.rest.split()
                name = None
                if len(words) == 3 and words[1].lower() == "as":
                    name = words[2].lower()
                    if not re.fullmatch(r"[a-z][a-z0-9-_.]*", name):
                        raise BuildError(f"dockerfile parse error on line {inst.line}: invalid name for build stage: "
                                         f"\"{words[2]}\", name can't start with a number or contain symbols",
                                         line=inst.line)
                elif len(words) != 1:
                    raise BuildError(f"dockerfile parse error on line {inst.line}: FROM requires either one or "
                                     "three arguments", line=inst.line)
                current = Stage(index=len(self.stages), name=name, from_inst=inst, instructions=[])
                self.stages.append(current)
            elif current is None:
                if inst.cmd != "ARG":
                    raise BuildError(f"no build stage in current context", line=inst.line,
                                     hint=("docker.hint.from_first", {}))
                for key, value in self._arg_pairs(inst, {}):
                    self.meta_args[key] = self.build_args.get(key, value)
            else:
                current.instructions.append(inst)
        if not self.stages:
            raise BuildError("the Dockerfile cannot be empty" if not instructions else "no build stage in current context",
                             hint=("docker.hint.from_first", {}))

    def _target_stage(self) -> int:
        if not self.target:
            return len(self.stages) - 1
        for stage in self.stages:
            if stage.name == self.target.lower():
                return stage.index
        raise BuildError(f"target stage \"{self.target}\" could not be found")

    def _stage_ref(self, text: str) -> Stage | None:
        for stage in self.stages:
            if stage.name == text.lower() or str(stage.index) == text:
                return stage
        return None

    def _needed(self, target: int) -> set[int]:
        needed, todo = set(), [target]
        while todo:
            index = todo.pop()
            if index in needed:
                continue
            needed.add(index)
            stage = self.stages[index]
            base = self._expand_meta(stage.from_inst.rest.split()[0])
            dep = self._stage_ref(base)
            if dep is not None and dep.index < index:
                todo.append(dep.index)
            for inst in stage.instructions:
                source = inst.flag("from") if inst.cmd in ("COPY", "ADD") else None
                if source:
                    dep = self._stage_ref(source)
                    if dep is not None and dep.index < index:
                        todo.append(dep.index)
        return needed

    def _expand_meta(self, text: str) -> str:
        env = {**self.platform_args, **{k: v for k, v in self.meta_args.items() if v is not None}}
        return self.lexer.process_word(text, env)

    # -- FROM --------------------------------------------------------------------------------
    def _resolve_from(self, stage: Stage) -> None:
        inst = stage.from_inst
        stage.base_text = self._expand_meta(inst.rest.split()[0])
        if not stage.base_text:
            raise BuildError(f"base name ({inst.rest.split()[0]}) should not be blank", line=inst.line)
        dep = self._stage_ref(stage.base_text)
        if dep is not None and dep.index < stage.index:
            return
        if stage.base_text == "scratch":
            return
        try:
            ref = references.parse(stage.base_text)
        except references.InvalidReference as exc:
            raise BuildError(f"failed to parse stage name \"{stage.base_text}\": {exc.message}", line=inst.line)
        v = self.progress.start(f"[internal] load metadata for {ref}")
        try:
            stage._source = self._image_source(ref, stage.base_text, inst.line)  # type: ignore[attr-defined]
        except BuildError:
            v.error(f"{ref}: not found")
            raise
        v.done()

    def _image_source(self, ref: references.Reference, text: str, line: int):
        """A base: ('base', BaseImage) for a known stand-in, ('store', Image) for a local image."""
        try:
            return "store", self.store.get(text)
        except (ImageNotFound, references.InvalidReference):
            pass
        base = bases.find(ref)
        if base is not None:
            return "base", base
        known = ", ".join(bases.known_names())
        raise BuildError(f"{text}: failed to resolve source metadata for {ref}: {ref} not found "
                         f"(labkit cannot download images; known bases: {known})",
                         hint=("docker.hint.unknown_base", {"image": text, "bases": known}), line=line)

    def _load_base(self, stage: Stage) -> str:
        """Fill the stage from its base; returns the FROM title BuildKit shows."""
        dep = self._stage_ref(stage.base_text)
        if dep is not None and dep.index < stage.index:
            stage.fs = dict(dep.fs)
            stage.layers = list(dep.layers)
            stage.config = json.loads(json.dumps(dep.config))
            stage.history = list(dep.history)
            stage.shell = list(dep.shell)
            stage.architecture = dep.architecture
            return f"FROM {dep.display}"
        if stage.base_text == "scratch":
            stage.architecture = self.architecture
            return "FROM scratch"
        kind, source = stage._source  # type: ignore[attr-defined]
        if kind == "base":
            stage.fs = {}
            apply_layer(stage.fs, read_layer(source.layer.tar))
            stage.layers = [(source.layer.digest, source.layer.diff_id, source.layer.blob)]
            config, digest, ref = source.config, source.digest, source.reference
        else:
            stage.fs = source.filesystem()
            diff_ids = source.config.get("rootfs", {}).get("diff_ids", [])
            stage.layers = [(d, diff_ids[i] if i < len(diff_ids) else "", None)
                            for i, d in enumerate(source.layer_digests)]
            config, digest = source.config, source.digest
            ref = references.parse(source.repo_tags[0]) if source.repo_tags else None
        stage.config = json.loads(json.dumps(config.get("config") or {}))
        stage.history = list(config.get("history") or [])
        stage.architecture = self.architecture
        if stage.config.get("Shell"):
            stage.shell = list(stage.config["Shell"])
        name = ref.name + (f":{ref.tag}" if ref and ref.tag else "") if ref else ""
        return f"FROM {name}@{digest}" if name else f"FROM {digest}"

    # -- one stage ---------------------------------------------------------------------------
    def _build_stage(self, stage: Stage, single: bool) -> None:
        steps = [i for i in stage.instructions if i.cmd in STEP_INSTRUCTIONS]
        total = len(steps) + 1
        number = 1

        def label(n: int) -> str:
            return f"[{n}/{total}]" if single else f"[{stage.display} {n}/{total}]"

        from_title = self._load_base(stage)
        v = self.progress.start(f"{label(number)} {from_title}")
        if from_title.startswith("FROM ") and "@" in from_title:
            v.log(f"resolve {from_title[5:]} done")
        v.done()
        if any(i.cmd in ("COPY", "ADD") and not i.flag("from") for i in stage.instructions) and self.context is None:
            v = self.progress.start("[internal] load build context")
            self.context = BuildContext(self.context_dir)
            v.log(f"transferring context: {_human_bytes(self.context.size())} done")
            v.done()

        for inst in stage.instructions:
            if inst.cmd in STEP_INSTRUCTIONS:
                number += 1
                self._step(stage, inst, label(number))
            else:
                self._metadata(stage, inst)
        for key, value in self.extra_labels.items():
            stage.config.setdefault("Labels", {})[key] = value
        stage.built = True

    def _history(self, stage: Stage, created_by: str, empty: bool, comment: str = BUILDKIT_COMMENT) -> None:
        item = {"created": self.created, "created_by": created_by, "comment": comment}
        if empty:
            item["empty_layer"] = True
        stage.history.append(item)

    def _add_layer(self, stage: Stage, writer: LayerWriter) -> tuple[Layer, bool]:
        layer = writer.build()
        cached = self.store.has_blob(layer.digest) and not self.no_cache
        for path, node in writer.entries.items():
            if node.kind == "dir" and path in stage.fs and stage.fs[path].kind == "dir":
                continue
            apply_layer(stage.fs, {path: node})
        stage.layers.append((layer.digest, layer.diff_id, layer.blob))
        return layer, cached

    def _step(self, stage: Stage, inst: Instruction, label: str) -> None:
        title = f"{label} {inst.original}"
        v = self.progress.start(title)
        try:
            if inst.cmd == "WORKDIR":
                cached = self._workdir(stage, inst)
            elif inst.cmd in ("COPY", "ADD"):
                cached = self._copy(stage, inst, v)
            else:
                cached = self._run(stage, inst, v, title)
        except BuildError as exc:
            exc.line = exc.line or inst.line
            exc.step = exc.step or title
            raise
        except DockerError as exc:
            raise BuildError(exc.message, hint=exc.hint, line=inst.line, step=title)
        self.all_cached = self.all_cached and cached
        if self.all_cached:
            v.cached()
        else:
            v.done()

    # WORKDIR
    def _workdir(self, stage: Stage, inst: Instruction) -> bool:
        path = self.lexer.process_word(inst.rest, stage.env)
        if not path:
            raise BuildError("WORKDIR requires exactly one argument", line=inst.line)
        path = posixpath.normpath(posixpath.join(stage.workdir, path))
        stage.config["WorkingDir"] = path
        rel = clean(path)
        if rel and (rel not in stage.fs or stage.fs[rel].kind != "dir"):
            writer = LayerWriter()
            writer.add_dir(rel)
            _, cached = self._add_layer(stage, writer)
            self._history(stage, f"WORKDIR {path}", empty=False)
            return cached
        self._history(stage, f"WORKDIR {path}", empty=True)
        return True

    # COPY / ADD
    def _copy(self, stage: Stage, inst: Instruction, v: Vertex) -> bool:
        env = stage.env
        words = parse_json_array(inst.rest)
        if words is None:
            words = self.lexer.process_words(inst.rest, env)
        else:
            words = [self.lexer.process_word(w, env) for w in words]
        if len(words) < 2:
            raise BuildError(f"{inst.cmd} requires at least two arguments, but only one was provided. "
                             "Destination could not be determined", line=inst.line)
        sources, dest = words[:-1], words[-1]
        if inst.flag("chown") is not None:
            self.notes.append(("docker.note.chown_ignored", {"line": inst.line}))
            v.log(f"note: --chown={inst.flag('chown')} ignored: files in labkit images belong to root (uid 0)")
        for unsupported in ("parents", "checksum", "keep-git-dir"):
            if inst.flag(unsupported) is not None:
                raise BuildError(f"{inst.cmd} --{unsupported} is not supported by labkit docker", line=inst.line)
        unknown = set(inst.flags) - {"chown", "chmod", "from", "link", "exclude", "parents", "checksum", "keep-git-dir"}
        if unknown:
            raise BuildError(f"dockerfile parse error on line {inst.line}: unknown flag: --{sorted(unknown)[0]}",
                             line=inst.line)
        chmod = inst.flag("chmod")
        mode = None
        if chmod is not None:
            if not re.fullmatch(r"[0-7]{3,4}", chmod):
                raise BuildError(f"invalid chmod parameter: '{chmod}'. it should be octal string", line=inst.line)
            mode = int(chmod, 8)
        excludes = [p for p in (compile_pattern(x) for x in inst.flags.get("exclude", [])) if p]

        dest_abs = posixpath.join(stage.workdir, dest) if not dest.startswith("/") else dest
        dest_rel = clean(dest_abs)
        dest_is_dir = dest.endswith("/") or dest in (".", "..") or dest.endswith("/.") or (
            dest_rel in stage.fs and stage.fs[dest_rel].kind == "dir") or dest_rel == ""

        source_stage = None
        from_flag = inst.flag("from")
        if from_flag is not None:
            from_flag = self.lexer.process_word(from_flag, env)
            source_stage = self._stage_ref(from_flag)
            if source_stage is None or source_stage.index >= stage.index:
                source_stage = self._external_stage(from_flag, inst.line)

        items: list[tuple[str, Node]] = []  # (path under dest, node); "" = dest itself for a single file
        matched_multiple = len(sources) > 1
        archive_seen = False
        for src in sources:
            if src.startswith(("http://", "https://", "git@")):
                if inst.cmd == "ADD":
                    raise BuildError(f"ADD {src}: labkit docker cannot download (no internet)",
                                     hint=("docker.hint.add_url", {"url": src}), line=inst.line)
                raise BuildError(f"source can't be a URL for COPY", line=inst.line)
            if source_stage is not None:
                found = self._sources_from_fs(source_stage.fs, src)
            else:
                found = self._sources_from_context(src)
            if not found:
                raise BuildError(f'failed to compute cache key: failed to calculate checksum of ref: "/{clean(src)}": not found',
                                 hint=("docker.hint.copy_missing", {"path": src, "context": str(self.context_dir.resolve())})
                                 if source_stage is None else None, line=inst.line)
            if has_glob(src) and len(found) > 1:
                matched_multiple = True
            for kind, base_path, children in found:
                if kind == "dir":
                    for rel, node in children:
                        items.append((rel, node))
                else:
                    node = children[0][1]
                    if inst.cmd == "ADD" and source_stage is None and node.kind == "file" and _is_archive(node.data):
                        for rel, extracted in _extract_archive(node.data):
                            items.append((rel, extracted))
                        archive_seen = True  # an archive is unpacked into the destination folder
                        continue
                    items.append((posixpath.basename(base_path) if (dest_is_dir or matched_multiple) else "", node))
        if matched_multiple and not dest_is_dir:
            raise BuildError("When using COPY with more than one source file, the destination must be a directory "
                             "and end with a /", line=inst.line)
        dest_is_dir = dest_is_dir or archive_seen
        if excludes:
            items = [(rel, node) for rel, node in items if not is_excluded(rel, excludes)]

        writer = LayerWriter()
        if dest_is_dir and dest_rel:
            writer.add_dir(dest_rel, mode if mode is not None else 0o755)
        for rel, node in items:
            path = posixpath.join(dest_rel, rel) if rel else dest_rel
            if not path:
                continue
            if mode is not None and node.kind != "symlink":
                node = Node(node.kind, mode, node.data, node.link)
            writer.add(path, node)
        _, cached = self._add_layer(stage, writer)
        shown = " ".join(words)
        if from_flag is not None:
            shown = f"--from={from_flag} {shown}"
        self._history(stage, f"{inst.cmd} {shown} # buildkit", empty=False)
        return cached

    def _sources_from_context(self, src: str):
        """[(kind, path, [(relative path, Node)])] for one COPY source from the build context."""
        rel = clean(src)
        if posixpath.normpath(src.lstrip("/") or ".").startswith(".."):
            raise BuildError(f"forbidden path outside the build context: {src}")
        ctx = self.context or BuildContext(self.context_dir)
        self.context = ctx
        paths = ctx.glob(rel) if has_glob(rel) else ([rel] if rel == "" or rel in ctx.entries else [])
        found = []
        for path in paths:
            entry = ctx.entries.get(path)
            if path == "" or (entry is not None and entry.kind == "dir"):
                children = []
                for child in ctx.under(path):
                    sub = child.path[len(path) + 1:] if path else child.path
                    children.append((sub, _node_of(child)))
                found.append(("dir", path, children))
            else:
                found.append(("file", path, [("", _node_of(entry))]))
        return found

    def _sources_from_fs(self, fs: dict[str, Node], src: str):
        rel = clean(src)
        if has_glob(rel):
            from labkit.docker.context import _fnmatch_component_regex

            rx = re.compile(_fnmatch_component_regex(rel))
            paths = sorted(p for p in fs if rx.match(p))
        else:
            paths = [rel] if rel == "" or rel in fs else []
        found = []
        for path in paths:
            node = fs.get(path)
            if path == "" or (node is not None and node.kind == "dir"):
                prefix = path + "/" if path else ""
                children = [(p[len(prefix):], fs[p]) for p in sorted(fs) if p.startswith(prefix) and p != path]
                found.append(("dir", path, children))
            else:
                found.append(("file", path, [("", node)]))
        return found

    def _external_stage(self, text: str, line: int) -> Stage:
        """COPY --from=IMAGE: an image that is not a stage of this Dockerfile."""
        try:
            ref = references.parse(text)
        except references.InvalidReference as exc:
            raise BuildError(f"invalid from flag value {text}: {exc.message}", line=line)
        kind, source = self._image_source(ref, text, line)
        stage = Stage(index=-1, name=None, from_inst=Instruction("FROM", text, line, line, f"FROM {text}"), instructions=[])
        if kind == "base":
            apply_layer(stage.fs, read_layer(source.layer.tar))
        else:
            stage.fs = source.filesystem()
        return stage

    # RUN
    def _run(self, stage: Stage, inst: Instruction, v: Vertex, title: str) -> bool:
        for name in inst.flags:
            if name in ("mount", "network", "security", "device"):
                v.log(f"note: RUN --{name} ignored")
            else:
                raise BuildError(f"dockerfile parse error on line {inst.line}: unknown flag: --{name}", line=inst.line)
        exec_form = parse_json_array(inst.rest)
        if exec_form is not None:
            argv_groups = [exec_form]
            shown = "RUN " + " ".join(exec_form)
            process = " ".join(exec_form)
        else:
            argv_groups = None
            shown = f"RUN {' '.join(stage.shell)} {inst.rest}"
            process = f"{' '.join(stage.shell)} {inst.rest}"
        env = stage.env
        commands = argv_groups if argv_groups is not None else _split_shell(inst.rest, env)
        skipped: list[str] = []
        cwd = stage.workdir
        writer = LayerWriter()
        installed = 0
        for argv in commands:
            if not argv:
                continue
            if argv[0] == "cd" and len(argv) >= 2:
                cwd = posixpath.normpath(posixpath.join(cwd, argv[1]))
                continue
            install = _pip_install_args(argv)
            if install is None:
                skipped.append(" ".join(argv))
                continue
            python = _python_of(stage.fs)
            if python is None:
                v.timed(f"/bin/sh: 1: {argv[0]}: not found")
                message = f'process "{process}" did not complete successfully: exit code: 127'
                v.error(message)
                raise BuildError(message, hint=("docker.hint.pip_no_python", {"image": stage.base_text}),
                                 log=[f"/bin/sh: 1: {argv[0]}: not found"])
            requirements = self._requirements(stage.fs, cwd, install, v, process)
            installed += self._pip_install(stage, writer, requirements, python, v, process)

        if writer.entries:
            layer, cached = self._add_layer(stage, writer)
            self._history(stage, f"{shown} # buildkit", empty=False)
            self.notes.append(("docker.note.pip_installed_offline", {"count": installed, "path": pip_offline.course_location()}))
        else:
            cached = True  # nothing to compute: the step only adds a history entry
            self._history(stage, f"{shown} # buildkit", empty=True, comment="labkit: not executed (no container engine)")
        if skipped:
            for command in skipped:
                v.timed(f"labkit: not executed (no container engine): {command}")
            self.warnings.append(f"RunNotExecuted: RUN is recorded, not executed, without a container engine "
                                 f"(line {inst.line})")
            self.notes.append(("docker.note.run_not_executed", {"line": inst.line}))
        return cached

    def _pip_install(self, stage: Stage, writer: LayerWriter, requirements: list[str], python: dict, v: Vertex,
                     process: str) -> int:
        """Install `requirements` from the course's environment into `writer` (pip_offline.py);
        the number of distributions installed."""
        fs = dict(stage.fs)
        fs.update({path: node for path, node in writer.entries.items() if node.kind == "file"})
        try:
            result = pip_offline.install(requirements, fs=fs, site=python["site_packages"],
                                         python_version=str(python.get("version", "")), architecture=stage.architecture)
        except pip_offline.NotAvailable as exc:
            for line in exc.log:
                v.timed(line)
            message = f'process "{process}" did not complete successfully: exit code: 1'
            v.error(message)
            raise BuildError(message, hint=exc.hint, log=[line for line in exc.log if line.startswith("ERROR")])
        for line in result.log:
            v.timed(line)
        for path, node in result.entries:
            writer.add(path, node)
        for requirement, name, version in result.substituted:
            self.notes.append(("docker.note.pip_version_substituted",
                               {"name": requirement, "found": f"{name} {version}"}))
        return len(result.installed)

    def _requirements(self, fs: dict[str, Node], cwd: str, install: list[str], v: Vertex, process: str) -> list[str]:
        out: list[str] = []
        i = 0
        while i < len(install):
            arg = install[i]
            if arg in ("-r", "--requirement") or arg.startswith("--requirement=") or (arg.startswith("-r") and len(arg) > 2):
                if arg in ("-r", "--requirement"):
                    i += 1
                    name = install[i] if i < len(install) else ""
                else:
                    name = arg.split("=", 1)[1] if arg.startswith("--requirement=") else arg[2:]
                out.extend(self._read_requirements(fs, cwd, name, v, process, depth=0))
            elif arg in _PIP_VALUE_OPTIONS:
                i += 1
            elif arg.startswith("-") and "=" in arg:
                pass
            elif arg in ("-e", "--editable"):
                i += 1
                if i < len(install):
                    out.append(f"-e {install[i]}")
            elif arg.startswith("-"):
                pass
            else:
                out.append(arg)
            i += 1
        return out

    def _read_requirements(self, fs, cwd, name, v, process, depth) -> list[str]:
        path = clean(posixpath.join(cwd, name))
        node = fs.get(path)
        if node is None or node.kind != "file":
            line = f"ERROR: Could not open requirements file: [Errno 2] No such file or directory: '{name}'"
            v.timed(line)
            message = f'process "{process}" did not complete successfully: exit code: 1'
            v.error(message)
            raise BuildError(message, hint=("docker.hint.requirements_missing", {"file": name, "dir": cwd}), log=[line])
        out = []
        for raw in node.data.decode("utf-8", errors="replace").splitlines():
            line = re.sub(r"(^|\s)#.*$", "", raw).strip()
            if not line:
                continue
            if (line.startswith("-r ") or line.startswith("--requirement")) and depth < 5:
                nested = line.split(None, 1)[1] if " " in line else line.split("=", 1)[1]
                out.extend(self._read_requirements(fs, posixpath.dirname("/" + path), nested.strip(), v, process, depth + 1))
            elif line.startswith("-"):
                continue  # --index-url and other options
            else:
                out.append(line)
        return out

    # metadata instructions
    def _metadata(self, stage: Stage, inst: Instruction) -> None:
        env = stage.env
        cmd = inst.cmd
        if cmd in ("ENV", "LABEL") and is_legacy_key_value(inst):
            self.warnings.append(f'LegacyKeyValueFormat: "{cmd} key=value" should be used instead of legacy '
                                 f'"{cmd} key value" format (line {inst.line})')
        if cmd == "ENV":
            pairs = parse_key_values(inst, self.lexer, env)
            for key, value in pairs:
                stage.set_env(key, value)
            self._history(stage, "ENV " + " ".join(f"{k}={v}" for k, v in pairs), empty=True)
        elif cmd == "LABEL":
            pairs = parse_key_values(inst, self.lexer, env)
            labels = stage.config.setdefault("Labels", {}) or {}
            stage.config["Labels"] = labels
            for key, value in pairs:
                labels[key] = value
            self._history(stage, "LABEL " + " ".join(f"{k}={v}" for k, v in pairs), empty=True)
        elif cmd == "ARG":
            for key, default in self._arg_pairs(inst, env):
                if key in self.build_args:
                    value = self.build_args[key]
                elif default is not None:
                    value = default
                elif key in self.meta_args and self.meta_args[key] is not None:
                    value = self.meta_args[key]
                else:
                    value = self.platform_args.get(key, "")
                stage.args[key] = value
            self._history(stage, f"ARG {inst.rest}", empty=True)
        elif cmd == "EXPOSE":
            ports = stage.config.setdefault("ExposedPorts", {}) or {}
            stage.config["ExposedPorts"] = ports
            added = []
            for word in self.lexer.process_words(inst.rest, env):
                for port in _expand_ports(word, inst.line):
                    ports[port] = {}
                    added.append(port)
            self._history(stage, "EXPOSE map[" + " ".join(f"{p}:{{}}" for p in sorted(set(added))) + "]", empty=True)
        elif cmd in ("CMD", "ENTRYPOINT"):
            exec_form = parse_json_array(inst.rest)
            if exec_form is None:
                value = [*stage.shell, inst.rest] if inst.rest else []
                kind = "CMD" if cmd == "CMD" else "ENTRYPOINT"
                self.warnings.append(f"JSONArgsRecommended: JSON arguments recommended for {kind} to prevent "
                                     f"unintended behavior related to OS signals (line {inst.line})")
            else:
                value = exec_form
            if cmd == "CMD":
                stage.config["Cmd"] = value
                stage.cmd_set = True
            else:
                stage.config["Entrypoint"] = value
                if not stage.cmd_set:
                    stage.config.pop("Cmd", None)
            self._history(stage, f"{cmd} [" + " ".join(json.dumps(a, ensure_ascii=False) for a in value) + "]",
                          empty=True)
        elif cmd == "USER":
            user = self.lexer.process_word(inst.rest, env)
            if not user:
                raise BuildError("USER requires exactly one argument", line=inst.line)
            stage.config["User"] = user
            self._history(stage, f"USER {user}", empty=True)
        elif cmd == "VOLUME":
            paths = parse_json_array(inst.rest) or self.lexer.process_words(inst.rest, env)
            volumes = stage.config.setdefault("Volumes", {}) or {}
            stage.config["Volumes"] = volumes
            for path in paths:
                volumes[path] = {}
            self._history(stage, "VOLUME [" + " ".join(paths) + "]", empty=True)
        elif cmd == "STOPSIGNAL":
            stage.config["StopSignal"] = self.lexer.process_word(inst.rest, env)
            self._history(stage, f"STOPSIGNAL {stage.config['StopSignal']}", empty=True)
        elif cmd == "SHELL":
            shell = parse_json_array(inst.rest)
            if not shell:
                raise BuildError("SHELL requires the arguments to be in JSON form", line=inst.line)
            stage.shell = shell
            stage.config["Shell"] = shell
            self._history(stage, "SHELL [" + " ".join(shell) + "]", empty=True)
        elif cmd == "HEALTHCHECK":
            stage.config["Healthcheck"] = _healthcheck(inst)
            self._history(stage, f"HEALTHCHECK {inst.rest}", empty=True)
        elif cmd == "ONBUILD":
            stage.config.setdefault("OnBuild", []).append(inst.rest)
            self._history(stage, f"ONBUILD {inst.rest}", empty=True)
        elif cmd == "MAINTAINER":
            stage._author = inst.rest  # type: ignore[attr-defined]
            self._history(stage, f"MAINTAINER {inst.rest}", empty=True)

    def _arg_pairs(self, inst: Instruction, env: dict[str, str]) -> list[tuple[str, str | None]]:
        words = self.lexer.process_words(inst.rest, env)
        if not words:
            raise BuildError("ARG requires at least one argument", line=inst.line)
        pairs = []
        for word in words:
            key, eq, value = word.partition("=")
            pairs.append((key, value if eq else None))
        return pairs

    # -- export ------------------------------------------------------------------------------
    def _export(self, stage: Stage, seconds_so_far: float) -> BuildResult:
        v = self.progress.start("exporting to image")
        for digest, _, blob in stage.layers:
            if blob is not None:
                self.store.put_blob(blob, digest)
            elif not self.store.has_blob(digest):
                raise BuildError(f"layer {digest} of the base image is missing from the local store")
        v.log("exporting layers done")
        config = {"architecture": stage.architecture}
        author = getattr(stage, "_author", None)
        if author:
            config["author"] = author
        config.update({
            "config": _image_config(stage.config),
            "created": self.created,
            "history": stage.history,
            "os": stage.os,
            "rootfs": {"type": "layers", "diff_ids": [diff_id for _, diff_id, _ in stage.layers]},
        })
        config_bytes = dumps(config)
        config_digest = self.store.put_blob(config_bytes)
        layers = []
        for digest, _, blob in stage.layers:
            size = len(blob) if blob is not None else self.store.blob_path(digest).stat().st_size
            layers.append({"mediaType": LAYER_GZIP, "size": size, "digest": digest})
        manifest = {
            "schemaVersion": 2,
            "mediaType": MANIFEST_V2,
            "config": {"mediaType": CONFIG_V1, "size": len(config_bytes), "digest": config_digest},
            "layers": layers,
        }
        manifest_bytes = dumps(manifest)
        v.log(f"writing image {config_digest} done")
        image = self.store.add_image(manifest_bytes, tags=[str(t) for t in self.tags])
        for tag in self.tags:
            v.log(f"naming to {tag} done")
        v.done()
        if self.warnings:
            count = len(self.warnings)
            self.progress.write(f" {count} warning{'s' if count > 1 else ''} found (use docker --debug to expand):\n")
            for warning in self.warnings:
                self.progress.write(f" - {warning}\n")
        return BuildResult(image=image, tags=[str(t) for t in self.tags], warnings=list(self.warnings),
                           notes=list(self.notes), seconds=seconds_so_far)


# -- helpers -----------------------------------------------------------------------------------

_PIP_VALUE_OPTIONS = {
    "-i", "--index-url", "--extra-index-url", "-c", "--constraint", "-t", "--target", "--prefix", "--root",
    "-f", "--find-links", "--trusted-host", "--platform", "--python-version", "--implementation", "--abi",
    "--only-binary", "--no-binary", "--progress-bar", "--src", "--log", "--cache-dir", "--timeout", "--retries",
    "--proxy", "--cert", "--client-cert", "--exists-action", "--global-option", "--config-settings", "-C",
    "--upgrade-strategy", "--root-user-action", "--report", "--python",
}


def _pip_install_args(argv: list[str]) -> list[str] | None:
    """The arguments after `install` if argv is a pip install, else None."""
    while argv and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*=.*", argv[0]):  # FOO=bar pip install ...
        argv = argv[1:]
    if not argv:
        return None
    prog = posixpath.basename(argv[0])
    if re.fullmatch(r"pip(3(\.\d+)?)?", prog) and argv[1:2] == ["install"]:
        return argv[2:]
    if re.fullmatch(r"python(3(\.\d+)?)?", prog):
        rest = argv[1:]
        while rest and rest[0].startswith("-") and rest[0] != "-m":
            rest = rest[1:]
        if rest[:3] == ["-m", "pip", "install"]:
            return rest[3:]
    if prog == "uv" and argv[1:3] == ["pip", "install"]:
        return argv[3:]
    return None


def _split_shell(command: str, env: dict[str, str]) -> list[list[str]]:
    """A shell command line into simple commands (split at && || ; | & and newlines), with
    $VAR and ${VAR} expanded from the build's ENV and ARG values."""
    try:
        lex = shlex.shlex(command, posix=True, punctuation_chars=";&|")
        lex.whitespace_split = True
        lex.commenters = ""
        tokens = list(lex)
    except ValueError:
        return [command.split()]
    groups: list[list[str]] = [[]]
    for token in tokens:
        if token and set(token) <= set(";&|"):
            groups.append([])
        else:
            groups[-1].append(re.sub(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?", lambda m: env.get(m.group(1), ""), token))
    return [g for g in groups if g]


def _python_of(fs: dict[str, Node]) -> dict | None:
    """The stand-in base's Python ({"version", "site_packages"}) from its marker, or None."""
    marker = fs.get(clean(MARKER_PATH))
    if marker is None or marker.kind != "file":
        return None
    try:
        python = json.loads(marker.data).get("python")
    except ValueError:
        return None
    return python if isinstance(python, dict) and python.get("site_packages") else None


def _node_of(entry) -> Node:
    if entry.kind == "dir":
        return Node("dir", 0o755)
    if entry.kind == "symlink":
        return Node("symlink", 0o777, link=entry.link)
    return Node("file", entry.mode, entry.read())


def _is_archive(data: bytes) -> bool:
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:*") as tar:
            return tar.next() is not None
    except (tarfile.TarError, EOFError, OSError):
        return False


def _extract_archive(data: bytes) -> list[tuple[str, Node]]:
    out = []
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:*") as tar:
        for member in tar:
            path = clean(member.name)
            if not path:
                continue
            if member.isdir():
                out.append((path, Node("dir", 0o755)))
            elif member.issym():
                out.append((path, Node("symlink", 0o777, link=member.linkname)))
            elif member.isfile():
                f = tar.extractfile(member)
                out.append((path, Node("file", 0o755 if member.mode & 0o111 else 0o644, f.read() if f else b"")))
    return out


def _expand_ports(word: str, line: int) -> list[str]:
    port, _, proto = word.partition("/")
    proto = (proto or "tcp").lower()
    if proto not in ("tcp", "udp", "sctp"):
        raise BuildError(f"invalid proto: {proto}", line=line)
    start, dash, end = port.partition("-")
    if not start.isdigit() or (dash and not end.isdigit()):
        raise BuildError(f"invalid containerPort: {port}", line=line)
    if dash:
        return [f"{p}/{proto}" for p in range(int(start), int(end) + 1)]
    return [f"{int(start)}/{proto}"]


def _healthcheck(inst: Instruction) -> dict:
    rest = inst.rest.strip()
    if rest.upper() == "NONE":
        return {"Test": ["NONE"]}
    options = {key: values[-1] for key, values in inst.flags.items()}
    keyword, _, command = rest.partition(" ")
    if keyword.upper() != "CMD":
        raise BuildError("Unknown type \"{}\" in HEALTHCHECK (try CMD)".format(keyword), line=inst.line)
    exec_form = parse_json_array(command)
    test = ["CMD", *exec_form] if exec_form is not None else ["CMD-SHELL", command]
    health = {"Test": test}
    for key, name in (("interval", "Interval"), ("timeout", "Timeout"), ("start-period", "StartPeriod"),
                      ("start-interval", "StartInterval")):
        if key in options:
            health[name] = _duration_ns(options[key])
    if "retries" in options:
        health["Retries"] = int(options["retries"])
    return health


def _duration_ns(text: str) -> int:
    total = 0.0
    for number, unit in re.findall(r"([0-9.]+)(ns|us|ms|s|m|h)", text):
        total += float(number) * {"ns": 1, "us": 1e3, "ms": 1e6, "s": 1e9, "m": 60e9, "h": 3600e9}[unit]
    return int(total)


_CONFIG_ORDER = ("User", "ExposedPorts", "Env", "Entrypoint", "Cmd", "Volumes", "WorkingDir", "Labels", "StopSignal",
                 "ArgsEscaped", "Healthcheck", "OnBuild", "Shell")


def _image_config(config: dict) -> dict:
    """The image config's `config` in the OCI/docker field order, empty fields left out
    (Cmd: [] from `CMD []` is kept)."""
    out = {}
    for key in _CONFIG_ORDER:
        value = config.get(key)
        if value is None or (value in ("", {}) and key != "Cmd") or (value == [] and key not in ("Cmd", "Entrypoint")):
            continue
        out[key] = value
    for key, value in config.items():
        if key not in out and key not in _CONFIG_ORDER and value not in (None, "", [], {}):
            out[key] = value
    return out


def _human_bytes(n: int) -> str:
    """go-units HumanSize as BuildKit prints transfer sizes: 2B, 230B, 1.05kB."""
    units = ["B", "kB", "MB", "GB", "TB"]
    size = float(n)
    i = 0
    while size >= 1000 and i < len(units) - 1:
        size /= 1000
        i += 1
    return f"{size:.3g}{units[i]}"


def build(context_dir: str | os.PathLike, tags: list[str] | tuple = (), *, dockerfile: str | None = None,
          build_args: dict[str, str] | None = None, target: str | None = None, platform: str | None = None,
          labels: dict[str, str] | None = None, no_cache: bool = False, store: ImageStore | None = None,
          out: TextIO | None = None) -> BuildResult:
    """Build the Dockerfile in `context_dir` (like `docker build -t TAG context_dir`) into `store`
    (default: the store of LABKIT_HOME). BuildKit-style progress goes to `out` (None: silent).
    Raises BuildError (message after `ERROR: failed to solve: `) or DockerError."""
    return Builder(context_dir, dockerfile=dockerfile, tags=tags, build_args=build_args, target=target,
                   platform=platform, labels=labels, no_cache=no_cache, store=store, out=out).build()


def dockerfile_excerpt(lines: list[str], line: int, name: str = "Dockerfile") -> str:
    """BuildKit's error excerpt: the failing line marked with >>>, two lines around it."""
    if lines and lines[-1] == "":
        lines = lines[:-1]
    start, end = max(1, line - 2), min(len(lines), line + 2)
    out = [f"{name}:{line}", "-" * 20]
    for n in range(start, end + 1):
        marker = ">>>" if n == line else "   "
        out.append(f" {n:>3} | {marker} {lines[n - 1]}")
    out.append("-" * 20)
    return "\n".join(out)
