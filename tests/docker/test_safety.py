"""Nothing `labkit docker` does leaves 127.0.0.1: outside registries are refused before any
connection, proxies in the environment are not used, and the cloud's registries are reached on
loopback. Runs the CLI under the safety guard (tests/safety/guard), which logs every connection
of the process and refuses any that is not loopback."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

from labkit.docker.registry_client import ecr_credentials

from .conftest import ECR_HOST

GUARD = Path(__file__).resolve().parents[1] / "safety" / "guard"

SCRIPT = textwrap.dedent("""
    import io, json, sys
    from labkit.docker.cli import main

    def docker(*argv, stdin=""):
        sys.stdin = io.StringIO(stdin)
        err, sys.stderr = sys.stderr, io.StringIO()
        try:
            code = main(list(argv))
            return code, sys.stderr.getvalue()
        finally:
            sys.stderr = err

    password, ecr = sys.argv[1], sys.argv[2]
    out = {}
    assert docker("build", "-q", "-t", "my-app", ".")[0] == 0
    for ref in ("ghcr.io/me/my-app:v1", "docker.io/me/my-app", "public.ecr.aws/me/my-app", "10.0.0.1:5000/my-app"):
        docker("tag", "my-app", ref)
        out["push " + ref] = docker("push", ref)
    out["pull gcr"] = docker("pull", "gcr.io/google-containers/pause")
    out["pull ubuntu"] = docker("pull", "ubuntu:24.04")
    out["login quay"] = docker("login", "-u", "x", "--password-stdin", "quay.io", stdin="pw")
    out["login ecr"] = docker("login", "-u", "AWS", "--password-stdin", ecr, stdin=password)
    docker("tag", "my-app", ecr + "/my-app:v1.0")
    out["push ecr"] = docker("push", ecr + "/my-app:v1.0")
    out["pull ecr"] = docker("pull", ecr + "/my-app:v1.0")
    print(json.dumps(out))
""")


def test_no_connection_leaves_loopback(cloud_env, lesson_app, aws, tmp_path):
    aws("ecr").create_repository(repositoryName="my-app")
    env = dict(cloud_env)
    env.update({
        "PYTHONPATH": os.pathsep.join([str(GUARD), env.get("PYTHONPATH", "")]),
        "LABKIT_NET_LOG": str(tmp_path / "net.log"),
        "HTTP_PROXY": "http://192.0.2.1:3128", "HTTPS_PROXY": "http://192.0.2.1:3128",
        "ALL_PROXY": "http://192.0.2.1:3128", "LABKIT_LANG": "en",
    })
    run = subprocess.run([sys.executable, "-c", SCRIPT, ecr_credentials(aws("ecr"))[1], ECR_HOST], cwd=lesson_app,
                         env=env, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    out = json.loads(run.stdout.strip().splitlines()[-1])
    for name in ("push ghcr.io/me/my-app:v1", "push docker.io/me/my-app", "push public.ecr.aws/me/my-app",
                 "push 10.0.0.1:5000/my-app", "pull gcr", "login quay"):
        code, err = out[name]
        assert code == 1 and "refusing to contact" in err, (name, err)
    assert out["pull ubuntu"][0] == 1 and "pull access denied" in out["pull ubuntu"][1]
    assert out["login ecr"][0] == out["push ecr"][0] == out["pull ecr"][0] == 0, out

    log = (tmp_path / "net.log").read_text()
    assert "BLOCKED" not in log
    assert f"ok 127.0.0.1:{cloud_env['LABKIT_AWS_PORT']}" in log
