"""entries.list over a Cloud Run service's logs: the request log with the statuses the client got,
the container's stdout, Cloud Run's own lines; filters, order, paging, refusals, reset."""
from __future__ import annotations

import re

import pytest
from google.cloud import run_v2

from tests.cloud.gcp.logging.conftest import APP, all_entries, entries_list
from tests.cloud.gcp.run.conftest import PARENT, get, make_public, push_app, service_of, wait_for

REQUESTS = "projects/labkit-project/logs/run.googleapis.com%2Frequests"
STDOUT = "projects/labkit-project/logs/run.googleapis.com%2Fstdout"
SYSTEM = "projects/labkit-project/logs/run.googleapis.com%2Fvarlog%2Fsystem"
RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{3}|\.\d{6})?Z$")
PATHS = ["/", "/", "/", "/missing", "/boom"]
REVISION = run_v2.TrafficTargetAllocationType.TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION
LATEST = run_v2.TrafficTargetAllocationType.TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST


@pytest.fixture(scope="module")
def logged(run_cloud, services):
    """Service `logs` (public), hit at PATHS; its revision's short name."""
    image = push_app(run_cloud.endpoint, image="log-app", app=APP)
    service = services.create_service(parent=PARENT, service_id="logs", service=service_of(image)).result(30)
    make_public(services, service.name)
    for path in PATHS:
        get(run_cloud, service.uri, path)
    filter_ = 'logName:"requests" AND resource.labels.service_name="logs"'
    wait_for(lambda: len(all_entries(run_cloud, filter=filter_)) == len(PATHS), timeout=10)
    return service, service.latest_ready_revision.rsplit("/", 1)[1]


def test_request_log_entries_are_cloud_runs(run_cloud, logged):
    service, revision = logged
    found = all_entries(run_cloud, filter=f'logName="{REQUESTS}" resource.labels.service_name=logs')
    assert [e["httpRequest"]["status"] for e in found] == [200, 200, 200, 404, 500]  # what the client got
    assert [e["severity"] for e in found] == ["INFO", "INFO", "INFO", "WARNING", "ERROR"]
    first = found[0]
    assert first["resource"] == {"type": "cloud_run_revision", "labels": {
        "service_name": "logs", "revision_name": revision, "location": "asia-northeast3",
        "project_id": "labkit-project", "configuration_name": "logs"}}
    http = first["httpRequest"]
    assert http["requestMethod"] == "GET" and http["requestUrl"] == service.uri + "/"
    assert http["responseSize"] == str(len("Hello from GCP!")) and http["protocol"] == "HTTP/1.1"
    assert http["userAgent"].startswith("python-requests/") and http["remoteIp"] == "127.0.0.1"
    assert re.fullmatch(r"\d+(\.\d{3}|\.\d{6}|\.\d{9})?s", http["latency"])
    assert all(RFC3339.match(e["timestamp"]) for e in found)
    assert len({e["insertId"] for e in found}) == len(found)
    assert [e["timestamp"] for e in found] == sorted(e["timestamp"] for e in found)  # default: timestamp asc
    assert found[3]["httpRequest"]["requestUrl"].endswith("/missing") and first["labels"]["instanceId"]
    again = all_entries(run_cloud, filter=f'logName="{REQUESTS}" resource.labels.service_name=logs')
    assert [e["insertId"] for e in again] == [e["insertId"] for e in found]  # stable from one read to the next


def test_container_stdout_and_cloud_runs_own_lines(run_cloud, logged):
    _, revision = logged
    lines = all_entries(run_cloud, filter=f'logName="{STDOUT}" AND resource.labels.revision_name="{revision}"')
    texts = [e.get("textPayload") for e in lines]
    assert texts[0] == "listening on 8080" and texts.count("request /") == 3 and "request /boom" in texts
    assert {e["severity"] for e in lines if "textPayload" in e} == {"DEFAULT"}
    structured = [e for e in lines if "jsonPayload" in e]  # a JSON line: Cloud Run's structured logging
    assert [(e["jsonPayload"], e["severity"]) for e in structured] == [({"message": "boom happened"}, "ERROR")]
    system = all_entries(run_cloud, filter=f'logName="{SYSTEM}" resource.labels.service_name="logs"')
    assert system[0]["textPayload"].startswith("Starting new instance. Reason: DEPLOYMENT_ROLLOUT")
    assert any(e["textPayload"].startswith("Default STARTUP TCP probe succeeded") for e in system)


