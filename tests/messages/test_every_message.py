"""Every message a student or an instructor can read, rendered in both languages with the
parameters the checks really pass, and read the way a teacher would: no `null`/`None`/`-` for a
missing value, no doubled words, no markdown left in the widget, no unfilled `{placeholder}`, and
in Korean no particle glued to an inserted value (it cannot agree with every value)."""
from __future__ import annotations

import html
import re
from pathlib import Path

import pytest

from grader import texts as grader_texts
from labkit.checks import lab02
from labkit.checks.core import INFRA, CheckContext, Result
from labkit.checks.progress import failure_text, render_html
from labkit.checks.registry import get_lab
from labkit.messages import catalogue, text
from tests.checks.lab02_states import REGISTRY, SEED_ANSWER, URI

LANGS = ("en", "ko")
PLACEHOLDER = re.compile(r"\{(\w+)(?::[^}]*)?\}")
# A particle straight after a value: `{port}를` is wrong for 4566 (포트 4566을), and no template can
# know the value. Also after a closing backtick or quote around the value.
GLUED_PARTICLE = re.compile(r"\}[`'\"]?(을|를|이|가|은|는|와|과|로|으로|에서|에게|에|의|도|만|랑|이나|나|라는|이라는|라고|이라고)")
MISSING_WORDS = re.compile(r"\b(null|None|undefined|NaN|nan)\b")
DOUBLED = re.compile(r"\b(\w+)\s+\1\b", re.IGNORECASE)
NOT_YOUR_FAULT = ("not your fault", "여러분의 잘못이 아닙니다")

