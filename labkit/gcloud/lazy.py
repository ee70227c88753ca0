"""`google.cloud.run_v2` without its package __init__, which imports all seven Cloud Run clients
(builds, executions, jobs, tasks, worker pools ...) where a gcloud command needs two: about 0.4 s
of a `labkit gcloud run deploy` that has 2 s in all. The package is registered unexecuted; its
names resolve on first use (the two clients and the message types directly, anything else by
running the real __init__ then), so `from google.cloud import run_v2` and labkit.gcp behave as
usual. Only `labkit gcloud` processes install it (labkit/gcloud/run.py)."""
from __future__ import annotations

import importlib
import importlib.util
import sys

NAME = "google.cloud.run_v2"
CLIENTS = {"ServicesClient": "services.services", "RevisionsClient": "services.revisions"}


def install() -> None:
    if NAME in sys.modules:
        return
    spec = importlib.util.find_spec(NAME)
    if spec is None or spec.loader is None:
        return  # not installed: the real import will say so
    module = importlib.util.module_from_spec(spec)  # not executed

    def resolve(attr: str):
        if attr in CLIENTS:
            value = getattr(importlib.import_module(f"{NAME}.{CLIENTS[attr]}"), attr)
        elif not attr.startswith("_") and importlib.util.find_spec(f"{NAME}.{attr}") is not None:
            value = importlib.import_module(f"{NAME}.{attr}")  # a submodule (gapic_version, types, ...)
        else:
            types = importlib.import_module(f"{NAME}.types")
            if hasattr(types, attr) and not attr.startswith("_"):
                value = getattr(types, attr)
            else:  # anything else: the package as its own __init__ makes it
                del module.__dict__["__getattr__"]
                spec.loader.exec_module(module)
                return getattr(module, attr)
        setattr(module, attr, value)
        return value

    module.__dict__["__getattr__"] = resolve
    sys.modules[NAME] = module
    import google.cloud

    setattr(google.cloud, "run_v2", module)
