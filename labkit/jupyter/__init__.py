"""The JupyterLab a student meets and the one an instructor gets (`labkit lab [--instructor]`).

The Jupyter configuration lives in `config/` (common, student, instructor), applied through
JUPYTER_CONFIG_PATH so `make lab`, Binder and the Docker image all get the same setup;
`launch.py` is the command, `environment.py` what it puts in the server's environment.
"""