# What the grader's code passes (grader/worker.py, pool.py, notebook.py, feedback.py), and labkit's
# own non-check messages (session.py, cli.py, docker/): realistic values of each placeholder.
REPRESENTATIVE = {
    "state": "unhealthy",
    "commands": "  labkit gcloud run deploy my-service --image=IMAGE --region=asia-northeast3",
    "services": "run.googleapis.com, artifactregistry.googleapis.com",
    "project": "labkit-project", "platform": "gke", "folder": "app",
    "minimum": 3,
    "share": "9.6",
    "version": "v2",
    "infrastructure": "arn:aws:iam::123456789012:role/ecsInfrastructureRoleForExpressServices",
    "execution": "arn:aws:iam::123456789012:role/ecsTaskExecutionRole",
    "v1": "my-app-v1", "v2": "my-app-v2",
    "alb": "my-app-alb",
    "role": "arn:aws:iam::123456789012:role/AppRunnerECRAccessRole",
    "expected": "Hello from AWS!",
    "value": "AWS",
    "group": "/aws/apprunner/my-app/0123456789abcdef0123456789abcdef/service",
    "endpoint": "http://127.0.0.1:4566", "pid": 41234, "count": 2, "url": "https://example.com/app.tar.gz",
    "path": "requirements.txt", "context": "/home/jovyan/app", "dir": "/app", "repo": "my-repo",
    "location": "asia-northeast3", "name": "my-app", "region": "ap-northeast-2", "host": REGISTRY,
    "ref": f"{URI}:v1.0", "command": "run", "image": "alpine:3.19", "address": "127.0.0.1:5000",
    "file": "requirements.txt", "tag": "v1.0", "bases": "python:3.12-slim, node:20-slim", "line": 3,
    "port": 4566, "other": 4567, "account": "123456789012", "lab": "lab02", "error": "ValueError: bad header",
    "notebook": "lab02.ipynb", "found": "notes.ipynb, lab2.ipynb", "cell": "5 (`import time`)", "seconds": 60,
    "code": -9, "signal": 9, "conditions": "push.tags, push.config", "files": "labkit/__init__.py",
    "limit": "1,000,000", "step": "push", "cell_points": 3, "points": 4, "cells": "'push', 'login'",
    "student": "alice", "score": 11, "max_score": 15, "status": "graded", "reason": "not valid JSON",
    "passed": 1, "earned": 1, "total": 3, "more": 1, "title": "Step 4 · Tag and push",
    "detail": "The checker itself failed (KeyError: 'boom').",
    "revision": 2, "task": "1a2b3c4d",  # lab 03: a task definition's revision, a task's short id
    "cluster": "my-cluster", "container": "my-container",  # ECS: a cluster, a container of a task
    "message": "Only FARGATE_SPOT tasks can be interrupted.",  # an error message the cloud returned
    # lab 02 (ECR and Artifact Registry): an image's name, registries, digests, tags
    "uri": "asia-northeast3-docker.pkg.dev/labkit-project/my-repo/my-app", "registry": REGISTRY,
    "cmd": "python app.py", "have": "v1.0", "tags": "latest, v1.0",
    "digest": "sha256:3f1a9c0b2d4e", "ar": "sha256:3f1a9c0b2d4e", "ecr": "sha256:8b7e6d5c4a39",
    "latest": "sha256:8b7e6d5c4a39",
    # lab 06 and lab 09 (Cloud Run): who may call a service, traffic shares, the source deploy repository
    "member": "allUsers", "percent": 100, "v1_percent": 50, "v2_percent": 50,
    "traffic": "my-service-00001-abc 90%, my-service-00002-xyz 10%", "repository": "cloud-run-source-deploy",
    # the lessons' widgets (labkit/widgets): prices' date, a node type, sizes, hours, links to pricing pages
    "date": "2026-12-02", "days": 30, "node": "t3.medium", "vcpu": "0.5", "memory": "1", "hours": "14.7",
    "links": "AWS Fargate, Amazon EKS, GKE, Cloud Run",
    # lesson 06's deployment-strategy simulator: a strategy's name, minutes, tasks, failed requests
    "strategy": "Canary", "promoted": "5.5", "done": "10.5", "alarm": "1.5", "back": "3", "tasks": 8,
    "failed": "1,750",
    # lab 07 (the decision tree as a function, table 7.2, Exercise 2): a scenario and what to reconsider
    # (messages of their own), the call made, what the student's code answered
    "scenario": "@message:lab07.scenario.gcp_idle_api", "reconsider": "@message:lab07.reconsider.gcp_idle_api",
    "call": 'choose(serverless=True, kubernetes=False, cloud="gcp")', "chose": "Fargate on ECS",
    "use_case": "batch jobs", "aws": "ECS Task", "gcp": "Cloud Run Jobs", "numbers": "2, 4", "number": 3,
    "options": "ECS on EC2, ECS Fargate, EKS, App Runner, ECS Express Mode", "missing": "leaf",
    # lesson 07's clickable decision tree: a question and its answer, the service a leaf names
    "question": "Do you need Kubernetes?", "answer": "Yes", "service": "Fargate on EKS",
    "first": "Do you need serverless containers?", "first_answer": "Yes",
    "second": "Do you need Kubernetes features?", "second_answer": "No",
    # what lessons 01 and 08 print (labkit/say.py): apps that fit, a dollar amount, requests a month
    "vms": 42, "containers": 128, "amount": "7.71", "requests": "3,000,000",
    # lab 08 (cost functions): what the student's function gave and what the workload costs
    "got": "$0.59", "want": "$0.60",
}


def problems(rendered: str, lang: str) -> list[str]:
    """What a teacher would not write, in one rendered message or widget row."""
    found = []
    if MISSING_WORDS.search(rendered):
        found.append(f"a missing value shows as {MISSING_WORDS.search(rendered).group()}")
    if PLACEHOLDER.search(rendered):
        found.append(f"unfilled {PLACEHOLDER.search(rendered).group()}")
    doubled = DOUBLED.search(rendered)
    if doubled and not doubled.group(1).isdigit():
        found.append(f"doubled word {doubled.group()!r}")
    if lang == "ko" and rendered.count("아직") > 1:
        found.append("아직 twice")
    for phrase in NOT_YOUR_FAULT:
        if rendered.count(phrase) > 1:
            found.append(f"{phrase!r} twice")
    return found


def bad_values(params: dict) -> list[str]:
    return [f"{k}={v!r}" for k, v in params.items()
            if v is None or (isinstance(v, str) and v.strip() in {"", "-", "None", "null", "[]", "{}"})
            or not isinstance(v, (str, int, float))]


