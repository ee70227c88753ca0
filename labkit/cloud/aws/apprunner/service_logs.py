"""App Runner's two CloudWatch Logs groups per service, as App Runner writes them:

    /aws/apprunner/NAME/ID/service       stream "events": the service's events ("[AppRunner] Service
                                         status is set to RUNNING."); stream "deployment/OPERATION_ID":
                                         what one deployment did (image copied, health check, why it failed)
    /aws/apprunner/NAME/ID/application   stream "instance/INSTANCE_ID": the app's stdout and stderr

Lines go through one queue to a writer thread, so neither a deployment nor the runtime's log reader
waits for moto's Logs backend (imported on first use, which can take seconds). The thread ends when
it has been idle a while or the backend was dropped by a reset.
"""
from __future__ import annotations

import queue
import sys
import threading
import traceback

from labkit.cloud.aws import cloudwatch_logs

IDLE_EXIT_S = 2.0


class ServiceLogs:
    def __init__(self, backend):
        self.backend = backend
        self._queue: queue.Queue = queue.Queue()
        self._streams: dict[tuple, cloudwatch_logs.Destination] = {}
        self._thread: threading.Thread | None = None
        self._thread_lock = threading.Lock()

    # -- what the service writes -------------------------------------------------------------
    def event(self, service, line: str, operation=None) -> None:
        """A service event (stream "events"), also in the operation's deployment stream if given."""
        self._put(service, "service", "events", "[AppRunner] " + line)
        if operation is not None:
            self.deployment(service, operation, line)

    def deployment(self, service, operation, line: str) -> None:
        self._put(service, "service", f"deployment/{operation.id.replace('-', '')}", "[AppRunner] " + line)

    def application(self, service, instance_id: str, timestamp_ms: int, line: str) -> None:
        self._put(service, "application", f"instance/{instance_id}", line, timestamp_ms)

    def _put(self, service, kind: str, stream: str, line: str, timestamp_ms: int | None = None) -> None:
        when = timestamp_ms if timestamp_ms is not None else int(self.backend.clock() * 1000)
        self._queue.put((service.account, service.region, service.log_group(kind), stream, when, line))
        with self._thread_lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._write, name="apprunner-logs", daemon=True)
                self._thread.start()

    # -- the writer thread ----------------------------------------------------------------------
    def _write(self) -> None:
        while True:
            try:
                account, region, group, stream, when, line = self._queue.get(timeout=IDLE_EXIT_S)
            except queue.Empty:
                with self._thread_lock:
                    if self._queue.empty():
                        self._thread = None
                        return
                continue
            if not self.backend.is_current():
                continue  # a reset dropped the service: its lines go with it
            try:
                key = (account, region, group, stream)
                if key not in self._streams:
                    self._streams[key] = cloudwatch_logs.open_stream(account, region, group, stream, create_group=True)
                self._streams[key].put(when, line)
            except Exception:  # our bug: say so in the cloud's log, keep writing
                traceback.print_exc(file=sys.stderr)
