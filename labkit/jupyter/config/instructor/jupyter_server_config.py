"""The instructor's JupyterLab: nbgrader's tools as nbgrader installs them (formgrader, Create
Assignment, Validate, its menu), rooted at the nbgrader course that `grader init` made. The server
runs in that folder, where nbgrader looks for nbgrader_config.py, so formgrader finds the course.
"""
import os

from jupyterlab.commands import get_workspaces_dir

c = get_config()  # noqa: F821

# Its own open tabs and layout: the other mode has another root folder, so a shared workspace
# would reopen the other's notebooks here as "No such file or directory".
c.LabApp.workspaces_dir = os.path.join(get_workspaces_dir(), "labkit-instructor")

# On already (nbgrader enables them when installed); said again as a plain dict because
# formgrader's Manage Assignments page shows the server's config as JSON, and the placeholder
# Jupyter builds otherwise is not JSON ("Formgrader config is not serializable" in the log).
c.ServerApp.jpserver_extensions = {
    "nbgrader.server_extensions.formgrader": True,
    "nbgrader.server_extensions.validate_assignment": True,
    "nbgrader.server_extensions.assignment_list": True,
    "nbgrader.server_extensions.course_list": True,
}