# -- what the checks really produce ------------------------------------------------------------------

def real_messages(outcomes) -> dict[str, list[dict]]:
    """message key -> every params dict a lab 02 check produced for it (hints included)."""
    found: dict[str, list[dict]] = {}
    for o in outcomes:
        for r in o.full:
            found.setdefault(r.key, []).append(r.params)
            found.setdefault(f"{r.key}.hint", []).append(r.params)
    answered = lab02.exercise3_answered(CheckContext("http://127.0.0.1:9", home=None, answers={"exercise3": SEED_ANSWER}))
    found.setdefault(answered[0].key, []).append(answered[0].params)  # a gate that passes is never shown
    return {k: v for k, v in found.items() if k in catalogue("en")}


def test_every_lab02_message_is_reached_by_a_real_state(outcomes):
    """No dead keys, and none this test leaves unchecked with real parameters."""
    reached = set(real_messages(outcomes))
    lab_keys = {k for k in catalogue("en") if k.startswith("lab02.") and not k.startswith("lab02.step.")}
    assert sorted(lab_keys - reached) == []


def test_checks_pass_no_missing_values(outcomes):
    for o in outcomes:
        for r in o.full:
            assert not bad_values(r.params), (o.scenario, r.condition, r.key, r.params)


@pytest.mark.parametrize("lang", LANGS)
def test_real_messages_read_well(outcomes, lang):
    bad = []
    for key, all_params in real_messages(outcomes).items():
        for params in all_params:
            rendered = text(key, lang, **params)
            bad += [f"{key} {params}: {p}: {rendered}" for p in problems(rendered, lang)]
    assert bad == []


# -- every key, with representative values -----------------------------------------------------------

CATALOGUES = {"labkit": catalogue, "grader": grader_texts.catalogue}
RENDER = {"labkit": lambda key, lang, **p: text(key, lang, **p), "grader": grader_texts.text}


@pytest.mark.parametrize("which", sorted(CATALOGUES))
def test_same_keys_and_placeholders_in_both_languages(which):
    en, ko = CATALOGUES[which]("en"), CATALOGUES[which]("ko")
    assert sorted(set(en) ^ set(ko)) == []
    for key in en:
        assert set(PLACEHOLDER.findall(en[key])) == set(PLACEHOLDER.findall(ko[key])), key


@pytest.mark.parametrize("which", sorted(CATALOGUES))
def test_no_korean_particle_straight_after_a_value(which):
    glued = {k: v for k, v in CATALOGUES[which]("ko").items() if GLUED_PARTICLE.search(v)}
    assert glued == {}, "add a noun after the value: '{port}번 포트를', '{cmd} 명령을', '레지스트리 주소({registry})가'"


@pytest.mark.parametrize("which", sorted(CATALOGUES))
@pytest.mark.parametrize("lang", LANGS)
def test_every_message_renders_with_representative_values(which, lang, outcomes):
    real = real_messages(outcomes) if which == "labkit" else {}
    bad = []
    for key, template in CATALOGUES[which](lang).items():
        names = set(PLACEHOLDER.findall(template))
        unknown = names - set(REPRESENTATIVE) - {n for p in real.get(key, []) for n in p}
        assert not unknown, f"{key}: add a representative value for {unknown}"
        for params in [*real.get(key, []), {n: REPRESENTATIVE[n] for n in names if n in REPRESENTATIVE}]:
            if names - set(params):
                continue
            rendered = RENDER[which](key, lang, **params)
            bad += [f"{key}: {p}: {rendered}" for p in problems(rendered, lang)]
    assert bad == []


@pytest.mark.parametrize("which", sorted(CATALOGUES))
def test_korean_terms_of_the_course(which):
    """docs/glossary.ko.md and the lead's decisions: one word per idea."""
    ko = CATALOGUES[which]("ko")
    wrong = {"레포지토리": "리포지토리", "태그를 달": "태그를 붙이", "태그 달": "태그 붙이", "학생 잘못 아님": "여러분의 잘못이 아닙니다",
             "채점 불가": "미채점", "Python": "파이썬"}
    found = [f"{key}: {word} (use {right})" for key, value in ko.items() for word, right in wrong.items()
             if word in re.sub(r"`[^`]*`|python[\w.:-]*|파이썬\(Python\)", "", value)]
    assert found == []
    # The checker (labkit's checks) is 검사기, the grader 채점기: a student must tell them apart.
    en = CATALOGUES[which]("en")
    for key, value in ko.items():
        english = en[key].lower()
        grader = re.search(r"\bgrader\b", english)
        if "checker" in english:
            assert "검사기" in value and ("채점기" not in value or grader), key
        if grader and "checker" not in english:
            assert "채점기" in value or "채점" in value, key


