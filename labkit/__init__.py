"""labkit: the package every course notebook imports.

`labkit.start()` starts (or reuses) the local cloud and points boto3 and `!aws` cells at it.
Imports are kept light: the local cloud's server code is only imported in its own process.
"""
from labkit.session import start, stop, status  # noqa: F401
from labkit.config import DEFAULT_ACCOUNT, DEFAULT_REGION  # noqa: F401

__all__ = ["start", "stop", "status", "DEFAULT_ACCOUNT", "DEFAULT_REGION"]
