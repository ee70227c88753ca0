"""Asking a service URL from a check, as a student's request meets it: an unauthenticated GET through
the graded cloud (`labkit.net.get(url, endpoint=ctx.endpoint)`), the same path `labkit.aws.hit` and
`labkit.gcp.hit` take. Shared by every lab whose services answer on a URL (App Runner, Express Mode,
the ALB, Cloud Run), so that they retry and report an answer the same way.
"""
from __future__ import annotations

import re
import time

from labkit import net
from labkit.checks.core import CheckContext
from labkit.messages import message_value

Reply = tuple[int, str]      # (HTTP status, body stripped)

# A load balancer or Cloud Run with no instance ready yet answers these while one starts; anything
# else (the app's own 500, a 403, a 404) is the answer, and asking again would only cost time.
NOT_READY_STATUSES = (502, 503, 504)
GRACE_S = 5.0
RETRY_EVERY_S = 0.25


def get(ctx: CheckContext, url: str, timeout: float) -> Reply | None:
    """One GET; None when nothing answers at all (refused, reset, timed out)."""
    try:
        status, body = net.get(url, timeout=timeout, endpoint=ctx.endpoint)
        return status, body.strip()
    except OSError:
        return None


def ask(ctx: CheckContext, url: str, timeout: float, grace: float | None = None) -> Reply | None:
    """One GET, asked again for `grace` seconds while nothing answers or the answer says that no
    instance is ready yet (an App Runner deployment, an ALB's first target, a revision scaled to zero).
    Cached per URL for the check run: every condition that asks sees the same answer."""
    def fetch():
        deadline = time.monotonic() + (GRACE_S if grace is None else grace)
        reply = get(ctx, url, timeout)
        while (reply is None or reply[0] in NOT_READY_STATUSES) and time.monotonic() < deadline:
            time.sleep(RETRY_EVERY_S)
            reply = get(ctx, url, timeout)
        return reply
    return ctx.cached(f"service_urls.ask:{url}", fetch)


def shown(reply: Reply | None) -> str:
    """An answer as a message shows it: a 200's body as code, else the status and what the page says
    (an HTML page's title, or the start of a plain-text body), in the reader's language when
    nothing answered."""
    if reply is None:
        return message_value("checks.no_answer")
    status, body = reply
    if status == 200:
        return f"`{body[:80]}`"
    title = re.search(r"<title>([^<]*)</title>", body)
    if title:
        return f"HTTP {status} ({title.group(1).strip()[:60]})"
    return f"HTTP {status}" + (f": {body[:60]}" if body and not body.lstrip().startswith("<") else "")
