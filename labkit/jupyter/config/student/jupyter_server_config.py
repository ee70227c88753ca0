"""The student's JupyterLab: the course, without the instructor's tools.

nbgrader's server extensions are off (formgrader, Validate, assignment and course lists: they
also log "No nbgrader_config.py file found"); its JupyterLab extension (menu, Create
Assignment sidebar, Validate button) is off in labconfig/page_config.json.
"""
import os

from jupyterlab.commands import get_workspaces_dir

c = get_config()  # noqa: F821

# Its own open tabs and layout: the other mode has another root folder, so a shared workspace
# would reopen the other's notebooks here as "No such file or directory".
c.LabApp.workspaces_dir = os.path.join(get_workspaces_dir(), "labkit-student")

c.ServerApp.jpserver_extensions = {
    "nbgrader.server_extensions.formgrader": False,
    "nbgrader.server_extensions.validate_assignment": False,
    "nbgrader.server_extensions.assignment_list": False,
    "nbgrader.server_extensions.course_list": False,
}

# Open on the course index the build writes (course/en/00_index.ipynb; it links the Korean one,
# and course/index.ipynb at the root links both). English: nothing here knows the browser's language.
_root = os.environ.get("LABKIT_JUPYTER_ROOT", "")
if _root and os.path.exists(os.path.join(_root, "en", "00_index.ipynb")):
    c.LabApp.default_url = "/lab/tree/en/00_index.ipynb"
