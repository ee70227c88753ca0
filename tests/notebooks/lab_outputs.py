"""What a lab notebook shows once it has run: solved (every step done) or untouched (Run All on the
version handed out). The same assertions read a notebook nbclient ran here (tests/notebooks) and
the one the grader executed for a sample (tests/grader/test_samples.py: good, good_ko, untouched),
so each lab's solution runs once per `make test`, in the grader's sandbox, not once more here."""
from __future__ import annotations

import json
import re

from .runner import errors, text_of


def cell_texts(nb) -> dict[str, str]:
    """cell id -> its stream text and the text of its rich outputs (markdown tables)."""
    found = {}
    for cell in nb.cells:
        parts = []
        for out in cell.get("outputs", []):
            parts.append(out.get("text", ""))
            parts.append(out.get("data", {}).get("text/markdown", ""))
        found[cell.get("id")] = "".join(parts)
    return found


def _first_failure(nb, step_cell: str) -> dict:
    """Run All (nbclient stops at the first error) and the grader (it runs on) alike: the first cell
    that failed is step 1's test cell; nothing before it (setup, placeholders, helpers) raised."""
    failed = [c for c in nb.cells if any(o.get("output_type") == "error" for o in c.get("outputs", []))]
    assert failed and failed[0].get("id") == step_cell, [(c.get("id"), c.get("outputs")) for c in failed[:3]]
    error = next(o for o in failed[0]["outputs"] if o["output_type"] == "error")
    assert error["ename"] in ("AssertionError", "StepIncomplete"), error
    assert "NotImplementedError" not in json.dumps(nb.cells[:20])
    ids = [c.get("id") for c in nb.cells]
    button = nb.cells[ids.index(f"progress_{step_cell}")]
    assert any("application/vnd.jupyter.widget-view+json" in o.get("data", {}) for o in button.get("outputs", []))
    return error


def _in_language(nb, lang: str) -> None:
    assert ("로컬 클라우드" in text_of(nb)) == (lang == "ko")


def _share(table: str, answer: str) -> tuple[int, float]:
    """(count, percent) of one answer in labkit.aws.hit's table."""
    row = re.search(rf"\| `{re.escape(answer)}` \| (\d+) \| ([\d.]+)% \|", table)
    return (int(row.group(1)), float(row.group(2))) if row else (0, 0.0)


def lab02_solved(nb, lang: str) -> None:
    assert errors(nb) == []
    out = text_of(nb)
    assert "Login Succeeded" in out
    assert "v1.0: digest: sha256:" in out
    # the digest ECR reports is the sha256 of the manifest it serves (printed twice by the notebook)
    says = [line.split(":", 1)[1].strip() for line in out.splitlines() if line.startswith("ECR says")]
    computed = [line.split(":", 1)[1].strip() for line in out.splitlines() if line.startswith("computed")]
    assert says and says == computed
    # Artifact Registry: configure-docker's entry, then the same image (ECR's digest) in my-repo
    assert '"asia-northeast3-docker.pkg.dev": "gcloud"' in out
    listed = re.findall(r"docker\.pkg\.dev/labkit-project/my-repo/my-app\s+(sha256:[0-9a-f]{64})", out)
    assert listed == [says[0]], (listed, says)
    tags = re.findall(r"my-repo/my-app\s+sha256:[0-9a-f]{64}\s+(\S+, \S+)\s", out)
    assert sorted(tags[0].split(", ")) == ["latest", "v1.0"], tags
    _in_language(nb, lang)


def lab02_untouched(nb, lang: str) -> None:
    error = _first_failure(nb, "repository")
    assert ("리포지토리" in error["evalue"] or "레포지토리" in error["evalue"]) == (lang == "ko")


def lab03_solved(nb, lang: str) -> None:
    assert errors(nb) == []
    cells = cell_texts(nb)
    # the lesson's port 80 does not answer, the app says where it listens, revision 2 answers
    assert cells["curl_tasks_v1"].count("(no answer)") == 2, cells["curl_tasks_v1"]
    assert "Running on http://" in cells["read_logs"] and ":8080" in cells["read_logs"]
    assert cells["watch_v2"].count("-> Hello from Container!") == 2, cells["watch_v2"]
    assert "my-task:1" in cells["watch_v2"] and "has reached a steady state" in cells["watch_v2"]
    # ECS refuses the lesson's Service Connect until the port mapping is named
    assert "portName 'http' does not match any named port mapping" in cells["try_backend_service"]
    _in_language(nb, lang)


def lab03_untouched(nb, lang: str) -> None:
    error = _first_failure(nb, "cluster")
    assert ("클러스터" in error["evalue"]) == (lang == "ko")
    setup = cell_texts(nb)["setup_image"]
    assert "latest: digest: sha256:" in setup, setup


