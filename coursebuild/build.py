"""Which sources exist, what they build to, and bringing the built files up to date.

    src/lessons/X.md  -> course/en/X.ipynb,    course/ko/X.ipynb
    src/labs/X.md     -> solutions/en/X.ipynb, solutions/ko/X.ipynb        (instructor version)
                         course/en/X.ipynb,    course/ko/X.ipynb           (student version, by
                                                                            nbgrader generate_assignment)
    src/lessons/00_index.md -> course/{en,ko}/00_index.ipynb (the course index, a lesson whose
                         `{contents}` is the table of every notebook: coursebuild/index.py),
                         and course/index.ipynb (a language chooser linking both)
    src/diagrams/X.yaml -> img/X.svg next to every notebook showing it, in its language

`course/` is all a student sees (JupyterLab's root in `make lab`): lessons and labs side by side
per language, no sources, no solutions.

`build(root)` computes every output in memory; `sync(root, result)` writes the ones whose bytes
changed and removes notebooks (and diagrams) built from sources that no longer exist; `compare(root, result)`
says what `sync` would do, for `--check` and the tests.
"""
from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from coursebuild.diagrams import IMAGE_DIR, build_images, built_by_us
from coursebuild.errors import SourceError
from coursebuild.notebook import build_notebook, dumps
from coursebuild.index import CHOOSER, INDEX_ID, build_chooser, fill_placeholders
from coursebuild.source import LANGUAGES, Source, Stale, parse

# source folder -> (output folder of the built notebooks, output folder of student versions or None)
TREES = {
    "src/lessons": ("course", None),
    "src/labs": ("solutions", "course"),
}
OUTPUT_DIRS = ("course", *sorted({f"{top}/{lang}" for built, student in TREES.values()
                                  for top in (built, student) if top for lang in LANGUAGES}))
# where diagrams go (coursebuild/diagrams.py): an img/ folder beside each language's notebooks
IMAGE_DIRS = tuple(f"{d}/{IMAGE_DIR}" for d in OUTPUT_DIRS if "/" in d)


@dataclass
class BuildResult:
    outputs: dict[str, bytes] = field(default_factory=dict)  # relative path -> bytes (notebooks)
    images: dict[str, bytes] = field(default_factory=dict)  # relative path -> bytes (diagrams, SVG)
    sources: list[Source] = field(default_factory=list)
    stale: list[Stale] = field(default_factory=list)
    errors: list[SourceError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def files(self) -> dict[str, bytes]:
        """Every file the build writes: notebooks and diagrams."""
        return {**self.outputs, **self.images}


@dataclass
class Changes:
    written: list[str] = field(default_factory=list)  # new or changed
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)  # built from a source that is gone
    foreign: list[str] = field(default_factory=list)  # notebooks (or SVGs) in an output folder no source builds

    @property
    def up_to_date(self) -> bool:
        return not (self.written or self.removed or self.foreign)


