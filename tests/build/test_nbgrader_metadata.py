"""(f) nbgrader metadata round trip: source attributes -> cell metadata exactly as nbgrader's
"Create Assignment" writes it -> read back by nbgrader unchanged -> kept (plus checksums) in the
student version -> the same attributes again."""
from __future__ import annotations

import copy
import json

import nbformat
import pytest
from nbgrader.nbgraderformat.v3 import MetadataValidatorV3

from .helpers import all_builds
from coursebuild import nbgrader_metadata


def create_assignment_type(meta: dict, cell_type: str) -> str:
    """The cell type nbgrader's Create Assignment toolbar shows for this metadata (its
    `getType`, transcribed from nbgrader 0.9.6's labextension)."""
    if meta.get("task"):
        return "task"
    if meta.get("solution") and meta.get("grade"):
        return "manual"
    if meta.get("solution") and cell_type == "code":
        return "solution"
    if meta.get("grade") and cell_type == "code":
        return "tests"
    if meta.get("locked"):
        return "readonly"
    return ""


@pytest.mark.parametrize("kind, expected", [
    ("solution", {"grade": False, "grade_id": "g", "locked": False, "schema_version": 3,
                  "solution": True, "task": False}),
    ("tests", {"grade": True, "grade_id": "g", "locked": True, "points": 3, "schema_version": 3,
               "solution": False, "task": False}),
    ("readonly", {"grade": False, "grade_id": "g", "locked": True, "schema_version": 3,
                  "solution": False, "task": False}),
    ("manual", {"grade": True, "grade_id": "g", "locked": False, "points": 3, "schema_version": 3,
                "solution": True, "task": False}),
    ("task", {"grade": False, "grade_id": "g", "locked": True, "points": 3, "schema_version": 3,
              "solution": False, "task": True}),
])
def test_metadata_is_what_create_assignment_writes(kind, expected):
    meta = nbgrader_metadata(kind, "g", 3)
    assert meta == expected
    assert list(meta) == sorted(meta)


def test_round_trip_through_nbgrader(repo_build, fixture_build):
    validator = MetadataValidatorV3()
    labs = [b for b in all_builds(repo_build, fixture_build) if b[3]]
    assert any(label.endswith("lab99.md") for label, *_ in labs)
    for label, source, built, student in labs:
        for lang in ("en", "ko"):
            nb = nbformat.reads(built[lang].decode(), as_version=4)
            validator.validate_nb(nb)  # raises on a bad or duplicate grade id, missing points...
            released = nbformat.reads(student[lang].decode(), as_version=4)
            validator.validate_nb(released)
            for cell, src, out in zip(nb.cells, source.cells, released.cells):
                where = f"{label} {lang} {cell.id}"
                kind = src.attrs.get("nbgrader")
                if not kind:
                    assert "nbgrader" not in cell.metadata and "nbgrader" not in out.metadata, where
                    continue
                meta = cell.metadata["nbgrader"]
                again = validator.upgrade_cell_metadata(copy.deepcopy(cell))
                assert again.metadata["nbgrader"] == meta, f"{where}: nbgrader would rewrite it"
                assert create_assignment_type(meta, cell.cell_type) == kind, where
                assert meta["grade_id"] == cell.id == src.attrs.get("id", cell.id), where
                assert meta.get("points") == src.attrs.get("points"), where
                kept = {k: v for k, v in out.metadata["nbgrader"].items() if k not in ("checksum", "cell_type")}
                assert kept == meta, f"{where}: generate_assignment changed the metadata"
                assert out.metadata["nbgrader"]["cell_type"] == cell.cell_type, where
                assert len(out.metadata["nbgrader"]["checksum"]) == 32, where


def test_points_total_is_the_same_in_both_languages(repo_build, fixture_build):
    for label, _source, built, student in all_builds(repo_build, fixture_build):
        totals = {lang: sum(c["metadata"].get("nbgrader", {}).get("points", 0)
                            for c in json.loads(built[lang])["cells"]) for lang in ("en", "ko")}
        assert totals["en"] == totals["ko"], label
