"""An in-process local cloud (the real gateway on a real port, so boto3 and the AWS CLI reach it over
HTTP) whose data plane a test can reach (`cloud.plane.random.seed(...)`), and real HTTP upstreams on
127.0.0.1 to register as ip targets."""
from __future__ import annotations

import http.server
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import boto3
import pytest
import requests

from labkit.cloud.aws.elbv2 import dataplane
from tests.cloud.local_cloud import AWS, LocalCloud, aws, cli_environment, wait_for  # noqa: F401 (the tests' helpers)

REGION = "ap-northeast-2"
TOKEN = "elbv2-test-token"


class Cloud(LocalCloud):
    """The shared in-process cloud, with what the ELBv2 tests ask of it."""

    @property
    def plane(self) -> dataplane.DataPlane:
        return dataplane.plane(self.state)

    def client(self, service: str):
        return boto3.client(service, endpoint_url=self.endpoint, region_name=REGION, aws_access_key_id="test",
                            aws_secret_access_key="test")

    def hit(self, host: str, n: int, path: str = "/", threads: int = 8) -> Counter:
        """n GETs with `Host: host` on the cloud's port: the bodies of 200s, else "HTTP <status>"."""
        local = threading.local()

        def one(_):
            session = getattr(local, "session", None) or requests.Session()
            local.session = session
            answer = session.get(self.endpoint + path, headers={"Host": host}, timeout=10, allow_redirects=False)
            return answer.text if answer.status_code == 200 else f"HTTP {answer.status_code}"

        with ThreadPoolExecutor(max_workers=threads) as pool:
            return Counter(pool.map(one, range(n)))

    def get(self, host: str, path: str = "/", **kwargs) -> requests.Response:  # the whole answer: headers too
        return requests.get(self.endpoint + path, headers={"Host": host, **kwargs.pop("headers", {})}, timeout=10,
                            allow_redirects=False, **kwargs)


@pytest.fixture(scope="module")
def _server(tmp_path_factory):
    cloud = Cloud(tmp_path_factory.mktemp("elbv2-cloud"), TOKEN)
    yield cloud
    cloud.stop()
    cloud.state.reset()


@pytest.fixture
def cloud(_server) -> Cloud:
    """The module's cloud, reset (labkit's services and moto) before the test."""
    gateway = _server.gateway
    gateway.warm_up()
    answer = requests.post(_server.endpoint + "/_labkit/reset", headers={"X-Labkit-Token": TOKEN}, timeout=30)
    assert answer.status_code == 200
    return _server


@pytest.fixture
def elbv2(cloud):
    return cloud.client("elbv2")


@pytest.fixture
def network(cloud):
    """(two default subnets in two zones, the default VPC id) of moto's default VPC."""
    ec2 = cloud.client("ec2")
    subnets = ec2.describe_subnets(Filters=[{"Name": "default-for-az", "Values": ["true"]}])["Subnets"]
    subnets.sort(key=lambda s: s["AvailabilityZone"])
    vpc = ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"][0]["VpcId"]
    return [s["SubnetId"] for s in subnets[:2]], vpc


class Upstream:
    """An HTTP app on 127.0.0.1: answers `text` on every path; its health path can answer another
    status or hang; kill() closes it (new connections are refused)."""

    def __init__(self, text: str):
        self.text, self.health_path, self.health_status, self.hang_s = text, "/health", 200, 0.0
        self.seen = 0
        upstream = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self):
                status, body = 200, upstream.text
                if self.path == upstream.health_path:
                    if upstream.hang_s:
                        time.sleep(upstream.hang_s)
                    status, body = upstream.health_status, "health"
                else:
                    upstream.seen += 1
                data = body.encode()
                head = f"HTTP/1.1 {status} X\r\nContent-Type: text/plain\r\nContent-Length: {len(data)}\r\n\r\n"
                self.wfile.write(head.encode() + data)  # one write: no Nagle wait between head and body

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def kill(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def upstream():
    made: list[Upstream] = []

    def make(text: str) -> Upstream:
        made.append(Upstream(text))
        return made[-1]
    yield make
    for u in made:
        try:
            u.kill()
        except OSError:
            pass


def health_of(elbv2, tg_arn: str) -> list[tuple]:
    """[(port, state, reason), ...] of every target of the group."""
    found = elbv2.describe_target_health(TargetGroupArn=tg_arn)["TargetHealthDescriptions"]
    return [(d["Target"]["Port"], d["TargetHealth"]["State"], d["TargetHealth"].get("Reason")) for d in found]


def alb(elbv2, network, name: str = "my-alb") -> dict:
    subnets, _ = network
    return elbv2.create_load_balancer(Name=name, Subnets=subnets)["LoadBalancers"][0]


def target_group(elbv2, network, name: str, *targets: Upstream, **settings) -> str:
    _, vpc = network
    arn = elbv2.create_target_group(Name=name, Protocol="HTTP", Port=80, VpcId=vpc, TargetType="ip",
                                    HealthCheckPath="/health", **settings)["TargetGroups"][0]["TargetGroupArn"]
    if targets:
        elbv2.register_targets(TargetGroupArn=arn, Targets=[{"Id": "127.0.0.1", "Port": t.port} for t in targets])
    return arn


def forward(*weighted) -> list[dict]:
    """DefaultActions forwarding to (tg_arn, weight) pairs."""
    return [{"Type": "forward", "ForwardConfig": {"TargetGroups": [{"TargetGroupArn": a, "Weight": w}
                                                                   for a, w in weighted]}}]


@pytest.fixture
def cli_env(cloud, tmp_path):
    """Environment for the AWS CLI pointed at this cloud."""
    return cli_environment(cloud.port, tmp_path)
