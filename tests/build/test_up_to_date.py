"""(a) Every committed built notebook is what the build makes of its source now, so a source
edited without `make build` fails CI; building is byte-reproducible and writes only changes."""
from __future__ import annotations

import json

from .helpers import REPO
from coursebuild import build, compare, sync
from coursebuild.__main__ import main


def test_committed_notebooks_match_their_sources(repo_build):
    changes = compare(REPO, repo_build)
    problems = ([f"out of date: {p}" for p in changes.written]
                + [f"source is gone: {p}" for p in changes.removed]
                + [f"not built from any source: {p}" for p in changes.foreign])
    assert not problems, "\n".join(problems) + "\nrun `make build` and commit the result"


def test_every_source_builds_both_languages(repo_build):
    for source in repo_build.sources:
        name = source.path.rsplit("/", 1)[1].removesuffix(".md")
        tops = ["course"] if source.path.startswith("src/lessons/") else ["solutions", "course"]
        for top in tops:
            for lang in ("en", "ko"):
                assert f"{top}/{lang}/{name}.ipynb" in repo_build.outputs


def test_built_notebooks_carry_no_outputs_and_the_labkit_metadata(repo_build, fixture_build):
    for result in (repo_build, fixture_build):
        for rel, data in result.outputs.items():
            nb = json.loads(data)
            lang = rel.split("/")[1] if rel.count("/") == 2 else "en+ko"  # course/index.ipynb: both
            assert nb["nbformat"] == 4 and nb["nbformat_minor"] == 5, rel
            meta = nb["metadata"]
            assert meta["kernelspec"]["name"] == "python3", rel
            assert meta["language_info"]["name"] == "python", rel
            assert meta["labkit"]["lang"] == lang, rel
            assert (REPO / meta["labkit"]["source"]).exists() or result is fixture_build, rel
            assert "jupytext" not in meta, rel  # nbgrader would ship paired sources to students
            for cell in nb["cells"]:
                assert cell["id"], rel
                if cell["cell_type"] == "code":
                    assert cell["execution_count"] is None, rel
                    # a widget's static figure (static=, coursebuild/README.md) is the one output allowed
                    static = cell["metadata"].get("labkit", {}).get("static")
                    assert cell["outputs"] == ([] if not static else cell["outputs"][:1]), rel
                    if static:
                        assert cell["outputs"][0]["output_type"] == "display_data", rel
            assert data.endswith(b"}\n") and b"\\u" not in data.replace(b"\\\\", b""), rel


def test_build_is_byte_reproducible(fixture_tree, fixture_build):
    again = build(fixture_tree)
    assert again.outputs == fixture_build.outputs


def test_sync_writes_only_what_changed(tmp_path, fixture_build, fixture_tree):
    first = sync(tmp_path, fixture_build, fixture_tree)
    assert sorted(first.written) == sorted(fixture_build.outputs)
    target = tmp_path / "course/en/lesson99.ipynb"
    before = target.stat().st_mtime_ns
    second = sync(tmp_path, fixture_build, fixture_tree)
    assert second.written == [] and len(second.unchanged) == len(fixture_build.outputs)
    assert target.stat().st_mtime_ns == before
    target.write_bytes(target.read_bytes().replace(b"Fixture lesson", b"Edited by hand"))
    assert compare(tmp_path, fixture_build, fixture_tree).written == ["course/en/lesson99.ipynb"]


def test_notebook_of_a_deleted_source_is_removed(tmp_path, fixture_build, fixture_tree):
    sync(tmp_path, fixture_build, fixture_tree)
    orphan = tmp_path / "course/en/gone.ipynb"
    orphan.write_bytes((tmp_path / "course/en/lesson99.ipynb").read_bytes()
                       .replace(b"src/lessons/lesson99.md", b"src/lessons/gone.md"))
    foreign = tmp_path / "course/ko/handmade.ipynb"
    foreign.write_text("{}")
    changes = compare(tmp_path, fixture_build, fixture_tree)
    assert changes.removed == ["course/en/gone.ipynb"]
    assert changes.foreign == ["course/ko/handmade.ipynb"]
    sync(tmp_path, fixture_build, fixture_tree)
    assert not orphan.exists() and foreign.exists()  # never delete what the build did not make


def test_check_command_exit_status(tmp_path, fixture_tree, capsys):
    out = tmp_path / "out"
    assert main(["--root", str(fixture_tree), "--out", str(out), "--check", "-q"]) == 1
    assert "out of date: course/en/lesson99.ipynb" in capsys.readouterr().out
    assert main(["--root", str(fixture_tree), "--out", str(out), "-q"]) == 0
    assert main(["--root", str(fixture_tree), "--out", str(out), "--check", "-q"]) == 0
