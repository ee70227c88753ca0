"""What App Runner does for each operation, on a thread of its own: pulls (resolves) the image from
ECR, starts the application's container on the runtime (`state.runtime`) with its port, environment
and start command, health-checks it as App Runner does (TCP by default, HTTP on a path), points the
service URL's ingress route at it, stops the container it replaces, and writes the service's events.

A failed first deployment ends CREATE_FAILED; a failed update or deployment rolls back
(ROLLBACK_SUCCEEDED) with the old container still serving, as App Runner does. Real App Runner takes
minutes per operation; here each step lasts as long as it really takes (the health check polls every
POLL_S), so a service answers as soon as its app does.

Model changes happen under `state.lock`; runtime calls never do. Every thread ends when its
operation ends or when CloudState.reset() dropped the backend (it then stops what it started).
"""
from __future__ import annotations

import os
import shlex
import socket
import sys
import threading
import time
import traceback

from labkit.cloud.aws import ecr_images
from labkit.cloud.aws.apprunner import validation
from labkit.cloud.aws.apprunner.models import Instance, Operation, Service
from labkit.cloud.ingress import Route, Upstream
from labkit.cloud.state import seconds_setting as _seconds

POLL_S = 0.05              # between health checks (App Runner: HealthCheckConfiguration.Interval, 5 s)
START_TIMEOUT_S = 20.0     # a new instance that is not healthy by then fails its deployment
START_TIMEOUT_ENV = "LABKIT_APPRUNNER_START_TIMEOUT"  # seconds, to change it (tests, a slow machine)
TCP_SETTLE_S = 0.2         # a published port closed this fast after connecting has nothing behind it
STOP_TIMEOUT_S = 10.0
REPLACE_DELAYS_S = (1.0, 2.0, 4.0, 8.0, 16.0)  # replacing an instance that exited by itself
PAUSED_ANSWER = (404, "404 Not Found\n")       # the URL of a service that runs no instance (see fidelity.md)
NOT_LOCAL = ("The labkit local cloud pulls images from its own Amazon ECR only, and {image} is not one of its "
             "images (nothing leaves 127.0.0.1). Push the image to this cloud's ECR and use ImageRepositoryType ECR.")


class Failure(Exception):
    """A deployment step failed: `lines` for the deployment log, `reason` for App Runner's failure event."""

    def __init__(self, reason: str, *lines: str):
        super().__init__(reason)
        self.reason, self.lines = reason, lines


