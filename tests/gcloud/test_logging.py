"""`labkit gcloud logging read` against a real cloud: a service deployed and hit, its request log
read back newest first (gcloud's default), with a filter, --limit, --order=asc, --format=json and
value(...), --freshness, and a filter the API refuses."""
from __future__ import annotations

import json

import pytest
import requests

from tests.gcloud.conftest import REGION, push_app

REQUESTS = 'logName="projects/labkit-project/logs/run.googleapis.com%2Frequests"'


@pytest.fixture(scope="module")
def hit(gcloud):
    image = push_app(gcloud.cloud.endpoint, image="log-read", tag="v1")
    gcloud("run", "deploy", "log-read", f"--image={image}", f"--region={REGION}", "--allow-unauthenticated")
    host = "log-read-123456789012.asia-northeast3.run.app"
    for path in ("/first", "/second", "/third"):
        assert requests.get(gcloud.cloud.endpoint + path, headers={"Host": host}, timeout=30).status_code == 200
    return host


def urls(done) -> list[str]:
    return done.stdout.split()


def test_newest_first_with_a_filter_and_value_format(gcloud, hit):
    mine = f'{REQUESTS} AND resource.labels.service_name="log-read"'
    done = gcloud("logging", "read", mine, "--format=value(httpRequest.requestUrl)")
    assert urls(done) == [f"https://{hit}/third", f"https://{hit}/second", f"https://{hit}/first"]
    assert urls(gcloud("logging", "read", mine, "--limit=2", "--format=value(httpRequest.requestUrl)")) == \
        [f"https://{hit}/third", f"https://{hit}/second"]
    assert urls(gcloud("logging", "read", mine, "--order=asc", "--limit=1",
                       "--format=value(httpRequest.requestUrl)")) == [f"https://{hit}/first"]
    status = gcloud("logging", "read", mine, "--limit=1", "--format=value(httpRequest.status,severity)")
    assert status.stdout == "200\tINFO\n"


def test_json_and_the_default_yaml(gcloud, hit):
    mine = f'{REQUESTS} AND resource.labels.service_name="log-read"'
    entries = json.loads(gcloud("logging", "read", mine, "--format=json").stdout)
    assert len(entries) == 3 and entries[0]["resource"]["labels"]["service_name"] == "log-read"
    assert entries[0]["httpRequest"]["status"] == 200 and entries[0]["logName"].endswith("%2Frequests")
    yaml_out = gcloud("logging", "read", mine, "--limit=2").stdout
    assert yaml_out.count("---\n") == 1 and "requestUrl: https://" in yaml_out and "severity: INFO" in yaml_out
    stdout = gcloud("logging", "read", 'logName:"stdout" resource.labels.service_name="log-read"', "--format=json")
    assert "listening on 8080" in [e.get("textPayload") for e in json.loads(stdout.stdout)]


def test_freshness_and_a_bad_filter(gcloud, hit):
    mine = f'{REQUESTS} AND resource.labels.service_name="log-read"'
    assert len(json.loads(gcloud("logging", "read", mine, "--freshness=1h", "--format=json").stdout)) == 3
    assert json.loads(gcloud("logging", "read", mine, "--freshness=0s", "--format=json").stdout) == []  # none that new
    assert len(json.loads(gcloud("logging", "read", mine, "--freshness=0s", "--order=asc",
                                 "--format=json").stdout)) == 3  # asc: no freshness bound (gcloud's rule)
    # a timestamp in the filter: no freshness clause (gcloud's rule), so the old bound is the filter's
    assert len(json.loads(gcloud("logging", "read", f'{mine} timestamp>="2000-01-01T00:00:00Z"',
                                 "--format=json").stdout)) == 3
    bad = gcloud("logging", "read", "httpRequest.status >= (", check=False)
    assert bad.returncode == 1 and bad.stdout == ""
    assert bad.stderr.startswith("ERROR: (gcloud.logging.read) INVALID_ARGUMENT: Unparseable filter: ")
    assert gcloud("logging", "read", mine, "--freshness=soon", check=False).returncode == 2
    assert gcloud("logging", "read", "--limit=0", check=False).returncode == 2
