"""Cloud Run's revisions on the local cloud's runtime (`state.runtime`): an instance is one container
of the revision's image (from the local Artifact Registry) with PORT set to the container port
(8080 unless the template names another: Cloud Run's container contract), ready when the startup
probe passes (TCP on that port by default, as Cloud Run's default startup probe; HTTP when the
template sets one).

- a new revision starts one instance at once (DEPLOYMENT_ROLLOUT); ready -> the revision's Ready
  condition True, failed -> False with Cloud Run's message, and the service keeps serving what it
  served (models.reconcile);
- scale to zero: an instance without requests for `idle_s` seconds (LABKIT_CLOUDRUN_IDLE_SECONDS,
  default IDLE_S; real Cloud Run keeps an idle instance up to 15 minutes) stops, unless the
  template's scaling.min_instance_count asks to keep one; the next request routed to the revision
  starts one again (a cold start: the request waits for it, AUTOSCALING in the revision's log);
- Known gap: one instance per revision at most (real Cloud Run scales out to max_instance_count);
  concurrency and request timeouts are not enforced; a request running longer than idle_s may see its
  instance stopped (the router notes when a request starts, not when it ends).

The revision's log (`Revision.log`: the container's output and Cloud Run's own lines, as in the
revision's logs in Cloud Logging) is kept in memory per revision; Cloud Logging can serve it later.

Model changes happen under `state.lock`; runtime calls never do. Threads end when their work ends or
when CloudState.reset() dropped the backend.
"""
from __future__ import annotations

import os
import sys
import threading
import time
import traceback

from google.cloud import run_v2

from labkit.cloud.gcp.run import router
from labkit.cloud.gcp.run.models import Instance, Revision, Service, State

IDLE_S = 60.0                 # an instance without requests this long stops (scale to zero)
IDLE_ENV = "LABKIT_CLOUDRUN_IDLE_SECONDS"
START_TIMEOUT_S = 20.0        # the startup probe gives up after this (Cloud Run's default TCP probe: 240 s)
START_TIMEOUT_ENV = "LABKIT_CLOUDRUN_START_TIMEOUT"
POLL_S = 0.02                 # between probe attempts
STOP_TIMEOUT_S = 10.0         # SIGTERM, then SIGKILL after 10 s (the container contract)
ROLLOUT = ("Starting new instance. Reason: DEPLOYMENT_ROLLOUT - Instance started due to traffic shifting between "
           "revisions due to deployment, traffic split adjustment, or deployment health check.")
AUTOSCALING = ("Starting new instance. Reason: AUTOSCALING - Instance started due to configured scaling factors "
               "(e.g. CPU utilization, request throughput, etc.) or no existing capacity for current traffic.")
FAILED_TO_LISTEN = ("The user-provided container failed to start and listen on the port defined provided by the "
                    "PORT={port} environment variable within the allocated timeout. This can happen when the "
                    "container port is misconfigured or if the timeout is too short. The health check timeout can "
                    "be extended. Logs for this revision might contain more information.\n\nFor more "
                    "troubleshooting guidance, see "
                    "https://cloud.google.com/run/docs/troubleshooting#container-failed-to-start")
NOT_LOCAL = ("Image '{image}' not found. The labkit local cloud runs images from its own Artifact Registry "
             "(REGION-docker.pkg.dev/PROJECT/REPOSITORY/IMAGE) only: nothing leaves 127.0.0.1. Push the image "
             "there first.")


class Failure(Exception):
    """An instance could not start: the revision's Ready message, and the condition that failed."""

    def __init__(self, message: str, condition: str = "ContainerHealthy", reason=None, revision_reason=None):
        super().__init__(message)
        self.message, self.condition = message, condition
        self.reason, self.revision_reason = reason, revision_reason