def lab09_solved(nb, lang: str) -> None:
    assert errors(nb) == []
    cells = cell_texts(nb)
    # App Runner: the lesson's command deploys, the URL answers once RUNNING; the update takes over
    created = cells["apprunner_helpers"]
    assert "OPERATION_IN_PROGRESS" in created and re.search(r"RUNNING .* -> Hello from AWS!", created), created
    assert "[AppRunner] Health check is successful" in cells["apprunner_logs"]
    update = cells["watch_update"].splitlines()
    assert re.search(r"OPERATION_IN_PROGRESS .* -> Hello from AWS!$", update[0]), update
    assert any(re.search(r"RUNNING .* -> Hello from AWS-v2!$", line) for line in update), update
    assert "UPDATE_SERVICE\tSUCCEEDED" in cells["watch_update"]
    # ECS Express Mode: its endpoint answers, what it made is visible
    assert re.search(r"\.ecs\.ap-northeast-2\.on\.aws/ -> Hello from AWS!", cells["watch_express"])
    assert "FARGATE" in cells["show_express"] and "ecs-gateway-tg-" in cells["show_express"]
    assert "application" in cells["show_express"]
    # the canary: about 10% v2 at 90/10, then v2 alone
    assert "90\t10" in cells["canary_alb"] and "0\t100" in cells["promote"]
    v1, _ = _share(cells["canary_hit"], "Hello from AWS!")
    v2, percent = _share(cells["canary_hit"], "Hello from AWS-v2!")
    assert v1 + v2 == 1000 and 5 <= percent <= 15, cells["canary_hit"]  # binomial: 10 ± 5 is > 5 sigma
    assert _share(cells["after_promotion"], "Hello from AWS-v2!") == (100, 100.0), cells["after_promotion"]
    # Cloud Run from source: gcloud made the repository, built the app folder and deployed it, public;
    # the URL answers, and the image it built is in cloud-run-source-deploy
    deployed = cells["deploy_source"]
    assert "Creating Container Repository....done" in deployed and "Building Container....done" in deployed, deployed
    assert "Service URL: https://my-app-123456789012.asia-northeast3.run.app" in deployed, deployed
    assert _share(cells["cloudrun_hit"], "Hello from GCP!") == (5, 100.0), cells["cloudrun_hit"]
    assert re.search(r"cloud-run-source-deploy/my-app\tsha256:[0-9a-f]{64}", cells["cloudrun_hit"]), cells["cloudrun_hit"]
    _in_language(nb, lang)


def lab09_untouched(nb, lang: str) -> None:
    error = _first_failure(nb, "apprunner")
    assert ("서비스가 아직 없습니다" in error["evalue"]) == (lang == "ko"), error["evalue"]
    assert "Traceback" not in error["evalue"]
    out = cell_texts(nb)
    assert "latest: digest: sha256:" in out["setup_image"], out["setup_image"]
    assert out["setup_roles"].count("arn:aws:iam::123456789012:role/") == 3, out["setup_roles"]
    assert "there is no App Runner service my-app" in out["apprunner_helpers"]
    _in_language(nb, lang)


def lab06_solved(nb, lang: str) -> None:
    assert errors(nb) == []
    cells = cell_texts(nb)
    url = "https://my-service-123456789012.asia-northeast3.run.app"
    # v1 deployed with the lesson's command, public, at the service's URL
    assert "serving 100 percent of traffic" in cells["deploy_v1"] and f"Service URL: {url}" in cells["deploy_v1"]
    assert cells["describe_url"].strip() == url, cells["describe_url"]
    assert "allUsers" in cells["iam_policy"] and "roles/run.invoker" in cells["iam_policy"]
    assert _share(cells["hit_v1"], "Hello from GCP!") == (5, 100.0), cells["hit_v1"]
    # v2 with no traffic: the URL still answers v1, the tag's URL v2
    assert "serving 0 percent of traffic" in cells["deploy_v2"] and "https://v2---my-service-" in cells["deploy_v2"]
    assert "percent=100" in cells["describe_v2"] and "tag=v2" in cells["describe_v2"]
    assert _share(cells["describe_v2"], "Hello from GCP!") == (20, 100.0), cells["describe_v2"]
    assert _share(cells["hit_tag"], "Hello from GCP-v2!") == (5, 100.0), cells["hit_tag"]
    # the canary by revision names read in the notebook: about 10% v2 over 500 requests, then v2 alone
    assert re.search(r"NEW = my-service-00002-\w{3} .*\nOLD = my-service-00001-\w{3} ", cells["revision_names"])
    assert re.search(r"90% my-service-00001-\w{3}\r?\n\s*10% my-service-00002-", cells["canary_traffic"])
    v1, _ = _share(cells["canary_hit"], "Hello from GCP!")
    v2, percent = _share(cells["canary_hit"], "Hello from GCP-v2!")
    assert v1 + v2 == 500 and 4 <= percent <= 16, cells["canary_hit"]  # binomial: 10 ± 6 is 4.5 sigma
    assert "100% LATEST (currently my-service-00002-" in cells["promote_latest"]
    assert _share(cells["after_promotion"], "Hello from GCP-v2!") == (50, 100.0), cells["after_promotion"]
    _in_language(nb, lang)


def lab06_untouched(nb, lang: str) -> None:
    error = _first_failure(nb, "deploy")
    assert ("서비스가 없습니다" in error["evalue"]) == (lang == "ko"), error["evalue"]
    assert "Traceback" not in error["evalue"]
    out = cell_texts(nb)
    assert "Created repository [my-repo]." in out["setup_registry"], out["setup_registry"]
    assert "v1: digest: sha256:" in out["setup_push"], out["setup_push"]
    _in_language(nb, lang)


SOLVED = {"lab02": lab02_solved, "lab03": lab03_solved, "lab06": lab06_solved, "lab09": lab09_solved}  # lab 03: see test_samples.EXECUTED
UNTOUCHED = {"lab02": lab02_untouched, "lab03": lab03_untouched, "lab06": lab06_untouched,
             "lab09": lab09_untouched}
