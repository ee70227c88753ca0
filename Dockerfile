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
ENV LABKIT_HOME=/home/student/.labkit
EXPOSE 8888
# Inside the container JupyterLab listens on all of the container's interfaces so Docker can
# forward it; docker-compose.yml publishes it on the host's 127.0.0.1 only. The local cloud
# itself stays on the container's 127.0.0.1.
CMD ["sh", "-c", "labkit up && exec jupyter lab --ip=0.0.0.0 --port=8888 --no-browser --ServerApp.token=${JUPYTER_TOKEN:-course} --LabApp.default_url=/lab/tree/course"]
