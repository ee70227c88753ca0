"""labkit: the package every course notebook imports.

    import labkit
    labkit.start()                          # the local cloud, and boto3 / !aws pointed at it
    labkit.start(lab="lab02")               # a lab: its own cloud and docker state, a clean slate
    labkit.reset()                          # start this lab over (other labs are not touched)
    labkit.check_progress("lab02", "repository")   # the "Check my progress" button of a step

Imports stay light: server code is only imported in the cloud's own process, widgets only when
a button is drawn.
"""
from labkit.config import DEFAULT_ACCOUNT, DEFAULT_REGION  # noqa: F401
from labkit.session import reset, start, status, stop  # noqa: F401

__all__ = ["start", "stop", "status", "reset", "check_progress", "assert_step", "DEFAULT_ACCOUNT", "DEFAULT_REGION"]


def check_progress(lab_id: str, step_id: str):
    """Show the "Check my progress" button of one lab step."""
    from labkit.checks.progress import check_progress as _check_progress

    return _check_progress(lab_id, step_id)


def assert_step(lab_id: str, step_id: str, hidden: bool = False) -> float:
    """Assert a lab step is complete (what nbgrader test cells run)."""
    from labkit.checks.progress import assert_step as _assert_step

    return _assert_step(lab_id, step_id, hidden=hidden)
