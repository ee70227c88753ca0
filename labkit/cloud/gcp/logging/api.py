"""Cloud Logging's entries.list over REST, plain JSON (google-cloud-logging is not a dependency):

    POST /gcp/logging/v2/entries:list
    {"resourceNames": ["projects/labkit-project"], "filter": "...", "orderBy": "timestamp asc",
     "pageSize": 50, "pageToken": "..."}
    -> {"entries": [LogEntry, ...], "nextPageToken": "..."}   (each key left out when empty)

As ListLogEntriesRequest documents it: resourceNames required; orderBy "timestamp asc" (default)
or "timestamp desc", equal timestamps in insertId order; pageSize default 50, negative or over 1000
refused; nextPageToken present while more entries match. The filter: query.py. Entries: entries.py
(Cloud Run's request, container and system logs). Errors: Google's JSON error body (rest.py).
"""
from __future__ import annotations

import base64
import binascii
import json

from labkit.cloud.gcp import errors
from labkit.cloud.gcp.logging import entries as log_entries
from labkit.cloud.gcp.logging.query import QueryError, compile_filter
from labkit.cloud.gcp.project import DEFAULT_PROJECT, PROJECT_NUMBER

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 1000
MAX_FILTER = 20000
ORDERS = {"timestamp asc": False, "timestamp desc": True}
PARENT_KINDS = ("projects", "organizations", "folders", "billingAccounts")


def answer(state, method: str, path: str, body: bytes) -> dict:
    """The JSON answer to one REST call under /gcp/logging (path: what follows it)."""
    if path.replace("%3A", ":").replace("%3a", ":") != "/v2/entries:list":
        raise errors.NotFound(f"The requested URL {method} {path} is not an operation of the logging API that the "
                              f"labkit local cloud serves (it serves POST /v2/entries:list).")
    if method != "POST":
        raise errors.NotFound(f"The requested URL {method} {path} is not an operation of the logging API "
                              f"(entries:list is a POST).")
    try:
        request = json.loads(body or b"{}")
    except ValueError as exc:
        raise errors.InvalidArgument(f"Invalid JSON payload received. {exc}") from None
    if not isinstance(request, dict):
        raise errors.InvalidArgument("Invalid JSON payload received. The body must be a JSON object.")
    return list_entries(state, request)


def list_entries(state, request: dict) -> dict:
    names = _names(request)
    text = request.get("filter") or ""
    if not isinstance(text, str):
        raise errors.InvalidArgument("Invalid value at 'filter': a string is expected.")
    if len(text) > MAX_FILTER:
        raise errors.InvalidArgument(f"The filter is {len(text)} characters long; the maximum is {MAX_FILTER}.")
    order = (request.get("orderBy") or "timestamp asc").strip()
    if order.lower() not in ORDERS:
        raise errors.InvalidArgument(f"Invalid orderBy '{order}': only \"timestamp asc\" and \"timestamp desc\" are "
                                     f"supported.")
    newest_first = ORDERS[order.lower()]
    size = _page_size(request.get("pageSize"))
    try:
        matches = compile_filter(text)
    except QueryError as exc:
        raise errors.InvalidArgument(exc.message) from None
    after = _position(request.get("pageToken") or "", newest_first)
    projects = {name.split("/")[1] for name in names if name.startswith("projects/")}
    found = [e for e in log_entries.cloud_run_entries(state) if _project_of(e) in projects]
    found.sort(key=log_entries.sort_key, reverse=newest_first)
    keys = [log_entries.sort_key(e) for e in found]
    if after is not None:
        found = [e for e, k in zip(found, keys) if (k < after if newest_first else k > after)]
    page, more = [], False
    for entry in found:
        if not matches(entry):
            continue
        if len(page) == size:
            more = True
            break
        page.append(entry)
    result: dict = {}
    if page:
        result["entries"] = page
    if more:
        result["nextPageToken"] = _token(log_entries.sort_key(page[-1]), newest_first)
    return result


def _names(request: dict) -> list[str]:
    names = request.get("resourceNames") or [f"projects/{p}" for p in request.get("projectIds") or []]
    if not names or not isinstance(names, list):
        raise errors.InvalidArgument("resourceNames is required: name a project, e.g. "
                                     "\"resourceNames\": [\"projects/labkit-project\"].")
    out = []
    for name in names:
        parts = str(name).split("/")
        if len(parts) < 2 or parts[0] not in PARENT_KINDS or not parts[1]:
            raise errors.InvalidArgument(f"Invalid resource name '{name}': expected projects/PROJECT_ID (or "
                                         f"organizations/, folders/, billingAccounts/).")
        if parts[0] == "projects":
            if parts[1] == str(PROJECT_NUMBER):
                parts[1] = DEFAULT_PROJECT
            elif parts[1] != DEFAULT_PROJECT:
                raise errors.permission_denied("logging.logEntries.list", f"projects/{parts[1]}",
                                               "logging.googleapis.com")
        out.append("/".join(parts))
    return out


def _page_size(value) -> int:
    if value in (None, "", 0, "0"):
        return DEFAULT_PAGE_SIZE
    try:
        size = int(value)
    except (TypeError, ValueError):
        raise errors.InvalidArgument(f"Invalid value at 'page_size' (TYPE_INT32), \"{value}\"") from None
    if size < 0 or size > MAX_PAGE_SIZE:
        raise errors.InvalidArgument(f"pageSize must be between 0 and {MAX_PAGE_SIZE}; it is {size}.")
    return size


def _token(key: tuple[str, str], newest_first: bool) -> str:
    raw = json.dumps({"after": list(key), "desc": newest_first}).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _position(token: str, newest_first: bool):
    if not token:
        return None
    try:
        data = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        key = tuple(data["after"])
        if len(key) != 2 or data.get("desc") is not newest_first:
            raise ValueError
    except (ValueError, TypeError, KeyError, binascii.Error):
        raise errors.InvalidArgument("The page token is invalid, or belongs to a list in another order.") from None
    return key


def _project_of(entry: dict) -> str:
    return entry["logName"].split("/")[1]
