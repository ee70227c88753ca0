"""The lesson's Flask app (section 9.1), built and pushed with `labkit docker`, run from the cloud's
ECR model: two containers of it, each answering on its own address:8080, with logs, exec and stop;
under bubblewrap and as plain processes."""
from __future__ import annotations

import time
from pathlib import Path

import pytest

from labkit.cloud.runtime import ContainerSpec, Runtime
from labkit.cloud.runtime.images import ImageUnavailable, image_files
from tests.docker.conftest import LESSON_APP

from .conftest import LESSON_REPOSITORY
from .images import ACCOUNT, REGION


def wait_for(predicate, timeout: float = 15.0, step: float = 0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(step)
    return predicate()


class Recorder:
    def __init__(self):
        self.logs: list[tuple[str, str, int, str]] = []
        self.exits: list[tuple[str, int | None, str]] = []

    def on_log(self, container, stream, ms, line):
        self.logs.append((container.name, stream, ms, line))

    def on_exit(self, container, code, reason):
        self.exits.append((container.name, code, reason))


def lesson_spec(gateway, name: str, recorder: Recorder, **kwargs) -> ContainerSpec:
    image = image_files(gateway.state, ACCOUNT, REGION, LESSON_REPOSITORY, "v1")
    kwargs.setdefault("environment", {"CLOUD_PROVIDER": "AWS"})
    return ContainerSpec(name=name, image=image, ports=[8080], on_log=recorder.on_log, on_exit=recorder.on_exit,
                         **kwargs)


def test_two_containers_of_the_lesson_app(lesson_cloud, isolation):
    runtime = lesson_cloud.state.runtime
    recorder = Recorder()
    before = time.time() * 1000
    containers = [runtime.start(lesson_spec(lesson_cloud, f"ecs/c/task{i}/web", recorder)) for i in (1, 2)]
    assert {c.state for c in containers} <= {"starting", "running"}
    try:
        answers = [wait_for(lambda c=c: c.http_get(8080)) for c in containers]
        assert answers == [(200, b"Hello from AWS!")] * 2
        first, second = containers
        assert first.address != second.address and first.ports == second.ports == {8080: 8080}
        assert runtime.get("ecs/c/task1/web") is first and set(runtime.list()) >= {first, second}

        # logs: Flask's banner, line by line, with epoch-ms timestamps, from both containers
        assert wait_for(lambda: {n for n, s, _, line in recorder.logs if "Running on" in line and s == "stderr"}
                        == {first.name, second.name})
        assert all(before - 1000 <= ms <= time.time() * 1000 + 1000 for _, _, ms, _ in recorder.logs)
        assert all("\n" not in line for *_, line in recorder.logs)

        code, out, err = first.exec(["cat", "/app/app.py"])
        assert (code, out) == (0, LESSON_APP.encode()), err
        code, out, _ = first.exec(["sh", "-c", 'echo "$CLOUD_PROVIDER $PWD"; exit 3'])
        assert code == 3 and out.startswith(b"AWS /") and out.endswith(b"/app\n")
        if isolation.bwrap:  # a plain process's working folder is the image's copy on the host
            assert out == b"AWS /app\n"
        assert first.exec(["no-such-program"])[0] == 127

        runtime.stop(first.name, timeout=5, reason="Task stopped by user")
        assert first.state == "exited" and first.exit_code == 143  # Flask dies of SIGTERM: 128 + 15
        assert (first.name, 143, "Task stopped by user") in recorder.exits
        assert first.http_get(8080) is None and first.finished_at >= first.started_at
        assert second.http_get(8080) == (200, b"Hello from AWS!")  # the other one is untouched
    finally:
        runtime.stop_all(timeout=2)
    assert all(c.state == "exited" for c in containers)


def test_overrides_and_the_course_environment(lesson_cloud, isolation, tmp_path):
    """command/entrypoint/working_dir/environment overrides; Flask is importable (the image's own,
    installed by the build: test_image_packages.py)."""
    runtime = Runtime(tmp_path / "runtime")
    recorder = Recorder()
    spec = lesson_spec(lesson_cloud, "override", recorder, entrypoint=["python", "-c"],
                       command=["import flask, os, sys; print(flask.__name__, os.getcwd(), os.environ['GREETING'])"],
                       working_dir="/srv", environment={"GREETING": "hi"})
    container = runtime.start(spec)
    assert wait_for(lambda: recorder.exits)
    assert recorder.exits == [("override", 0, "exited")], recorder.logs
    (line,) = [line for *_, line in recorder.logs]
    name, cwd, greeting = line.split()
    assert (name, greeting) == ("flask", "hi")
    assert (cwd == "/srv") if isolation.bwrap else cwd.endswith("/rootfs/srv")  # plain: the copy on the host
    assert container.exit_code == 0


def test_image_files_says_what_is_missing(lesson_cloud):
    with pytest.raises(ImageUnavailable, match=r"repository does not exist"):
        image_files(lesson_cloud.state, ACCOUNT, REGION, "no-such-repo", "v1")
    with pytest.raises(ImageUnavailable, match=r"my-app:v9: not found"):
        image_files(lesson_cloud.state, ACCOUNT, REGION, LESSON_REPOSITORY, "v9")
    by_tag = image_files(lesson_cloud.state, ACCOUNT, REGION, LESSON_REPOSITORY, "v1")
    by_digest = image_files(lesson_cloud.state, ACCOUNT, REGION, LESSON_REPOSITORY, by_tag.digest)
    assert by_digest.digest == by_tag.digest and by_tag.config["config"]["Cmd"] == ["python", "app.py"]
    assert len(by_tag.layers) >= 2 and all(read()[:2] == b"\x1f\x8b" for _, read in by_tag.layers)


def test_the_runtime_lives_in_the_clouds_home(lesson_cloud):
    runtime = lesson_cloud.state.runtime
    assert runtime is lesson_cloud.state.runtime
    assert runtime.home == Path(lesson_cloud.home) / "runtime"


def test_inside_the_container_its_own_loopback_reaches_its_app(lesson_cloud, isolation):
    """The lesson's mismatch: the task publishes 80, the app listens on 8080. Inside the container
    (ECS Exec), 127.0.0.1:8080 is the app, in both isolations (a plain process's connects go to the
    container's own address first)."""
    runtime = lesson_cloud.state.runtime
    recorder = Recorder()
    spec = lesson_spec(lesson_cloud, "ecs/c/mismatch/web", recorder)
    spec.ports = [80]
    container = runtime.start(spec)
    try:
        wait_for(lambda: any("Running on" in line for *_, line in recorder.logs))
        assert container.http_get(80) is None  # published, but nothing listens on 80
        ask = ("import urllib.request; print(urllib.request.urlopen('http://127.0.0.1:8080/', timeout=3).read()"
               ".decode())")
        code, out, err = container.exec(["python", "-c", ask])
        assert (code, out) == (0, b"Hello from AWS!\n"), err
    finally:
        runtime.stop_all(timeout=2)
