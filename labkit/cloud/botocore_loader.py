"""One botocore data loader for the whole cloud process.

moto makes a new boto3 Session wherever it wants a region list or a model, and each Session gets
a loader of its own, which parses botocore's JSON again: importing moto's EC2 (an ALB, the default
VPC) parsed the 1.2 MB endpoints.json three times, ~0.85 of its ~1.9 CPU-s. Sessions of this
process share one loader per data path instead, so a file is parsed once (botocore's own
per-loader cache: the same dicts a Session already shared with itself). Only the cloud process
installs this; a student's or a check's boto3 is untouched.
"""
from __future__ import annotations

import functools
import threading

_lock = threading.Lock()
_installed = False


def share() -> None:
    """Make every botocore Session made from now on in this process use the shared loader."""
    global _installed
    with _lock:
        if _installed:
            return
        import botocore.session

        botocore.session.create_loader = functools.lru_cache(maxsize=8)(botocore.session.create_loader)
        _installed = True
