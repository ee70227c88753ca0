"""Cloud Logging's tests: the Cloud Run fixtures (a real cloud process per module, the app image in
its Artifact Registry), and entries.list called as REST, the way a lab's check or gcloud calls it."""
from __future__ import annotations

import requests

from tests.cloud.gcp.run.conftest import image, run_cloud, services  # noqa: F401 (fixtures)

PROJECT = "projects/labkit-project"
APP = """\
import http.server, os, sys
TEXT = os.environ.get("TEXT", "Hello from GCP!").encode()
STATUS = {"/missing": 404, "/boom": 500}

class App(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def do_GET(self):
        status = STATUS.get(self.path, 200)
        body = TEXT if status == 200 else b"no"
        self.send_response(status)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format, *args):
        if self.path == "/boom":
            print('{"severity": "ERROR", "message": "boom happened"}', flush=True)
        print("request", self.path, flush=True)

print("listening on", os.environ["PORT"], flush=True)
http.server.ThreadingHTTPServer(("0.0.0.0", int(os.environ["PORT"])), App).serve_forever()
"""


def entries_list(cloud, **body) -> requests.Response:
    body.setdefault("resourceNames", [PROJECT])
    return requests.post(f"{cloud.endpoint}/gcp/logging/v2/entries:list", json=body, timeout=30)


def all_entries(cloud, **body) -> list[dict]:
    """Every page, following nextPageToken as a client's pager does."""
    found, token = [], None
    while True:
        answer = entries_list(cloud, **body, **({"pageToken": token} if token else {}))
        assert answer.status_code == 200, answer.text
        page = answer.json()
        found += page.get("entries", [])
        token = page.get("nextPageToken")
        if not token:
            return found