class Deployer:
    def __init__(self, backend):
        self.backend = backend
        self.state = backend.state
        self.lock = backend.lock
        self.logs = backend.logs
        self.start_timeout_s = _seconds(os.environ.get(START_TIMEOUT_ENV), START_TIMEOUT_S)

    # -- the URL ----------------------------------------------------------------------------------
    def open_route(self, service: Service) -> None:
        """The service URL's route, from creation on: it answers once an instance serves."""
        self.state.ingress.add(Route(host=service.url, port=80, pick=lambda environ: service.upstream(),
                                     unavailable=lambda: PAUSED_ANSWER, owner=service.arn))

    # -- operations -------------------------------------------------------------------------------
    def run(self, service: Service, operation: Operation, deploy: bool = True) -> None:
        kinds = {"PAUSE_SERVICE": self._pause, "DELETE_SERVICE": self._delete}
        work = kinds.get(operation.type, self._deploy if deploy else self._record)
        threading.Thread(target=self._guarded, args=(work, service, operation), daemon=True,
                         name=f"apprunner-{operation.type.lower()}").start()

    def replace(self, service: Service) -> None:
        """A new instance for a RUNNING service whose instance ended (no operation is listed for it)."""
        threading.Thread(target=self._guarded, args=(self._deploy, service, None), daemon=True,
                         name="apprunner-replace").start()

    def _guarded(self, work, service: Service, operation: Operation | None) -> None:
        try:
            work(service, operation)
        except Exception:  # our bug: say so in the cloud's log; the operation fails as App Runner's would
            traceback.print_exc(file=sys.stderr)
            with self.lock:
                if operation is not None and operation.ended_at is None:
                    operation.set("FAILED", self.backend.clock())
                    service.status = {"CREATE_SERVICE": "CREATE_FAILED", "DELETE_SERVICE": "DELETE_FAILED"}.get(
                        operation.type, "RUNNING" if service.serving is not None else "PAUSED")

    def _start(self, operation: Operation | None) -> bool:
        """PENDING -> IN_PROGRESS; False when a reset came first."""
        with self.lock:
            if not self.backend.is_current():
                return False
            if operation is not None:
                operation.set("IN_PROGRESS", self.backend.clock())
            return True

    def _record(self, service: Service, operation: Operation) -> None:
        """UpdateService on a paused service: the configuration is kept, nothing runs until resume."""
        if not self._start(operation):
            return
        with self.lock:
            now = self.backend.clock()
            operation.set("SUCCEEDED", now)
            service.status, service.updated_at = "PAUSED", now
            self.logs.event(service, "Service update completed successfully.")
            self.logs.event(service, "Service status is set to PAUSED.")

    def _deploy(self, service: Service, operation: Operation | None) -> None:
        """CREATE_SERVICE, UPDATE_SERVICE, START_DEPLOYMENT, RESUME_SERVICE, or (operation None) the
        replacement of an instance that exited."""
        if not self._start(operation):
            return
        with self.lock:
            version = service.version
            image = validation.image_of(version.source)
            instance_id = self.backend.new_hex()
        instance = Instance(id=instance_id, container_name=f"apprunner/{service.name}/{service.id}/{instance_id}",
                            version=version)
        try:
            files = self._pull(service, operation, image)
            self._launch(service, operation, instance, image, files)
            self._wait_healthy(service, operation, instance, image["port"], version.health)
        except Failure as failure:
            self._failed(service, operation, instance, failure)
            return
        except _Dropped:
            self._stop(instance)
            return
        self._serve(service, operation, instance)

    # -- the steps of a deployment ------------------------------------------------------------------
    def _pull(self, service: Service, operation: Operation | None, image: dict):
        identifier = image["identifier"]
        where = ecr_images.parse(identifier) if image["kind"] == "ECR" else None
        if where is None:
            raise Failure("Failed to copy the image from ECR.", "Failed to copy the image from ECR.",
                          NOT_LOCAL.format(image=identifier))
        self._detail(service, operation, f"Pulling image {identifier} from ECR repository.")
        try:
            files = ecr_images.image_files(self.state, *where)
        except Exception as exc:  # ECR's EcrError, or the runtime's ImageUnavailable (a LookupError)
            text = getattr(exc, "message", None) or str(exc)
            raise Failure("Failed to copy the image from ECR.", "Failed to copy the image from ECR.",
                          f"The image {identifier} could not be pulled: {text}") from None
        self._detail(service, operation, "Successfully copied the image from ECR.")
        return files

    def _launch(self, service: Service, operation: Operation | None, instance: Instance, image: dict, files) -> None:
        from labkit.cloud.runtime import ContainerSpec, RuntimeLimit

        with self.lock:
            if not self.backend.is_current() or service.status == "DELETED":
                raise _Dropped()
            self._detail(service, operation, "Provisioning instances and deploying image for publicly accessible "
                                             "service.")
            if image["secrets"]:
                self._detail(service, operation, "RuntimeEnvironmentSecrets are not resolved by the labkit local "
                                                 "cloud: the secrets are not set in the container.")
        command = shlex.split(image["start_command"]) if image["start_command"] else None

        def on_log(_container, _stream, timestamp_ms, line):
            self.logs.application(service, instance.id, timestamp_ms, line)

        def on_exit(container, exit_code, reason):
            self._exited(service, instance, container, exit_code)

        spec = ContainerSpec(name=instance.container_name, image=files, command=command,
                             environment=dict(image["environment"]), ports=[image["port"]], on_log=on_log,
                             on_exit=on_exit, labels={"com.amazonaws.apprunner.service-arn": service.arn})
        try:
            runtime = self.state.runtime
            container = runtime.start(spec)
        except RuntimeLimit:
            raise Failure("Failed to provision instances.", "Failed to provision instances: the labkit local cloud "
                          "already runs as many containers as it may. Delete or pause a service, or stop ECS "
                          "tasks, and try again.") from None
        except Exception as exc:
            raise Failure("Failed to deploy your application image.",
                          f"Failed to deploy your application image: {exc}") from None
        instance.container = container

    def _wait_healthy(self, service: Service, operation: Operation | None, instance: Instance, port: int,
                      health: dict) -> None:
        if health["Protocol"] == "HTTP":
            self._detail(service, operation, f"Performing health check on path '{health['Path']}' and port '{port}'.")
        else:
            self._detail(service, operation, f"Performing health check on protocol `TCP` [Port: '{port}'].")
        container, passed = instance.container, 0
        deadline = time.monotonic() + self.start_timeout_s
        while True:
            if not self.backend.is_current():
                raise _Dropped()
            if container.state == "exited":
                raise Failure("Your application stopped or failed to start.",
                              "Your application stopped or failed to start. See logs for more information.")
            passed = passed + 1 if probe(container, port, health) else 0
            if passed >= health["HealthyThreshold"]:
                instance.upstream = Upstream(container.address, container.ports.get(port, port))
                return
            if time.monotonic() > deadline:
                where = (f"on path '{health['Path']}' and port '{port}'" if health["Protocol"] == "HTTP"
                         else f"on port '{port}'")
                raise Failure("Health check failed.", f"Health check failed {where}. Check your configured port "
                                                      f"number. For more information, read the application logs.")
            time.sleep(POLL_S)

    def _serve(self, service: Service, operation: Operation | None, instance: Instance) -> None:
        """The new instance takes over the URL; the one it replaces stops."""
        with self.lock:
            if not self.backend.is_current() or service.status == "DELETED" or \
                    (operation is None and service.status != "RUNNING"):
                old = instance  # a reset, a delete or a pause came first: this instance is not wanted
            else:
                old, service.serving = service.serving, instance
                service.deployed, service.replacements = instance.version, 0
                now = self.backend.clock()
                first = operation is not None and operation.type == "CREATE_SERVICE"
                self._detail(service, operation, "Health check is successful. Routing traffic to application.")
                if operation is not None:
                    operation.set("SUCCEEDED", now)
                    service.status, service.updated_at = "RUNNING", now
                    self.logs.event(service, "Service creation completed successfully." if first else
                                    "Deployment completed successfully." if operation.type != "RESUME_SERVICE" else
                                    "Service resume completed successfully.", operation)
                    self.logs.event(service, "Service status is set to RUNNING.")
                else:
                    self.logs.event(service, "A replacement instance is serving the application.")
        if old is not None:
            self._stop(old)

    def _failed(self, service: Service, operation: Operation | None, instance: Instance, failure: Failure) -> None:
        with self.lock:
            current = self.backend.is_current()
            if current:
                for line in failure.lines:
                    self._detail(service, operation, line)
            if current and operation is not None:
                now = self.backend.clock()
                label = operation.id.replace("-", "")
                self.logs.event(service, f"Deployment with ID : {label} failed. Failure reason : {failure.reason}")
                if operation.type == "CREATE_SERVICE":
                    operation.set("FAILED", now)
                    service.status, service.updated_at = "CREATE_FAILED", now
                    self.logs.event(service, "Service creation failed. For details, see service logs.")
                    self.logs.event(service, "Service status is set to CREATE_FAILED.")
                elif operation.type == "RESUME_SERVICE":
                    operation.set("FAILED", now)
                    service.status, service.updated_at = "PAUSED", now
                    self.logs.event(service, "Service resume failed. For details, see service logs.")
                    self.logs.event(service, "Service status is set to PAUSED.")
                else:  # UPDATE_SERVICE, START_DEPLOYMENT: the old version keeps serving
                    operation.set("ROLLBACK_IN_PROGRESS", now)
                    self.logs.event(service, "Deployment failed. For details, see service logs.")
        self._stop(instance)
        with self.lock:
            if not self.backend.is_current():
                return
            if operation is None:
                self._replace_later(service)
            elif operation.status == "ROLLBACK_IN_PROGRESS":
                now = self.backend.clock()
                if operation.rollback is not None:
                    service.version = operation.rollback
                operation.set("ROLLBACK_SUCCEEDED", now)
                service.status, service.updated_at = "RUNNING", now
                self.logs.event(service, "Rollback completed successfully. The previous version is still serving.")
                self.logs.event(service, "Service status is set to RUNNING.")

    # -- pause, delete ------------------------------------------------------------------------------
    def _pause(self, service: Service, operation: Operation) -> None:
        if not self._start(operation):
            return
        with self.lock:
            old, service.serving = service.serving, None
        if old is not None:
            self._stop(old)
        with self.lock:
            if self.backend.is_current():
                now = self.backend.clock()
                operation.set("SUCCEEDED", now)
                service.status, service.updated_at = "PAUSED", now
                self.logs.event(service, "Service pause completed successfully.", operation)
                self.logs.event(service, "Service status is set to PAUSED.")

    def _delete(self, service: Service, operation: Operation) -> None:
        if not self._start(operation):
            return
        with self.lock:
            old, service.serving = service.serving, None
            self.state.ingress.remove(service.arn)
        if old is not None:
            self._stop(old)
        with self.lock:
            if self.backend.is_current():
                now = self.backend.clock()
                operation.set("SUCCEEDED", now)
                service.status, service.updated_at, service.deleted_at = "DELETED", now, now
                self.logs.event(service, "Service deletion completed successfully.", operation)
                self.logs.event(service, "Service status is set to DELETED.")

    # -- instances ----------------------------------------------------------------------------------
    def _stop(self, instance: Instance) -> None:
        instance.stopping = True
        if instance.upstream is not None:
            self.state.ingress.forget(instance.upstream)
        if instance.container is None:
            return
        try:
            self.state.runtime.stop(instance.container_name, timeout=STOP_TIMEOUT_S, reason="stopped by App Runner")
        except Exception:  # already gone
            traceback.print_exc(file=sys.stderr)

    def _exited(self, service: Service, instance: Instance, container, exit_code) -> None:
        """The runtime's on_exit (its thread): a serving instance that ended by itself is replaced, as App
        Runner replaces an instance that fails."""
        if instance.stopping or getattr(container, "stop_reason", None) is not None:
            return
        with self.lock:
            if not self.backend.is_current() or service.serving is not instance or service.status != "RUNNING":
                return
            service.serving = None
            self.logs.event(service, f"Your application stopped (exit code {exit_code}). App Runner is replacing the "
                                     f"instance. For more information, read the application logs.")
        if instance.upstream is not None:
            self.state.ingress.forget(instance.upstream)
        self.replace(service)

    def _replace_later(self, service: Service) -> None:
        """A replacement failed: try again after a while (under the lock)."""
        attempt = service.replacements
        if attempt >= len(REPLACE_DELAYS_S) or service.status != "RUNNING" or service.serving is not None:
            return
        service.replacements = attempt + 1

        def later():
            time.sleep(REPLACE_DELAYS_S[attempt])
            with self.lock:
                wanted = self.backend.is_current() and service.status == "RUNNING" and service.serving is None
            if wanted:
                self._guarded(self._deploy, service, None)
        threading.Thread(target=later, daemon=True, name="apprunner-replace").start()

    def _detail(self, service: Service, operation: Operation | None, line: str) -> None:
        if operation is not None:
            self.logs.deployment(service, operation, line)
        else:
            self.logs.event(service, line)


