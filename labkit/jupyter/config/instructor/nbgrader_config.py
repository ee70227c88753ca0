"""nbgrader settings the instructor's JupyterLab adds to the course's own nbgrader_config.py
(nbgrader reads this file too: it is on JUPYTER_CONFIG_PATH while `labkit lab --instructor` runs).

nbgrader's Assignment List and Courses panels read an exchange folder, by default
/usr/local/share/nbgrader/exchange, which most users cannot write: each panel then logs a
traceback. This course collects submissions into the course's submitted/ folder instead
(grader/README.md), so a private exchange inside the course keeps those panels working and quiet.
"""
import os

c = get_config()  # noqa: F821

if os.environ.get("LABKIT_JUPYTER_ROOT"):
    c.Exchange.root = os.path.join(os.environ["LABKIT_JUPYTER_ROOT"], ".exchange")