def test_filters_the_query_language(run_cloud, logged):
    def statuses(filter_):
        return [e["httpRequest"]["status"] for e in all_entries(run_cloud, filter=filter_)]

    mine = 'resource.type="cloud_run_revision" AND resource.labels.service_name="logs"'
    assert statuses(f"{mine} AND httpRequest.status>=400") == [404, 500]
    assert statuses(f"{mine} AND severity>=WARNING AND logName:requests") == [404, 500]
    assert statuses(f'{mine} AND logName:requests AND NOT httpRequest.status=200') == [404, 500]
    assert len(all_entries(run_cloud, filter=f'{mine} AND NOT httpRequest.status=200')) > 2  # no status: NOT holds
    assert statuses(f'{mine} logName:requests -httpRequest.status<500') == [500]
    assert statuses(f"{mine} AND (httpRequest.status=404 OR httpRequest.status=500)") == [404, 500]
    assert statuses(f'{mine} httpRequest.requestUrl:"/MISSING"') == [404]  # `:` has, case-insensitive
    assert statuses(f'{mine} httpRequest.status!=200 httpRequest.status<=404') == [404]
    assert statuses(f'{mine} http_request.status > 200 http_request.status < 500') == [404]
    later = all_entries(run_cloud, filter=f"{mine} logName:requests")[3]["timestamp"]
    assert statuses(f'{mine} logName:requests timestamp>="{later}"') == [404, 500]
    errors = all_entries(run_cloud, filter=f'{mine} AND severity=ERROR AND logName:"stdout"')
    assert [e["jsonPayload"]["message"] for e in errors] == ["boom happened"]
    assert len(all_entries(run_cloud, filter=f'{mine} AND severity=ERROR')) == 2  # the 500 and the JSON line
    assert all_entries(run_cloud, filter='resource.labels.service_name="nobody"') == []


def test_order_and_paging(run_cloud, logged):
    mine = 'resource.labels.service_name="logs"'
    every = all_entries(run_cloud, filter=mine, pageSize=1000)
    paged = all_entries(run_cloud, filter=mine, pageSize=2)
    assert [e["insertId"] for e in paged] == [e["insertId"] for e in every] and len(every) > 10
    newest = all_entries(run_cloud, filter=mine, orderBy="timestamp desc", pageSize=3)
    assert [e["insertId"] for e in newest] == [e["insertId"] for e in reversed(every)]
    first = entries_list(run_cloud, filter=mine, pageSize=2).json()
    assert len(first["entries"]) == 2 and first["nextPageToken"]
    assert "nextPageToken" not in entries_list(run_cloud, filter=mine, pageSize=1000).json()
    default = entries_list(run_cloud).json()  # pageSize default 50
    assert len(default["entries"]) == min(50, len(all_entries(run_cloud)))


def test_an_observed_canary_split_by_revision(run_cloud, services, logged):
    """What lab 06's check counts: requests per resource.labels.revision_name in the request log."""
    service, first = logged
    requests_of = f'logName="{REQUESTS}" AND resource.labels.service_name="logs"'
    before = {e["insertId"] for e in all_entries(run_cloud, filter=requests_of)}
    current = services.get_service(name=service.name)
    current.template = service_of(current.template.containers[0].image, "v2").template
    current.traffic.clear()
    current.traffic.extend([run_v2.TrafficTarget(type_=REVISION, revision=first, percent=50),
                            run_v2.TrafficTarget(type_=LATEST, percent=50)])
    current = services.update_service(service=current).result(timeout=30)
    for _ in range(40):
        get(run_cloud, service.uri)
    wait_for(lambda: len(all_entries(run_cloud, filter=requests_of)) == len(before) + 40, timeout=10)
    counts: dict[str, int] = {}
    for entry in all_entries(run_cloud, filter=requests_of):
        if entry["insertId"] not in before:
            name = entry["resource"]["labels"]["revision_name"]
            counts[name] = counts.get(name, 0) + 1
    second = current.latest_ready_revision.rsplit("/", 1)[1]
    assert set(counts) == {first, second} and sum(counts.values()) == 40 and 8 <= counts[second] <= 32, counts


@pytest.mark.parametrize("body, status, words", [
    ({"filter": "httpRequest.status >= (400"}, 400, "Unparseable filter"),
    ({"filter": 'severity>=LOUD'}, 400, "unknown severity 'LOUD'"),
    ({"filter": 'resource.labels.service_name="logs" AND'}, 400, "expected an expression after AND"),
    ({"filter": 'timestamp>"yesterday"'}, 400, "invalid timestamp"),
    ({"pageSize": 1001}, 400, "pageSize"),
    ({"pageSize": -1}, 400, "pageSize"),
    ({"orderBy": "severity desc"}, 400, "orderBy"),
    ({"pageToken": "not-a-token"}, 400, "page token"),
    ({"resourceNames": []}, 400, "resourceNames is required"),
    ({"resourceNames": ["projects/someone-else"]}, 403, "logging.logEntries.list"),
])
def test_refusals_are_googles_error_body(run_cloud, body, status, words):
    answer = entries_list(run_cloud, **body)
    assert answer.status_code == status, answer.text
    error = answer.json()["error"]
    assert error["code"] == status and words in error["message"]
    assert error["status"] == ("INVALID_ARGUMENT" if status == 400 else "PERMISSION_DENIED")


def test_the_project_number_names_the_project_too(run_cloud, logged):
    answer = entries_list(run_cloud, resourceNames=["projects/123456789012"], filter="logName:requests")
    assert answer.status_code == 200 and answer.json()["entries"]


def test_deleted_services_logs_stay_and_reset_forgets_them(run_cloud, services, logged):
    service, _ = logged
    services.delete_service(name=service.name).result(timeout=30)
    assert len(all_entries(run_cloud, filter='logName:requests resource.labels.service_name="logs"')) >= len(PATHS)
    run_cloud.control("reset")
    assert entries_list(run_cloud).json() == {}
