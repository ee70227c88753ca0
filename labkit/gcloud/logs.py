"""`gcloud logging read [LOG_FILTER] [--limit=N] [--order=desc|asc] [--freshness=1d] [--format=...]`
against the local cloud's Cloud Logging (`POST /gcp/logging/v2/entries:list`, plain JSON), as the
Cloud SDK's `surface/logging/read.py` does it:

- newest first (`--order=desc`, the default) with `timestamp>="NOW - FRESHNESS"` ANDed before the
  filter when the order is desc and the filter does not mention `timestamp` (`--freshness` 1d);
- pages of min(limit, 1000) until --limit entries (all without it);
- printed as YAML documents by default; `--format=json`, `value(...)` as formats.py renders them;
- an API error: `ERROR: (gcloud.logging.read) INVALID_ARGUMENT: Unparseable filter: ...`.
"""
from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from datetime import datetime, timedelta, timezone

from labkit.gcloud import cli, config
from labkit.gcloud.errors import GcloudError, UsageError

_DURATION = re.compile(r"(\d+(?:\.\d+)?)([smhd])")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def duration(text: str) -> float:
    """gcloud's Duration flag: 1d, 2h, 30m, 10s, 1h30m, or plain seconds."""
    value = text.strip().lower()
    if re.fullmatch(r"\d+", value):
        return float(value)
    parts = _DURATION.findall(value)
    if not parts or "".join(n + u for n, u in parts) != value:
        raise UsageError(f"argument --freshness: Failed to parse duration: {text!r}")
    return sum(float(n) * _UNITS[u] for n, u in parts)


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise UsageError(f"argument --limit: Value must be an integer; received: {text}") from None
    if value < 1:
        raise UsageError(f"argument --limit: Value must be greater than or equal to 1; received: {value}")
    return value


def read(argv: list[str]) -> int:
    from labkit.gcloud import formats

    p = cli.parser("logging read", "Read log entries.")
    p.add_argument("log_filter", nargs="?", help="Filter expression that specifies the log entries to return.")
    p.add_argument("--limit", type=_positive, help="Maximum number of entries to return.")
    p.add_argument("--order", choices=("desc", "asc"), default="desc",
                   help="Ordering of returned log entries based on timestamp field.")
    p.add_argument("--freshness", default="1d",
                   help="Return entries that are not older than this value (desc order, no timestamp in the filter).")
    args = p.parse_args(argv)
    project = config.project(args.project)
    clauses = []
    if args.order == "desc" and (not args.log_filter or "timestamp" not in args.log_filter):
        since = datetime.now(timezone.utc) - timedelta(seconds=duration(args.freshness))
        clauses.append(f'timestamp>="{since.strftime("%Y-%m-%dT%H:%M:%S.%fZ")}"')
    if args.log_filter:
        clauses.append(args.log_filter)
    body = {"resourceNames": [f"projects/{project}"], "orderBy": f"timestamp {args.order}",
            "pageSize": min(args.limit or 1000, 1000)}
    if clauses:
        body["filter"] = " AND ".join(clauses)
    entries = fetch(cli.require_cloud(), body, args.limit)
    out = formats.render(entries, args.format, "yaml")
    if out:
        print(out, end="")
    return 0


def fetch(endpoint: str, body: dict, limit: int | None) -> list[dict]:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback only, never a proxy
    entries: list[dict] = []
    while True:
        request = urllib.request.Request(f"{endpoint}/gcp/logging/v2/entries:list", data=json.dumps(body).encode(),
                                         headers={"Content-Type": "application/json"}, method="POST")
        try:
            with opener.open(request, timeout=60) as answer:
                page = json.loads(answer.read() or b"{}")
        except urllib.error.HTTPError as exc:
            raise _api_error(exc) from None
        entries += page.get("entries", [])
        token = page.get("nextPageToken")
        if not token or (limit and len(entries) >= limit):
            return entries[:limit] if limit else entries
        body = dict(body, pageToken=token)


def _api_error(exc: urllib.error.HTTPError) -> GcloudError:
    try:
        error = json.loads(exc.read())["error"]
        return GcloudError(f"{error.get('status', exc.code)}: {error.get('message', '')}")
    except (ValueError, KeyError, TypeError):
        return GcloudError(f"HTTP {exc.code}: {exc.reason}")
