"""Entry point of the local-cloud process: `python -m labkit.cloud.server --port 4566 --home DIR`.

Binds 127.0.0.1 only. Moto is imported in a background thread after the socket is bound, so
the first ECR call (served by this project's own ECR layer) never waits for moto's import.
"""
from __future__ import annotations

import argparse
import os
import signal
import sys
import threading

from werkzeug.serving import make_server

from labkit.cloud.gateway import Gateway
from labkit.config import HOST


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="labkit-cloud")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--home", required=True)
    args = parser.parse_args(argv)

    gateway = Gateway(home=args.home, control_token=os.environ.pop("LABKIT_CONTROL_TOKEN", ""))
    server = make_server(HOST, args.port, gateway, threaded=True)
    if os.environ.get("LABKIT_CLOUD_WARM_UP", "1") != "0":  # the grader's clouds load moto only if asked
        threading.Thread(target=gateway.warm_up, name="moto-import", daemon=True).start()

    def _leave() -> None:
        gateway.state.stop_containers(timeout=2.0)  # within the 5 s `labkit down` waits before SIGKILL
        server.shutdown()

    def _stop(signum, frame):  # SIGTERM from `labkit down` / the grader: leave cleanly
        threading.Thread(target=_leave, daemon=True).start()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    print(f"labkit local cloud listening on http://{HOST}:{args.port} (pid {os.getpid()})", flush=True)
    server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
