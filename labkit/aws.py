"""Helpers a notebook uses on AWS's side of the course (`import labkit.aws`).

    labkit.aws.hit(url, n=1000)   # GET a service URL n times: which answer, how often (a canary's split)
"""
from __future__ import annotations

import http.client
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

from labkit import net

PARALLEL = 8  # requests in flight: 1,000 in about a second on 2 cores


class Answers(Counter):
    """answer text -> how many times it came; shown in a notebook as a small table of shares."""

    def share(self, answer: str) -> float:
        total = sum(self.values())
        return self[answer] / total if total else 0.0

    def _repr_markdown_(self) -> str:
        from labkit.messages import text

        total = sum(self.values())
        rows = [f"| {text('hit.answer')} | {text('hit.count')} | {text('hit.share')} |", "|---|---:|---:|"]
        for answer, count in self.most_common():
            rows.append(f"| `{answer}` | {count} | {100 * count / total:.1f}% |")
        return "\n".join(rows)


def hit(url: str, n: int = 1, path: str | None = None, timeout: float = 10.0,
        endpoint: str | None = None) -> Answers:
    """GET `url` (an App Runner ServiceUrl, an ALB's DNS name, a Cloud Run URL; with or without http://)
    n times and count the answers: the body text of a 200, else "HTTP <status>: <body>". The local cloud
    answers these names in plain HTTP; `endpoint`: that cloud (default: this process's)."""
    if path is not None:
        host, port, _ = net.split_url(url)
        url = f"http://{host}:{port}{path if path.startswith('/') else '/' + path}"

    mine = threading.local()  # each thread's kept-alive connection (net.Client), closed at the end
    clients = []

    def one(_):
        client = getattr(mine, "client", None)
        if client is None:
            client = mine.client = net.Client(timeout=timeout, endpoint=endpoint)
            clients.append(client)
        try:
            status, body = client.get(url)
        except (OSError, http.client.HTTPException) as exc:
            return f"{type(exc).__name__}: {exc}"
        body = body.strip()
        return body if status == 200 else f"HTTP {status}: {body[:80]}"

    try:
        with ThreadPoolExecutor(max_workers=min(PARALLEL, max(1, n))) as pool:
            return Answers(pool.map(one, range(n)))
    finally:
        for client in clients:
            client.close()
