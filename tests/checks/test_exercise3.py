"""Exercise 3's answer is read from text and judged without running anything."""
from __future__ import annotations

from pathlib import Path

import pytest

from labkit.checks.core import CheckContext
from labkit.checks.registry import get_lab

REG = "123456789012.dkr.ecr.ap-northeast-2.amazonaws.com"
SEED_ANSWER = f"""
# Step 1: Authenticate Docker to ECR
aws ecr get-login-password --region ap-northeast-2 | \\
    docker login --username AWS --password-stdin \\
    {REG}

# Step 2: Build and tag the image
docker build -t my-app .
docker tag my-app:latest \\
    {REG}/my-app:v1.0

# Step 3: Push to ECR
docker push {REG}/my-app:v1.0
"""


def results(answer):
    ctx = CheckContext(endpoint="http://127.0.0.1:9", home=Path("/nonexistent"), answers={"exercise3": answer})
    return {r.condition: r for r in get_lab("lab02").step("exercise3").run(ctx)}


def test_the_seed_answer_passes_every_condition():
    found = results(SEED_ANSWER)
    assert all(r.passed for r in found.values()), {k: r.key for k, r in found.items()}
    assert sum(r.earned for r in found.values()) == 4


def test_labkit_prefix_and_notebook_bang_are_the_same_commands():
    answer = "\n".join([
        f"!aws ecr get-login-password --region ap-northeast-2 | labkit docker login --username AWS --password-stdin https://{REG}",
        f"!labkit docker build --tag my-app app",
        f"!labkit docker tag my-app {REG}/my-app:v1.0",
        f"!labkit docker push {REG}/my-app:v1.0",
    ])
    assert all(r.passed for r in results(answer).values())


@pytest.mark.parametrize("stub", [
    "\n# YOUR CODE HERE\nraise NotImplementedError()\n",      # nbgrader's default, English
    "\n# 여기에 코드를 작성하세요\nraise NotImplementedError()\n",  # the Korean notebook's
    "\n# YOUR CODE HERE\n",                                    # the stub without the raise line
    "\n# 여기에 코드를 작성하세요\n",
    "",
])
def test_untouched_stub_is_one_not_answered_yet_worth_the_whole_step(stub):
    """Said once, in place of four specific failures the student has not even attempted."""
    found = results(stub)
    assert list(found) == ["exercise3.answered"]
    (only,) = found.values()
    assert (only.passed, only.key, only.points, only.step) == (False, "lab02.exercise3.unanswered", 4, "exercise3")


def test_the_built_student_notebooks_count_as_unanswered_in_both_languages():
    """What a student really opens: the grader reads the answer from the cell source."""
    import json

    root = Path(__file__).resolve().parents[2]
    for lang in ("en", "ko"):
        nb = json.loads((root / "course" / lang / "lab02.ipynb").read_text(encoding="utf-8"))
        ctx = CheckContext(endpoint="http://127.0.0.1:9", home=Path("/nonexistent"), notebook=nb)
        assert [r.key for r in get_lab("lab02").step("exercise3").run(ctx)] == ["lab02.exercise3.unanswered"], lang


def test_an_answer_written_under_the_stub_line_is_an_answer():
    found = results("\n# 여기에 코드를 작성하세요\n" + SEED_ANSWER)
    assert all(r.passed for r in found.values()) and len(found) == 4


def test_push_before_tag_is_out_of_order_but_other_parts_count():
    answer = "\n".join([
        f"aws ecr get-login-password --region ap-northeast-2 | docker login --username AWS --password-stdin {REG}",
        "docker build -t my-app .",
        f"docker push {REG}/my-app:v1.0",
        f"docker tag my-app:latest {REG}/my-app:v1.0",
    ])
    found = results(answer)
    assert found["exercise3.order"].passed is False
    assert found["exercise3.order"].key == "lab02.exercise3.order.bad"
    assert found["exercise3.login"].passed and found["exercise3.push"].passed
    assert sum(r.earned for r in found.values()) == 3  # partial credit


@pytest.mark.parametrize("login, why", [
    (f"aws ecr get-login-password --region us-east-1 | docker login --username AWS --password-stdin {REG}", "region"),
    (f"aws ecr get-login-password --region ap-northeast-2 | docker login --username admin --password-stdin {REG}", "user"),
    ("aws ecr get-login-password --region ap-northeast-2 | docker login --username AWS --password-stdin docker.io", "host"),
    (f"docker login --username AWS {REG}", "no password pipe"),
])
def test_wrong_login_is_caught(login, why):
    answer = SEED_ANSWER.replace(SEED_ANSWER.split("# Step 2")[0], "\n" + login + "\n")
    found = results(answer)
    assert not found["exercise3.login"].passed, why
    assert found["exercise3.push"].passed


def test_build_with_the_ecr_name_directly_counts_as_build_and_tag():
    answer = "\n".join([
        f"aws ecr get-login-password --region ap-northeast-2 | docker login --username AWS --password-stdin {REG}",
        f"docker build -t {REG}/my-app:v1.0 .",
        f"docker push {REG}/my-app:v1.0",
    ])
    assert all(r.passed for r in results(answer).values())


def test_grader_reads_the_answer_from_the_cell_source_not_the_kernel():
    cell = {"cell_type": "code", "source": f'exercise3 = """{SEED_ANSWER}"""\n', "metadata": {}}
    poisoned = {"cell_type": "code", "source": "exercise3 = compute_something()", "metadata": {}}
    ctx = CheckContext(endpoint="http://127.0.0.1:9", home=Path("/nonexistent"),
                       notebook={"cells": [cell]}, answers={"exercise3": "ignored: the notebook wins"})
    assert all(r.passed for r in get_lab("lab02").step("exercise3").run(ctx))
    ctx2 = CheckContext(endpoint="http://127.0.0.1:9", home=Path("/nonexistent"), notebook={"cells": [poisoned]})
    assert not any(r.passed for r in get_lab("lab02").step("exercise3").run(ctx2))


def test_commands_on_one_line_keep_their_order():
    """`a && b` is a, then b: on one line, the push after the build is in order, before it is not."""
    login = f"aws ecr get-login-password --region ap-northeast-2 | docker login --username AWS --password-stdin {REG}"
    build, push = f"docker build -t {REG}/my-app:v1.0 .", f"docker push {REG}/my-app:v1.0"
    assert all(r.passed for r in results(f"{login} && {build} && {push}").values())
    found = results(f"{login}; {push}; {build}")
    assert found["exercise3.order"].key == "lab02.exercise3.order.bad"
    assert sum(r.earned for r in found.values()) == 3
