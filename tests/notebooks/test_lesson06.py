"""Lesson 06 (serverless containers) shows a student real output from the local cloud: the
Fargate service's tasks report a real platform version for LATEST and answer `Hello from AWS!` at their
own addresses; the same image pushed to Artifact Registry and deployed with the lesson's `gcloud run
deploy` answers `Hello from GCP!` at its `*.run.app` URL, a second revision and the lesson's 50/50
`update-traffic` split the answers about evenly, and the official client reads the same URL and
traffic; the lesson's App Runner command goes OPERATION_IN_PROGRESS -> RUNNING and its URL answers
`Hello from AWS!`; the ECS Express Mode service made from the same image and two roles answers on its
`*.ecs.REGION.on.aws` endpoint, with its Fargate service, HTTPS listener and healthy target visible; and
the clean-up leaves no container running. Both languages' notebooks are built from the current source
with current Korean. (test_lessons.py runs the lesson in both languages for errors; this checks what the
text says the student will see.)"""
from __future__ import annotations

import re
import time

from coursebuild.build import find_sources, read_source
from coursebuild.index import fill_placeholders
from coursebuild.notebook import build_notebook, dumps

from .runner import ROOT, errors, execute
from .test_lesson03 import container_processes, outputs

SOURCE = ROOT / "src" / "lessons" / "06_serverless.md"


