"""`labkit gcloud` through the fast path: served by the labkit zygote (once its idle work has warmed
the Google clients), the same bytes and exit codes as the real command, and a forked child that
makes its own gRPC channel and works (a zygote holding a channel or a gRPC thread would break it)."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.fastcli.test_same_as_real import same

REGION = "--region=asia-northeast3"


@pytest.fixture
def warm(runner):
    """The runner once the labkit zygote has done its idle work (`labkit gcloud`'s imports, which
    wait for a first `labkit gcloud` request)."""
    log = runner.fp.folder / "labkit.log"
    assert runner.run("labkit gcloud config get-value project").returncode == 0
    deadline = time.monotonic() + 60
    while "idle work done" not in log.read_text():
        assert time.monotonic() < deadline, log.read_text()
        time.sleep(0.05)
    return runner


def test_gcloud_commands_are_served_and_the_same(warm):
    same(warm, f"labkit gcloud run services list {REGION}", served=1)
    same(warm, f"labkit gcloud run services describe nobody {REGION}", served=1)  # an API error: exit 1
    same(warm, "labkit gcloud run deploy", served=1)  # a refused command line: exit 2
    same(warm, "labkit gcloud no-such-group", served=1)
    same(warm, "labkit gcloud config get-value project", served=1)
    same(warm, "labkit gcloud logging read 'severity>=INFO' --limit=5 --format=json", served=1)
    same(warm, "labkit gcloud logging read 'severity>=' --limit=5", served=1)  # INVALID_ARGUMENT, exit 1
    created = warm.run("labkit gcloud artifacts repositories create my-repo --repository-format=docker "
                       "--location=asia-northeast3")
    assert created.returncode == 0, created.stderr
    same(warm, "labkit gcloud artifacts repositories list --location=asia-northeast3 --format=json", served=1)
    assert b"my-repo" in warm.run("labkit gcloud artifacts repositories list --location=asia-northeast3").stdout


def test_a_deploy_in_a_forked_child_makes_its_own_grpc_channel(warm, kernel_env):
    """Two deploys in a row, each child with a channel of its own (gRPC's state is not inherited)."""
    from tests.cloud.gcp.run.conftest import push_app

    endpoint = "http://127.0.0.1:" + kernel_env["LABKIT_AWS_PORT"]
    image = push_app(endpoint)  # over REST from this process: no gRPC here either
    before = warm.count("served")
    for name in ("fast-a", "fast-b"):
        done = warm.run(f"labkit gcloud run deploy {name} --image={image} {REGION} --allow-unauthenticated")
        assert done.returncode == 0, done.stderr
        assert f"Service URL: https://{name}-123456789012.asia-northeast3.run.app" in done.stderr.decode()
    assert warm.count("served") - before == 2
    listed = warm.run(f"labkit gcloud run services list {REGION} --format='value(metadata.name)'")
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.decode().split() == ["fast-a", "fast-b"]
    assert warm.count("declined") == 0


def test_an_interrupted_deploy_ends_as_the_real_one(warm, kernel_env):
    """^C (SIGINT, which the shim forwards) while `labkit gcloud run deploy` waits for a revision that
    never gets ready: an uncaught KeyboardInterrupt, killed by SIGINT, in both."""
    from tests.cloud.gcp.run.conftest import push_app

    image = push_app("http://127.0.0.1:" + kernel_env["LABKIT_AWS_PORT"], image="sleeper",
                     app="import time\ntime.sleep(600)\n")
    before = warm.count("served")
    endings = []
    for fast, name in ((True, "sleep-fast"), (False, "sleep-real")):
        env = dict(os.environ, **({} if fast else {"LABKIT_FASTCLI": "0"}))
        proc = subprocess.Popen(["labkit", "gcloud", "run", "deploy", name, f"--image={image}", REGION], env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        time.sleep(2.5)  # past start-up: waiting for the operation
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
        endings.append((proc.returncode, err.decode().rstrip().rsplit("\n", 1)[-1]))
    assert endings[0] == endings[1] == (-signal.SIGINT, "KeyboardInterrupt"), endings
    assert warm.count("served") - before == 1  # the fast one (the other is the real command)


def test_gcloud_imports_wait_for_a_first_gcloud_command(runner):
    """A kernel that only runs `labkit docker` never pays for the Google clients' imports."""
    log = runner.fp.folder / "labkit.log"
    assert runner.run("labkit docker images").returncode == 0
    time.sleep(1.5)  # the zygote has been idle: nothing warmed
    assert "idle work done" not in log.read_text() and "warmed" not in log.read_text()
    assert runner.run("labkit gcloud config get-value project").returncode == 0
    deadline = time.monotonic() + 60
    while "idle work done" not in log.read_text():
        assert time.monotonic() < deadline, log.read_text()
        time.sleep(0.05)
    assert "warmed" in log.read_text()


def test_warm_up_leaves_one_thread_grpc_imported_and_run_v2_lazy():
    """What the zygote forks from: gRPC and the two Cloud Run clients imported, run_v2's __init__
    not run (labkit/gcloud/lazy.py), no thread and no channel (checked in a fresh interpreter)."""
    zygote = Path(__file__).resolve().parents[2] / "labkit" / "fastcli" / "zygote.py"
    script = Path(sys.executable).parent / "labkit"
    code = (f"import sys, threading, os, importlib.util as u\n"
            f"s = u.spec_from_file_location('_z', {str(zygote)!r}); z = u.module_from_spec(s); s.loader.exec_module(z)\n"
            f"trace, idle = z.warm_up('labkit', {str(script)!r})\n"
            f"[work() for work in idle]\n"
            f"m = sys.modules\n"
            f"print('grpc' in m, 'google.cloud.run_v2.services.services' in m, 'google.cloud.artifactregistry_v1' in m,"
            f" 'google.cloud.run_v2.services.jobs' in m, threading.active_count(), len(os.listdir('/proc/self/task')),"
            f" any(type(o).__name__ == 'Channel' for o in __import__('gc').get_objects()))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                         env={**os.environ, "LABKIT_FASTCLI": "0"})
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["True", "True", "True", "False", "1", "1", "False"], out.stdout + out.stderr
