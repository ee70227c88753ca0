# The course image, for a laptop that has Docker: JupyterLab plus the local cloud.
# Built by docker-compose.yml; the pins come from pyproject.toml (the project is installed from it).
FROM python:3.11-slim

RUN apt-get update \
 && apt-get install -y --no-install-recommends make git \
 && rm -rf /var/lib/apt/lists/*

RUN useradd --create-home --uid 1000 student
WORKDIR /home/student/course
COPY --chown=student:student . .
RUN pip install --no-cache-dir -e . \
 && pip check

USER student
ENV LABKIT_HOME=/home/student/.labkit \
    JUPYTER_TOKEN=course
EXPOSE 8888
# The student setup of `make lab` (labkit/jupyter/launch.py): course/ as JupyterLab's root, no
# instructor tools, nothing fetched from outside. Inside the container JupyterLab listens on all
# of the container's interfaces so Docker can forward it; docker-compose.yml publishes it on the
# host's 127.0.0.1 only. The local cloud itself stays on the container's 127.0.0.1.
# The token: JUPYTER_TOKEN (Jupyter reads it).
CMD ["labkit", "lab", "--no-browser", "--port", "8888", "--", "--ServerApp.ip=0.0.0.0"]
