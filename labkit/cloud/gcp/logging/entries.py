"""Cloud Run's logs as Cloud Logging's LogEntry (JSON form), read from the Cloud Run emulator's state
(labkit/cloud/gcp/run/: each revision's request records and log lines), never copied: what a reset
drops, Logging forgets.

    run.googleapis.com%2Frequests       one entry per answered request: httpRequest (method, URL,
                                        the status the client got, sizes, latency, user agent, remote
                                        IP, protocol); severity INFO below 400, WARNING 4xx, ERROR 5xx
    run.googleapis.com%2Fstdout|stderr  a line the container wrote: textPayload, severity DEFAULT; a
                                        line that is a JSON object becomes jsonPayload, its
                                        `severity` the entry's (Cloud Run's structured logging)
    run.googleapis.com%2Fvarlog%2Fsystem Cloud Run's own lines: "Starting new instance. Reason: ...",
                                        the startup probe, a container's exit, failures (ERROR)

Each with resource {"type": "cloud_run_revision", "labels": {service_name, revision_name, location,
project_id, configuration_name}}, an RFC 3339 UTC timestamp, an insertId that stays the same from
one read to the next, and labels.instanceId where the instance is known.
"""
from __future__ import annotations

import hashlib
import json
from datetime import datetime, timezone

REQUESTS = "run.googleapis.com%2Frequests"
STREAMS = {"stdout": "run.googleapis.com%2Fstdout", "stderr": "run.googleapis.com%2Fstderr",
           "system": "run.googleapis.com%2Fvarlog%2Fsystem"}
RESOURCE_TYPE = "cloud_run_revision"
SYSTEM_ERRORS = ("The user-provided container failed", "Image '", "The container could not be started",
                 "The labkit local cloud already runs", "The local cloud failed")
SYSTEM_WARNINGS = ("Container called exit(",)
STRUCTURED = {"severity", "logging.googleapis.com/labels", "logging.googleapis.com/trace",
              "logging.googleapis.com/spanId", "logging.googleapis.com/insertId"}


def cloud_run_entries(state) -> list[dict]:
    """Every Cloud Run log entry the cloud holds, in no particular order."""
    backend = state.services.get("cloudrun")   # the Cloud Run backend, if anything made one
    if backend is None:
        return []
    with state.lock:
        sources = [(revision, [r for r in revision.requests if r.status is not None], list(revision.log),
                    revision.log_written) for revision in backend.log_sources()]
    entries = []
    for revision, records, lines, written in sources:
        resource = {"type": RESOURCE_TYPE, "labels": {
            "service_name": revision.service, "revision_name": revision.name, "location": revision.region,
            "project_id": revision.project, "configuration_name": revision.service}}
        prefix = hashlib.sha1(revision.uid.encode()).hexdigest()[:8]
        for record in records:
            entries.append(_request_entry(revision, resource, prefix, record))
        first = written - len(lines)   # the number of the oldest line still kept
        for offset, (when, stream, text) in enumerate(lines):
            entries.append(_line_entry(revision, resource, f"{prefix}1{first + offset + 1:010x}", when, stream, text))
    return entries


def _request_entry(revision, resource: dict, prefix: str, record) -> dict:
    http = {"requestMethod": record.method, "requestUrl": record.url, "status": record.status}
    if record.request_size:
        http["requestSize"] = str(record.request_size)   # int64: a string in JSON
    http["responseSize"] = str(record.response_size)
    if record.user_agent:
        http["userAgent"] = record.user_agent
    if record.remote_ip:
        http["remoteIp"] = record.remote_ip
    http["latency"] = duration(record.latency)
    http["protocol"] = record.protocol
    status = record.status
    entry = {"insertId": f"{prefix}0{record.seq:010x}", "httpRequest": http, "resource": resource,
             "timestamp": rfc3339(record.time),
             "severity": "ERROR" if status >= 500 else "WARNING" if status >= 400 else "INFO"}
    if record.instance_id:
        entry["labels"] = {"instanceId": record.instance_id}
    entry["logName"] = f"projects/{revision.project}/logs/{REQUESTS}"
    entry["receiveTimestamp"] = rfc3339(record.time + record.latency)
    return entry


def _line_entry(revision, resource: dict, insert_id: str, when: float, stream: str, text: str) -> dict:
    entry: dict = {"insertId": insert_id}
    severity = "DEFAULT"
    labels = {}
    payload = _structured(text) if stream != "system" else None
    if payload is not None:
        severity = str(payload.pop("severity", "DEFAULT")).upper()
        labels.update({str(k): str(v) for k, v in (payload.pop("logging.googleapis.com/labels", None) or {}).items()})
        trace = payload.pop("logging.googleapis.com/trace", None)
        span = payload.pop("logging.googleapis.com/spanId", None)
        payload.pop("logging.googleapis.com/insertId", None)
        entry["jsonPayload"] = payload
        if trace:
            entry["trace"] = str(trace)
        if span:
            entry["spanId"] = str(span)
    else:
        entry["textPayload"] = text
        if stream == "system":
            severity = "ERROR" if text.startswith(SYSTEM_ERRORS) else \
                "WARNING" if text.startswith(SYSTEM_WARNINGS) else "INFO"
    entry.update(resource=resource, timestamp=rfc3339(when), severity=severity)
    instance = revision.instance
    if stream != "system" and instance is not None:
        labels.setdefault("instanceId", instance.id)
    if labels:
        entry["labels"] = labels
    entry["logName"] = f"projects/{revision.project}/logs/{STREAMS.get(stream, STREAMS['stdout'])}"
    entry["receiveTimestamp"] = rfc3339(when)
    return entry


def _structured(text: str) -> dict | None:
    stripped = text.strip()
    if not (stripped.startswith("{") and stripped.endswith("}")):
        return None
    try:
        value = json.loads(stripped)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def rfc3339(seconds: float) -> str:
    """2026-12-02T02:05:03.123456Z: UTC, Z-normalised, 0/3/6 fractional digits as Google writes them."""
    moment = datetime.fromtimestamp(seconds, timezone.utc)
    text = moment.strftime("%Y-%m-%dT%H:%M:%S")
    micros = moment.microsecond
    if micros == 0:
        return text + "Z"
    return text + (f".{micros // 1000:03d}Z" if micros % 1000 == 0 else f".{micros:06d}Z")


def duration(seconds: float) -> str:
    """google.protobuf.Duration's JSON form: "0.004123s" (0, 3, 6 or 9 fractional digits)."""
    nanos = max(0, round(seconds * 1e9))
    whole, frac = divmod(nanos, 1_000_000_000)
    if frac == 0:
        return f"{whole}s"
    if frac % 1_000_000 == 0:
        return f"{whole}.{frac // 1_000_000:03d}s"
    if frac % 1000 == 0:
        return f"{whole}.{frac // 1000:06d}s"
    return f"{whole}.{frac:09d}s"


def sort_key(entry: dict) -> tuple[str, str]:
    """timestamp, then insertId (Google's order for equal times). Z-normalised RFC 3339 with the
    same digits sort as text only when the fractions are as long: pad them."""
    stamp = entry["timestamp"].rstrip("Z")
    day, _, fraction = stamp.partition(".")
    return f"{day}.{fraction.ljust(9, '0')}", entry["insertId"]