# Korean counts in 만 (ten thousands), as the seed's Korean and lesson 08 do: 100만, 300만, 150만,
# 3,000만, never 1백만, 3백만, 1.5백만 or 3천만. Lab 08's messages and its Korean text count the same way.
ROOT = Path(__file__).resolve().parents[2]
MILLIONS_IN_BAEKMAN = re.compile(r"\d(?:\.\d+)?\s*[백천]만|요청 백만")


def test_korean_request_counts_as_lesson_08_writes_them():
    lab08 = {key: value for key, value in catalogue("ko").items() if key.startswith("lab08.")}
    assert lab08 and [f"{key}: {value}" for key, value in lab08.items() if MILLIONS_IN_BAEKMAN.search(value)] == []
    for source in ("src/labs/lab08.md", "src/lessons/08_pricing.md"):
        assert MILLIONS_IN_BAEKMAN.findall((ROOT / source).read_text(encoding="utf-8")) == [], source
    assert "300만 건" in catalogue("ko")["lab08.case.run_busy"]


# -- the widget and the test cell, for every outcome ----------------------------------------------

def rows(widget: str) -> list[str]:
    """The visible text of each condition row of the widget (tags stripped, entities decoded)."""
    return [html.unescape(re.sub(r"<[^>]+>", "", row)) for row in re.findall(r"<li\b.*?</li>", widget, re.S)]


@pytest.mark.parametrize("lang", LANGS)
def test_widget_for_every_outcome(outcomes, lang):
    bad = []
    for o in outcomes:
        widget = render_html("lab02", o.step, o.visible, lang=lang)
        visible_text = html.unescape(re.sub(r"<[^>]+>", "", widget))
        if "`" in visible_text or "**" in visible_text:
            bad.append(f"{o.scenario}/{o.step}: markdown left: {visible_text}")
        header = html.unescape(re.sub(r"<[^>]+>", "", widget.split("<ul", 1)[0]))
        for row in [header, *rows(widget)]:
            bad += [f"{o.scenario}/{o.step}: {p}: {row}" for p in problems(row, lang)]
        prose = html.unescape(re.sub(r"<[^>]+>", "", re.sub(r"<code.*?</code>", "", widget)))
        if re.search(r"\b[a-z]+\d+\b", prose):  # e.g. 'exercise3' where the step's title belongs
            bad.append(f"{o.scenario}/{o.step}: an id outside code: {prose}")
    assert bad == []


@pytest.mark.parametrize("lang", LANGS)
def test_test_cell_text_for_every_outcome(outcomes, lang):
    bad = []
    for o in outcomes:
        if all(r.passed for r in o.full):
            continue
        said = failure_text("lab02", o.step, o.full, lang=lang)
        title = text(get_lab("lab02").step(o.step).title_key, lang)
        assert said.splitlines()[0].startswith(title), said
        for line in said.splitlines():
            bad += [f"{o.scenario}/{o.step}: {p}: {line}" for p in problems(line, lang)]
    assert bad == []


@pytest.mark.parametrize("lang", LANGS)
def test_checker_problem_reads_well_in_the_widget_and_the_test_cell(lang):
    crashed = [Result("push.tags", False, "check.crashed", kind=INFRA, params={"error": "KeyError: 'boom'"})]
    widget = render_html("lab02", "push", crashed, lang=lang)
    said = failure_text("lab02", "push", crashed, lang=lang)
    for rendered in [*rows(widget), said]:
        assert problems(rendered, lang) == [], rendered
    assert "exercise3" not in said and text("lab02.step.push", lang) in said  # the title, never the id
