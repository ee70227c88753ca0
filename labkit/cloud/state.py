"""Every emulated service's state, created in one place so reset() is trivial.

Per service, backends are keyed [account][region] inside their own models module.
"""
from __future__ import annotations

import threading


class CloudState:
    def __init__(self, clock=None, ids=None):
        import time
        import uuid

        self.clock = clock or time.time
        self.ids = ids or (lambda: uuid.uuid4().hex)
        self.lock = threading.RLock()  # the server is threaded; models are not
        self.reset()

    def reset(self) -> None:
        with self.lock:
            self.services: dict[str, object] = {}

    def service(self, name: str, factory):
        """The backend of service `name`, created on first use by `factory(state)`."""
        with self.lock:
            if name not in self.services:
                self.services[name] = factory(self)
            return self.services[name]