def test_lesson06_shows_what_its_text_describes(tmp_path, monkeypatch):
    nb, cloud, home, netlog = execute(ROOT / "course" / "ko" / "06_serverless.ipynb", tmp_path, monkeypatch)
    try:
        assert errors(nb) == []
        out = {cell: text.replace("\r\n", "\n") for cell, text in outputs(nb).items()}  # `!` lines print CRLF
        assert "latest: digest: sha256:" in out["push_image"]

        # 6.1: LATEST kept by the service, a real version on each task, and the tasks answer
        assert out["create_fargate_service"].split() == ["my-fargate-service", "FARGATE", "LATEST", "2"]
        tasks = re.findall(r"^RUNNING\tFARGATE\t1\.4\.0\t(127\.0\.1\.\d+)$", out["fargate_tasks"], re.M)
        assert len(tasks) == 2 and len(set(tasks)) == 2, out["fargate_tasks"]
        assert sorted(re.findall(r"^(127\.0\.1\.\d+):8080 -> 200 Hello from AWS!$", out["ask_fargate_tasks"], re.M)) \
            == sorted(tasks), out["ask_fargate_tasks"]

        # 6.2 Cloud Run: the image in Artifact Registry, the lesson's deploy, its URL answering; v2, then 50/50
        url = "https://my-service-123456789012.asia-northeast3.run.app"
        assert "latest: digest: sha256:" in out["push_image_gcp"], out["push_image_gcp"]
        assert f"Service URL: {url}" in out["deploy_cloudrun"], out["deploy_cloudrun"]
        v1 = re.search(r"revision \[(my-service-00001-[a-z0-9]{3})\] has been deployed and is serving 100 percent",
                       out["deploy_cloudrun"])
        assert v1, out["deploy_cloudrun"]
        assert out["hit_cloudrun"].startswith(url + "\n") and "Answers({'Hello from GCP!': 5})" in out["hit_cloudrun"]
        v2 = re.search(r"revision \[(my-service-00002-[a-z0-9]{3})\]", out["deploy_cloudrun_v2"])
        assert v2, out["deploy_cloudrun_v2"]
        assert f"new: {v2.group(1)}  old: {v1.group(1)}" in out["split_cloudrun"], out["split_cloudrun"]
        assert f"50% {v1.group(1)}" in out["split_cloudrun"] and f"50% {v2.group(1)}" in out["split_cloudrun"]
        shares = dict(re.findall(r"'Hello from (GCP|GCP-v2)!': (\d+)", out["hit_split"]))
        assert set(shares) == {"GCP", "GCP-v2"} and sum(map(int, shares.values())) == 100, out["hit_split"]
        assert all(25 <= int(n) <= 75 for n in shares.values()), shares  # binomial(100, 0.5): 5 sigma
        assert len(re.findall(r"my-service-0000[12]-[a-z0-9]{3}\s+yes\s+my-service", out["hit_split"])) == 2
        assert out["cloudrun_client"].split("\n")[0] == url, out["cloudrun_client"]
        assert sorted(re.findall(r"^ 50% (my-service-\S+)$", out["cloudrun_client"], re.M)) == [v1.group(1), v2.group(1)]

        # App Runner: the lesson's command, OPERATION_IN_PROGRESS, then RUNNING, then the URL answers
        assert '"Status": "OPERATION_IN_PROGRESS"' in out["create_apprunner_service"]
        statuses = out["wait_apprunner"].split()
        assert statuses[-1] == "RUNNING" and set(statuses) <= {"OPERATION_IN_PROGRESS", "RUNNING"}, statuses
        assert re.fullmatch(r"my-app\tRUNNING\t[a-z0-9]{10}\.ap-northeast-2\.awsapprunner\.com\n",
                            out["describe_apprunner"]), out["describe_apprunner"]
        assert "[AppRunner] Health check is successful. Routing traffic to application." in out["apprunner_service_log"]
        assert "Answers({'Hello from AWS!': 5})" in out["hit_apprunner"]

        # ECS Express Mode: the service and its endpoint, answering; what it made, as ECS and ELBv2 show it
        assert '"statusCode": "ACTIVE"' in out["create_express_service"]
        assert re.fullmatch(r"my-express-service\tACTIVE\tmy-express-service-[0-9a-z]+\.ecs\.ap-northeast-2\.on\.aws\n",
                            out["describe_express_service"]), out["describe_express_service"]
        assert "Answers({'Hello from AWS!': 5})" in out["hit_express"]
        assert "my-express-service\tFARGATE\t1\t1\t8080" in out["express_resources"]
        assert "\tapplication\tinternet-facing\tactive" in out["express_resources"]
        assert "HTTPS\t443" in out["express_resources"]
        assert "\tip\t8080\t/\n" in out["express_resources"]
        assert re.search(r"^127\.0\.1\.\d+\t8080\thealthy$", out["express_resources"], re.M), out["express_resources"]

        # 7 deployment strategies: the simulator is a live widget (its static figure replaced), the
        # six rollouts said in Korean, a bad v2 costing the canary a tenth of what it costs blue/green
        simulator = next(c for c in nb.cells if c.get("id") == "strategy_simulator")
        assert [o.output_type for o in simulator.outputs] == ["execute_result"], simulator.outputs
        assert "application/vnd.jupyter.widget-view+json" in simulator.outputs[0].data
        lines = out["strategies_compare"].split("\n")
        assert sum(1 for line in lines if line.startswith(("롤링 업데이트:", "블루/그린:", "카나리:"))) == 6, lines
        assert "카나리: 1.5분 뒤에 경보가 울렸고" in out["strategies_compare"] and "실패한 요청은 175건" in out["strategies_compare"]
        assert "블루/그린: 1.5분 뒤에 경보가 울렸고" in out["strategies_compare"] and "실패한 요청은 1,750건" in out["strategies_compare"]

        # clean-up: everything deleted, no container left running
        assert "my-app\tOPERATION_IN_PROGRESS" in out["clean_up_services"]
        assert "my-express-service\tDRAINING" in out["clean_up_services"]
        assert "my-fargate-service is INACTIVE" in out["clean_up_services"]
        assert "my-cluster\tINACTIVE" in out["clean_up_rest"]
        assert "Deleted service [my-service]." in out["clean_up_cloudrun"], out["clean_up_cloudrun"]
        assert "Deleted repository [my-repo]." in out["clean_up_cloudrun"], out["clean_up_cloudrun"]
        deadline = time.monotonic() + 20
        while container_processes(tmp_path / "cloud" / "runtime") and time.monotonic() < deadline:
            time.sleep(0.2)
        assert container_processes(tmp_path / "cloud" / "runtime") == []

        assert netlog.blocked() == []
    finally:
        cloud.stop()


def test_lesson06_notebooks_are_built_from_the_current_source():
    """Both languages' notebooks are what `make build` makes of the source now, and no Korean block is
    stale (what `python -m coursebuild --check --strict` says of this lesson)."""
    source = read_source(ROOT, SOURCE)
    assert [f"{s.path}:{s.line}" for s in source.stale()] == []
    sources = [read_source(ROOT, path) for path in find_sources(ROOT)]  # its {next} link names the next one
    for lang in ("en", "ko"):
        built = ROOT / "course" / lang / "06_serverless.ipynb"
        expected = dumps(fill_placeholders(build_notebook(source, lang), source, sources, lang))
        assert built.read_bytes() == expected, f"{built} is out of date: run `make build`"