def find_root(start: Path | None = None) -> Path:
    """The repository root: the nearest folder above `start` (default: cwd) holding the
    `coursebuild` package, else this package's parent."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "coursebuild" / "__init__.py").exists() and (folder / "course").is_dir():
            return folder
    return Path(__file__).resolve().parent.parent


def find_sources(root: Path) -> list[Path]:
    """Every `*.md` directly in a source folder, except README.md and names starting with '_'."""
    found = []
    for src in TREES:
        folder = root / src
        if folder.is_dir():
            found += sorted(p for p in folder.glob("*.md")
                            if p.name != "README.md" and not p.name.startswith("_"))
    return found


def relative(root: Path, path: Path) -> str:
    return path.resolve().relative_to(root.resolve()).as_posix()


def read_source(root: Path, path: Path) -> Source:
    return parse(path.read_text(encoding="utf-8"), relative(root, path))


def build(root: Path, paths: list[Path] | None = None) -> BuildResult:
    """Build every source (or `paths`) in memory. Source errors are collected, not raised;
    when there are any, `outputs` and `images` are empty (nothing half-built gets written)."""
    from coursebuild.release import student_versions

    result = BuildResult()
    paths = find_sources(root) if paths is None else paths
    for path in paths:
        try:
            result.sources.append(read_source(root, path))
        except SourceError as e:
            result.errors.append(e)
    ids: dict[str, str] = {}
    for source in result.sources:
        tree = source.path.rsplit("/", 1)[0]
        if tree not in TREES:
            result.errors.append(SourceError(source.path, 1, f"sources live in {' or '.join(TREES)}"))
        elif source.is_lab and TREES[tree][1] is None:
            result.errors.append(SourceError(source.path, 1, "'nbgrader: true' sources (labs) live "
                                                            "in src/labs"))
        if source.id in ids:
            result.errors.append(SourceError(source.path, 1, f"id {source.id!r} is also the id of "
                                                            f"{ids[source.id]}"))
        ids[source.id] = source.path
    if result.errors:
        return result
    result.images, result.errors = build_images(root, [(s, _notebook_folders(s)) for s in result.sources])
    if result.errors:
        return result

    solutions: dict[tuple[str, str], bytes] = {}
    claimed: dict[str, str] = {}
    where: dict[tuple[str, str], str] = {}
    for source in result.sources:
        result.stale += source.stale()
        src_dir, name = source.path.rsplit("/", 1)
        name = name.removesuffix(".md")
        built_top, student_top = TREES[src_dir]
        for lang in LANGUAGES:
            data = dumps(fill_placeholders(build_notebook(source, lang), source, result.sources, lang))
            targets = [f"{built_top}/{lang}/{name}.ipynb"] + ([f"{student_top}/{lang}/{name}.ipynb"] if student_top else [])
            for target in targets:
                if target in claimed:  # a lesson and a lab of the same name both land in course/
                    result.errors.append(SourceError(source.path, 1, f"{target} is built from {claimed[target]} too"))
                claimed[target] = source.path
            result.outputs[targets[0]] = data
            if student_top:
                solutions[(lang, name)] = data
                where[(lang, name)] = f"{student_top}/{lang}/{name}.ipynb"
    if result.errors:
        result.outputs, result.images = {}, {}
        return result
    for key, data in student_versions(solutions).items():
        result.outputs[where[key]] = data
    index = next((s for s in result.sources if s.id == INDEX_ID and not s.is_lab), None)
    if index is not None:
        result.outputs[CHOOSER] = dumps(build_chooser(index))
    result.outputs = dict(sorted(result.outputs.items()))
    return result


def _notebook_folders(source: Source) -> dict[str, list[str]]:
    """The folders a source's notebooks land in, per language (where its diagrams must be too)."""
    built_top, student_top = TREES[source.path.rsplit("/", 1)[0]]
    return {lang: [f"{top}/{lang}" for top in (built_top, student_top) if top] for lang in LANGUAGES}


def _built_by_us(path: Path) -> str | None:
    """The source a notebook says it was built from (metadata.labkit.source), if any."""
    try:
        meta = json.loads(path.read_text(encoding="utf-8")).get("metadata", {})
        return meta.get("labkit", {}).get("source")
    except (OSError, ValueError, AttributeError):
        return None


def compare(root: Path, result: BuildResult, source_root: Path | None = None) -> Changes:
    """What `sync` would do to the built files under `root` (sources under `source_root`,
    default the same)."""
    source_root = source_root or root
    changes = Changes()
    for rel, data in result.files.items():
        target = root / rel
        if target.exists() and target.read_bytes() == data:
            changes.unchanged.append(rel)
        else:
            changes.written.append(rel)
    for out_dir in OUTPUT_DIRS:
        for path in sorted((root / out_dir).glob("*.ipynb")):
            rel = f"{out_dir}/{path.name}"
            if rel in result.outputs:
                continue
            source = _built_by_us(path)
            if source and not (source_root / source).exists():
                changes.removed.append(rel)
            else:
                changes.foreign.append(rel)
    for image_dir in IMAGE_DIRS:
        for path in sorted((root / image_dir).glob("*.svg")):
            rel = f"{image_dir}/{path.name}"
            if rel not in result.images:  # ours and no longer shown here: removed; hand-made: reported
                (changes.removed if built_by_us(path) else changes.foreign).append(rel)
    return changes


def sync(root: Path, result: BuildResult, source_root: Path | None = None) -> Changes:
    """Write outputs whose bytes changed (atomically), remove notebooks of deleted sources and
    diagrams no notebook shows any more."""
    changes = compare(root, result, source_root)
    files = result.files
    for rel in changes.written:
        _write_atomic(root / rel, files[rel])
    for rel in changes.removed:
        (root / rel).unlink()
    return changes


def _write_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
