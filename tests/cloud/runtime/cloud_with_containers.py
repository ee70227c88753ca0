"""A real local-cloud process (labkit.cloud.server's main) that, once up, pushes a small image into
its own ECR and starts two containers of it from a thread that then ends; prints one JSON line
{"containers": [...]} when both answer HTTP. Used by test_no_orphans.py:
`python cloud_with_containers.py HOME PORT MARKER [--no-die-with-parent]`; the last starts bwrap
without --die-with-parent, as a cloud that dies before bwrap has set it leaves it."""
from __future__ import annotations

import dataclasses
import json
import sys
import threading
import time

from labkit.cloud import server
from labkit.cloud.gateway import Gateway
from labkit.cloud.runtime import ContainerSpec
from labkit.cloud.runtime.images import image_files
from tests.cloud.runtime.images import ACCOUNT, REGION, push_into

APP = ("import http.server, os, subprocess, sys\n"
       "subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(300)'])  # a child of its own\n"
       "class H(http.server.BaseHTTPRequestHandler):\n"
       "    def do_GET(self):\n        self.send_response(200); self.end_headers(); self.wfile.write(b'up')\n"
       "http.server.HTTPServer(('0.0.0.0', 8080), H).serve_forever()\n")


class WithContainers(Gateway):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        threading.Thread(target=self._start, daemon=True).start()

    def _start(self) -> None:
        push_into(self.state, "orphans", "v1", {"/app/app.py": APP}, Cmd=["python", "app.py"])
        image = image_files(self.state, ACCOUNT, REGION, "orphans", "v1")
        containers = [self.state.runtime.start(ContainerSpec(name=f"c{i}", image=image, ports=[8080],
                                                             environment={"ORPHAN_MARKER": MARKER}))
                      for i in range(2)]
        threading.Thread(target=self._report, args=(containers,), daemon=True).start()

    def _report(self, containers) -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not all(c.http_get(8080) for c in containers):
            time.sleep(0.05)
        print(json.dumps({"containers": [{"pid": c.pid, "address": c.address, "state": c.state,
                                          "answers": bool(c.http_get(8080))} for c in containers]}), flush=True)


def without_die_with_parent(bwrap_launch):
    def launch(*args, **kwargs):
        how = bwrap_launch(*args, **kwargs)
        return dataclasses.replace(how, argv=[arg for arg in how.argv if arg != "--die-with-parent"])
    return launch


if __name__ == "__main__":
    home, port, MARKER = sys.argv[1:4]
    if "--no-die-with-parent" in sys.argv[4:]:
        from labkit.cloud.runtime import launch as launching

        launching.bwrap_launch = without_die_with_parent(launching.bwrap_launch)
    server.Gateway = WithContainers
    sys.exit(server.main(["--port", port, "--home", home]))
