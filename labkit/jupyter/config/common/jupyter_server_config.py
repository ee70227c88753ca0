"""What the student's and the instructor's JupyterLab share: nothing leaves 127.0.0.1, and the
server log says nothing a newcomer would read as an error.

Loaded through JUPYTER_CONFIG_PATH (labkit/jupyter/environment.py), after student/ or instructor/.
"""
import logging
import os

import zmq

c = get_config()  # noqa: F821

# Servers bind 127.0.0.1 only. A container overrides it on its command line (Dockerfile): the
# container's own interfaces, published on the host's 127.0.0.1 by docker-compose.yml.
c.ServerApp.ip = "127.0.0.1"

# The folder JupyterLab shows: course/ for a student, the nbgrader course for an instructor.
if os.environ.get("LABKIT_JUPYTER_ROOT"):
    c.ServerApp.root_dir = os.environ["LABKIT_JUPYTER_ROOT"]

# JupyterLab would otherwise reach out: news from jupyterlab.github.io when the page loads,
# "a newer JupyterLab" from pypi.org, and the extension manager's PyPI listing (extensions and
# language packs). The read-only manager lists what is installed and asks no index. The page's
# own side of both is off in labconfig/page_config.json: the announcements plugin (it asks
# "Would you like to get notified about official Jupyter news?") and the extension manager's
# sidebar (nothing can be installed here).
c.LabApp.news_url = None
c.LabApp.check_for_updates_class = "jupyterlab.handlers.announcements.NeverCheckForUpdate"
c.LabApp.extension_manager = "readonly"

# Kernels talk to the server over ZeroMQ on 127.0.0.1. With CurveZMQ keys the server makes for
# each kernel (the kernelspec declares support) that traffic is encrypted, and ipykernel stops
# warning "Kernel is running over TCP without encryption" at every kernel start.
if zmq.has("curve"):
    c.KernelManager.transport_encryption = "auto"

# Not ours, and not an error: jupyter_server keeps its websocket ping settings in milliseconds,
# tornado >= 6.5 reads the same handler properties as seconds and, once per server, warns
# "The websocket_ping_timeout (90000) cannot be longer than the websocket_ping_interval (30000)".
# jupyter_server's own pings (30 s, 90 s timeout) work as configured; only that line is dropped.
logging.getLogger("tornado.general").addFilter(
    lambda record: not record.getMessage().startswith("The websocket_ping_timeout ("))
