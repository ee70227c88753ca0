"""Every emulated service's state, created in one place so reset() is trivial.

Per service, backends are keyed [account][region] inside their own models module.
"""
from __future__ import annotations

import threading


class CloudState:
    def __init__(self, clock=None, ids=None, home=None):
        import time
        import uuid

        self.clock = clock or time.time
        self.ids = ids or (lambda: uuid.uuid4().hex)
        self.lock = threading.RLock()  # the server is threaded; models are not
        self.home = home              # the cloud's home (None: a temporary folder, for in-process tests)
        self._runtime = None
        from labkit.cloud.ingress import Ingress

        self.ingress = Ingress()      # the front door of the URLs services hand out (labkit/cloud/ingress.py)
        self.reset()

    @property
    def runtime(self):
        """The cloud's one container runtime (labkit/cloud/runtime), home HOME/runtime, made on first use."""
        with self.lock:
            if self._runtime is None:
                import tempfile
                from pathlib import Path

                from labkit.cloud.runtime import Runtime

                home = Path(self.home) / "runtime" if self.home else Path(tempfile.mkdtemp(prefix="labkit-runtime-"))
                self._runtime = Runtime(home, clock=self.clock)
            return self._runtime

    def stop_containers(self, timeout: float = 5.0) -> None:
        """Stop every container (reset, the cloud's shutdown); outside the lock: their exit
        callbacks take it."""
        if self._runtime is not None:
            self._runtime.stop_all(timeout=timeout)

    def reset(self) -> None:
        self.stop_containers()
        self.ingress.clear()
        with self.lock:
            self.services: dict[str, object] = {}

    def service(self, name: str, factory):
        """The backend of service `name`, created on first use by `factory(state)`."""
        with self.lock:
            if name not in self.services:
                self.services[name] = factory(self)
            return self.services[name]


def locked(method):
    """A backend method run under its `self.lock` (the cloud's one lock): models are not threaded."""
    import functools

    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        with self.lock:
            return method(self, *args, **kwargs)
    return wrapper


def seconds_setting(text, default: float) -> float:
    """A positive number of seconds from an environment setting, else the default."""
    try:
        value = float(text)
    except (TypeError, ValueError):
        return default
    return value if value > 0 else default