class Deployer:
    def __init__(self, backend):
        self.backend = backend
        self.state = backend.state
        self.lock = backend.lock
        self.idle_s = _seconds(os.environ.get(IDLE_ENV), IDLE_S)
        self.start_timeout_s = _seconds(os.environ.get(START_TIMEOUT_ENV), START_TIMEOUT_S)
        self._starting: dict[str, threading.Lock] = {}   # revision uid -> held while an instance starts
        self._guard = threading.Lock()
        self._reaper: threading.Thread | None = None

    # -- the model's calls (under state.lock) ---------------------------------------------------
    def opened(self, service: Service) -> None:
        router.open_routes(self.backend, service)

    def traffic_changed(self, service: Service) -> None:
        router.tag_routes(self.backend, service)

    def deploy(self, service: Service, revision: Revision) -> None:
        threading.Thread(target=self._guarded, args=(self._rollout, service, revision), daemon=True,
                         name=f"cloudrun-{revision.name}").start()

    def deleted(self, service: Service) -> None:
        router.close_tag_routes(self.backend, service)
        revisions = list(service.revisions.values())
        threading.Thread(target=lambda: [self.stop(r) for r in revisions], daemon=True,
                         name=f"cloudrun-delete-{service.name}").start()

    def revision_deleted(self, revision: Revision) -> None:
        threading.Thread(target=self.stop, args=(revision,), daemon=True, name=f"cloudrun-delete-{revision.name}").start()

    # -- rollout --------------------------------------------------------------------------------
    def _guarded(self, work, *args) -> None:
        try:
            work(*args)
        except Exception:  # our bug: say so in the cloud's log; the revision fails as Cloud Run's would
            traceback.print_exc(file=sys.stderr)
            service, revision = args
            with self.lock:
                if self.backend.is_current() and not revision.settled:
                    now = self.backend.clock()
                    revision.ready.set(State.CONDITION_FAILED, now, "The local cloud failed to start the revision "
                                                                     "(an internal error; see the cloud's log).")
                    self.backend.settled(service, revision)

    def _rollout(self, service: Service, revision: Revision) -> None:
        try:
            self.start_instance(service, revision, ROLLOUT)
        except Failure as failure:
            with self.lock:
                if not self.backend.is_current():
                    return
                now = self.backend.clock()
                condition = revision.resources if failure.condition == "ResourcesAvailable" else revision.container_healthy
                condition.set(State.CONDITION_FAILED, now, failure.message, reason=failure.reason,
                              revision_reason=failure.revision_reason)
                revision.ready.set(State.CONDITION_FAILED, now, failure.message, reason=failure.reason,
                                   revision_reason=failure.revision_reason)
                revision.write_log(now, failure.message.split("\n")[0], "system")
                self.backend.settled(service, revision)
            return
        with self.lock:
            if not self.backend.is_current():
                return
            now = self.backend.clock()
            for condition in (revision.resources, revision.container_healthy, revision.ready):
                condition.set(State.CONDITION_SUCCEEDED, now)
            self.backend.settled(service, revision)
        self._ensure_reaper()

    # -- instances ------------------------------------------------------------------------------
    def ensure_running(self, service: Service, revision: Revision):
        """The router's call for a request (outside state.lock): the revision's instance's Upstream,
        starting one if it scaled to zero (the request waits: a cold start); None if it cannot start."""
        instance = revision.instance
        if instance is not None and instance.upstream is not None and not instance.stopping:
            return instance.upstream
        try:
            self.start_instance(service, revision, AUTOSCALING)
        except Failure as failure:
            with self.lock:
                revision.write_log(self.backend.clock(), failure.message.split("\n")[0], "system")
            return None
        self._ensure_reaper()
        instance = revision.instance
        return instance.upstream if instance is not None else None

    def start_instance(self, service: Service, revision: Revision, why: str) -> None:
        """One instance of the revision, ready (its probe passed) when this returns; raises Failure.
        Concurrent callers for one revision wait for the same start."""
        with self._guard:
            starting = self._starting.setdefault(revision.uid, threading.Lock())
        with starting:
            current = revision.instance
            if current is not None and current.upstream is not None and not current.stopping:
                return
            with self.lock:
                if not self.backend.is_current() or revision.deleted_at is not None:
                    raise Failure(f"Revision '{revision.name}' was deleted.")
                instance = Instance(id=self.backend.ids()[:12],
                                    container_name=f"cloudrun/{service.name}/{revision.name}/{self.backend.ids()[:8]}")
                revision.write_log(self.backend.clock(), why, "system")
            files = self._image(revision)
            container = self._launch(service, revision, instance, files)
            try:
                self._wait_ready(revision, instance, container)
            except Failure:
                instance.stopping = True
                self._stop_container(instance)
                raise
            with self.lock:
                dropped = not self.backend.is_current() or revision.deleted_at is not None
                if not dropped:
                    revision.instance = instance
                    revision.last_request = time.monotonic()
            if dropped:
                instance.stopping = True
                self._stop_container(instance)
                raise Failure(f"Revision '{revision.name}' was deleted.")

    def _image(self, revision: Revision):
        image = revision.container.image
        try:
            return image_files(self.state, image)
        except Exception as exc:  # Artifact Registry's ImageNotFound, the runtime's ImageUnavailable, an ECR miss
            text = getattr(exc, "message", None) or str(exc)
            raise Failure(text if text.startswith("Image '") else f"Image '{image}' not found. {text}",
                          reason=run_v2.Condition.CommonReason.CONTAINER_MISSING) from None

    def _launch(self, service: Service, revision: Revision, instance: Instance, files):
        from labkit.cloud.runtime import ContainerSpec, RuntimeLimit

        container = revision.container
        environment = {e.name: e.value for e in container.env if e.value or "value_source" not in e}
        environment.update(PORT=str(revision.port), K_SERVICE=service.name, K_REVISION=revision.name,
                           K_CONFIGURATION=service.name)
        entrypoint = list(container.command) or None     # Cloud Run's command overrides ENTRYPOINT
        command = list(container.args) or None           # args override CMD

        def on_log(_container, stream, timestamp_ms, line):
            with self.lock:
                revision.write_log(timestamp_ms / 1000.0, line, stream)

        def on_exit(_container, exit_code, _reason):
            self._exited(revision, instance, exit_code)

        spec = ContainerSpec(name=instance.container_name, image=files, command=command, entrypoint=entrypoint,
                             environment=environment, working_dir=container.working_dir or None,
                             ports=[revision.port], on_log=on_log, on_exit=on_exit,
                             labels={"run.googleapis.com/revision": revision.full_name})
        try:
            started = self.state.runtime.start(spec)
        except RuntimeLimit:
            raise Failure("The labkit local cloud already runs as many containers as it may. Delete a Cloud Run "
                          "service or revision, or stop other containers (ECS tasks, App Runner services), and "
                          "deploy again.", condition="ResourcesAvailable") from None
        except Exception as exc:
            raise Failure(f"The container could not be started: {exc}",
                          revision_reason=run_v2.Condition.RevisionReason.HEALTH_CHECK_CONTAINER_ERROR) from None
        instance.container = started
        return started

    def _wait_ready(self, revision: Revision, instance: Instance, container) -> None:
        from labkit.cloud.aws.apprunner.deployer import probe
        from labkit.cloud.ingress import Upstream

        port = revision.port
        startup = revision.container.startup_probe
        http = startup.http_get.path if "http_get" in startup else None
        health = {"Protocol": "HTTP", "Path": http or "/", "Timeout": max(1, startup.timeout_seconds or 1)} \
            if http is not None else {"Protocol": "TCP", "Timeout": 1}
        deadline = time.monotonic() + self.start_timeout_s
        attempts = 0
        failed = Failure(FAILED_TO_LISTEN.format(port=port),
                         revision_reason=run_v2.Condition.RevisionReason.HEALTH_CHECK_CONTAINER_ERROR)
        while True:
            if not self.backend.is_current():
                raise Failure("The local cloud was reset.")
            if container.state == "exited":
                raise failed
            attempts += 1
            if probe(container, port, health):
                instance.upstream = Upstream(container.address, container.ports.get(port, port))
                kind = "HTTP" if http is not None else "TCP"
                with self.lock:
                    revision.write_log(self.backend.clock(), f"Default STARTUP {kind} probe succeeded after "
                                       f"{attempts} attempt{'s' if attempts > 1 else ''} for container "
                                       f"\"{revision.container.name or 'app'}\" on port {port}.", "system")
                return
            if time.monotonic() > deadline:
                raise failed
            time.sleep(POLL_S)

    def _exited(self, revision: Revision, instance: Instance, exit_code) -> None:
        """The runtime's on_exit: an instance that ended by itself is gone; the next request starts one."""
        with self.lock:
            if not instance.stopping:
                revision.write_log(self.backend.clock(), f"Container called exit({exit_code}).", "system")
            if revision.instance is instance:
                revision.instance = None
        if instance.upstream is not None:
            self.state.ingress.forget(instance.upstream)

    def stop(self, revision: Revision, why: str | None = None) -> None:
        """Stop the revision's instance, if any (outside state.lock)."""
        with self.lock:
            instance, revision.instance = revision.instance, None
            if instance is not None and why:
                revision.write_log(self.backend.clock(), why, "system")
        if instance is not None:
            instance.stopping = True
            self._stop_container(instance)

    def _stop_container(self, instance: Instance) -> None:
        if instance.upstream is not None:
            self.state.ingress.forget(instance.upstream)
        if instance.container is None:
            return
        try:
            self.state.runtime.stop(instance.container_name, timeout=STOP_TIMEOUT_S, reason="stopped by Cloud Run")
        except Exception:  # already gone
            traceback.print_exc(file=sys.stderr)

    # -- scale to zero ----------------------------------------------------------------------------
    def _ensure_reaper(self) -> None:
        with self._guard:
            if self._reaper is None or not self._reaper.is_alive():
                self._reaper = threading.Thread(target=self._reap, daemon=True, name="cloudrun-scale-to-zero")
                self._reaper.start()

    def _reap(self) -> None:
        while self.backend.is_current():
            time.sleep(min(1.0, max(0.02, self.idle_s / 4)))
            with self.lock:
                revisions = [r for s in list(self.backend.services.values()) for r in s.revisions.values()
                             if r.instance is not None and not r.template.scaling.min_instance_count]
            for revision in revisions:
                self._stop_if_idle(revision)

    def _stop_if_idle(self, revision: Revision) -> None:
        """Stop the instance if it still had no request for idle_s (checked under the lock, where the
        router notes each request, so a request routed meanwhile keeps it)."""
        with self.lock:
            instance = revision.instance
            if instance is None or time.monotonic() - revision.last_request < self.idle_s:
                return
            revision.instance = None
            revision.write_log(self.backend.clock(), f"Instance stopped: no request for {self.idle_s:g} s (scaled "
                                                     f"to zero; the next request starts a new instance).", "system")
        instance.stopping = True
        self._stop_container(instance)


def image_files(state, image: str):
    """The runtime's ImageFiles of a revision's image, from the local Artifact Registry
    (REGION-docker.pkg.dev/PROJECT/REPO/IMAGE[:TAG|@DIGEST]). Raises ImageNotFound saying why."""
    from labkit.cloud.gcp.artifactregistry.images import ImageNotFound, image_files as registry_image_files

    if "-docker.pkg.dev/" not in image:
        raise ImageNotFound(NOT_LOCAL.format(image=image))
    return registry_image_files(state, image)


def _seconds(text, default: float) -> float:
    try:
        value = float(text)
    except (TypeError, ValueError):
        return default
    return value if value > 0 else default