class _Dropped(Exception):
    """A reset (or a delete) came while the deployment ran: stop what it started, change nothing."""


def probe(container, port: int, health: dict) -> bool:
    """One health check of the instance, as App Runner's: TCP (something listens on the port and
    accepts a connection) or HTTP (GET Path answers 2xx/3xx)."""
    if container.state != "running":
        return False
    if health["Protocol"] == "HTTP":
        answer = container.http_get(port, health["Path"], timeout=float(health["Timeout"]))
        return answer is not None and 200 <= answer[0] < 400
    host_port = container.ports.get(port)
    inside = listens_inside(container, port)
    if host_port is None or inside is False:
        return False
    try:
        conn = socket.create_connection((container.address, host_port), timeout=float(health["Timeout"]))
    except OSError:
        return False
    with conn:
        if inside:
            return True
        # Not known from /proc: the runtime's relay accepts at once and closes if nothing listens inside.
        conn.settimeout(TCP_SETTLE_S)
        try:
            return conn.recv(1) != b""
        except socket.timeout:
            return True
        except OSError:
            return False


def listens_inside(container, port: int) -> bool | None:
    """Does a process of the container listen on `port` in the container's own network namespace?
    Read from /proc (the runtime's published port is a relay that accepts whether or not the app
    listens). None when it cannot be told: no /proc, no pid, or a container without a network
    namespace of its own (plain processes, where a refused connection already says it)."""
    pid = getattr(container, "pid", None)
    if not pid or not os.path.isdir("/proc/self/ns"):
        return None
    try:
        own = os.readlink("/proc/self/ns/net")
    except OSError:
        return None
    wanted = f":{port:04X}"
    for each in _descendants(pid):
        try:
            if os.readlink(f"/proc/{each}/ns/net") == own:
                continue
            for table in ("tcp", "tcp6"):
                with open(f"/proc/{each}/net/{table}") as rows:
                    next(rows, None)
                    for row in rows:
                        fields = row.split()
                        if len(fields) > 3 and fields[3] == "0A" and fields[1].endswith(wanted):  # 0A: LISTEN
                            return True
            return False  # one process inside shows the namespace's sockets
        except OSError:
            continue
    return None


def _descendants(pid: int) -> list[int]:
    found, index = [pid], 0
    while index < len(found) and len(found) < 256:
        current, index = found[index], index + 1
        try:
            for task in os.listdir(f"/proc/{current}/task"):
                with open(f"/proc/{current}/task/{task}/children") as children:
                    found.extend(int(child) for child in children.read().split())
        except OSError:
            continue
    return found
