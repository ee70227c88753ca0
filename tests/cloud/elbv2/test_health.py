"""Target health as DescribeTargetHealth reports it, from real health checks (time compressed 30x by
default: a 30 s interval is 1 s): the states and reason codes of the API reference, traffic that
avoids unhealthy targets, and the fail-open of a group with no healthy target."""
from __future__ import annotations

import time

from labkit.cloud.aws.elbv2 import timescale
from tests.cloud.elbv2.conftest import alb, forward, health_of, target_group, wait_for


def listen(elbv2, lb, *weighted) -> str:
    return elbv2.create_listener(LoadBalancerArn=lb["LoadBalancerArn"], Protocol="HTTP", Port=80,
                                 DefaultActions=forward(*weighted))["Listeners"][0]["ListenerArn"]


def test_the_default_health_check_settings_are_awss(cloud, elbv2, network):
    _, vpc = network
    tg = elbv2.create_target_group(Name="defaults", Protocol="HTTP", Port=8080, VpcId=vpc,
                                   TargetType="ip")["TargetGroups"][0]
    settings = {k: tg[k] for k in ("HealthCheckProtocol", "HealthCheckPort", "HealthCheckPath",
                                   "HealthCheckIntervalSeconds", "HealthCheckTimeoutSeconds", "HealthyThresholdCount",
                                   "UnhealthyThresholdCount", "Matcher", "HealthCheckEnabled")}
    assert settings == {"HealthCheckProtocol": "HTTP", "HealthCheckPort": "traffic-port", "HealthCheckPath": "/",
                        "HealthCheckIntervalSeconds": 30, "HealthCheckTimeoutSeconds": 6, "HealthyThresholdCount": 5,
                        "UnhealthyThresholdCount": 2, "Matcher": {"HttpCode": "200"}, "HealthCheckEnabled": True}
    described = elbv2.describe_target_groups(TargetGroupArns=[tg["TargetGroupArn"]])["TargetGroups"][0]
    assert described["HealthCheckTimeoutSeconds"] == 6  # moto's own answers say so from now on


def test_unused_until_a_listener_uses_the_group_then_healthy_at_once(cloud, elbv2, network, upstream):
    app = upstream("app")
    lb = alb(elbv2, network)
    tg = target_group(elbv2, network, "app", app)
    found = elbv2.describe_target_health(TargetGroupArn=tg)["TargetHealthDescriptions"]
    assert found == [{"Target": {"Id": "127.0.0.1", "Port": app.port}, "HealthCheckPort": str(app.port),
                      "TargetHealth": {"State": "unused", "Reason": "Target.NotInUse",
                                       "Description": "Given target group is not configured to receive traffic "
                                                      "from ELB"}}]
    started = time.monotonic()
    listen(elbv2, lb, (tg, 1))
    assert health_of(elbv2, tg) == [(app.port, "healthy", None)]  # one passing check is enough (AWS's rule)
    assert time.monotonic() - started < 1.5
    unknown = elbv2.describe_target_health(TargetGroupArn=tg, Targets=[{"Id": "127.0.0.9", "Port": 80}])
    assert unknown["TargetHealthDescriptions"][0]["TargetHealth"] == {
        "State": "unused", "Reason": "Target.NotRegistered",
        "Description": "Target is not registered to the target group"}


def test_a_dead_target_turns_unhealthy_and_gets_no_traffic(cloud, elbv2, network, upstream):
    alive, doomed = upstream("alive"), upstream("doomed")
    lb = alb(elbv2, network)
    tg = target_group(elbv2, network, "pair", alive, doomed)
    listen(elbv2, lb, (tg, 1))
    assert sorted(s for _, s, _ in health_of(elbv2, tg)) == ["healthy", "healthy"]
    doomed.kill()
    died = time.monotonic()
    wait_for(lambda: (doomed.port, "unhealthy", "Target.FailedHealthChecks") in health_of(elbv2, tg),
             timeout=4, what="the dead target unhealthy")
    assert time.monotonic() - died < 2.5  # 2 failed checks, 1 s apart
    detail = elbv2.describe_target_health(TargetGroupArn=tg, Targets=[{"Id": "127.0.0.1", "Port": doomed.port}])
    assert detail["TargetHealthDescriptions"][0]["TargetHealth"]["Description"] == "Health checks failed"
    assert (alive.port, "healthy", None) in health_of(elbv2, tg)
    served_before = alive.seen
    assert cloud.hit(lb["DNSName"], 100) == {"alive": 100}
    assert alive.seen - served_before == 100


def test_wrong_status_and_timeouts_have_their_reasons_and_recovery_takes_the_threshold(cloud, elbv2, network,
                                                                                       upstream):
    broken, slow = upstream("broken"), upstream("slow")
    lb = alb(elbv2, network)
    tg_broken = target_group(elbv2, network, "broken", broken, HealthyThresholdCount=2)
    tg_slow = target_group(elbv2, network, "slow", slow)
    elbv2.create_listener(LoadBalancerArn=lb["LoadBalancerArn"], Protocol="HTTP", Port=80,
                          DefaultActions=forward((tg_broken, 1), (tg_slow, 1)))
    assert health_of(elbv2, tg_broken)[0][1] == "healthy"
    broken.health_status, slow.hang_s = 500, 3.0
    wait_for(lambda: health_of(elbv2, tg_broken) == [(broken.port, "unhealthy", "Target.ResponseCodeMismatch")],
             timeout=4, what="a 500 on the health path")
    detail = elbv2.describe_target_health(TargetGroupArn=tg_broken)["TargetHealthDescriptions"][0]["TargetHealth"]
    assert detail["Description"] == "Health checks failed with these codes: [500]"
    wait_for(lambda: health_of(elbv2, tg_slow) == [(slow.port, "unhealthy", "Target.Timeout")],
             timeout=6, what="a health path that hangs")

    broken.health_status = 200  # HealthyThresholdCount (2) passes in a row: healthy again
    wait_for(lambda: health_of(elbv2, tg_broken)[0][1] == "healthy", timeout=4, what="recovery")


def test_a_group_with_no_healthy_target_fails_open(cloud, elbv2, network, upstream):
    """ALB guide: a target group with only unhealthy targets gets traffic to all of them."""
    sick = upstream("still serving")
    lb = alb(elbv2, network)
    tg = target_group(elbv2, network, "sick", sick)
    listen(elbv2, lb, (tg, 1))
    sick.health_status = 404
    wait_for(lambda: health_of(elbv2, tg)[0][1] == "unhealthy", timeout=4, what="unhealthy")
    assert cloud.hit(lb["DNSName"], 10) == {"still serving": 10}


def test_a_matcher_and_a_health_port_of_their_own(cloud, elbv2, network, upstream):
    app, checker = upstream("app"), upstream("checker")
    app.health_status = 404
    lb = alb(elbv2, network)
    tg = target_group(elbv2, network, "matcher", app, Matcher={"HttpCode": "200-299,404"})
    other = target_group(elbv2, network, "port", app, HealthCheckPort=str(checker.port))
    elbv2.create_listener(LoadBalancerArn=lb["LoadBalancerArn"], Protocol="HTTP", Port=80,
                          DefaultActions=forward((tg, 1), (other, 1)))
    assert health_of(elbv2, tg)[0][1] == "healthy"
    described = elbv2.describe_target_health(TargetGroupArn=other)["TargetHealthDescriptions"][0]
    assert (described["HealthCheckPort"], described["TargetHealth"]["State"]) == (str(checker.port), "healthy")


def test_time_compression_is_settable(monkeypatch):
    monkeypatch.setenv(timescale.ENV, "300")
    assert timescale.interval_s(30) == timescale.MIN_INTERVAL_S and timescale.delay_s(300) == 1.0
    monkeypatch.setenv(timescale.ENV, "30")
    assert (timescale.interval_s(30), timescale.timeout_s(6, 30), timescale.delay_s(300)) == (1.0, 0.5, 10.0)
    monkeypatch.setenv(timescale.ENV, "nonsense")
    assert timescale.scale() == timescale.DEFAULT_SCALE


def test_the_health_checker_stops_on_reset(cloud, elbv2, network, upstream):
    import requests

    from tests.cloud.elbv2.conftest import TOKEN

    app = upstream("app")
    lb = alb(elbv2, network)
    listen(elbv2, lb, (target_group(elbv2, network, "app", app), 1))
    thread = cloud.plane.checker._thread
    assert thread is not None and thread.is_alive()
    requests.post(cloud.endpoint + "/_labkit/reset", headers={"X-Labkit-Token": TOKEN}, timeout=30)
    thread.join(timeout=3)
    assert not thread.is_alive() and cloud.state.ingress.routes() == []


def test_a_target_whose_app_comes_up_late_is_healthy_once_it_answers_not_an_interval_later(cloud, elbv2, network):
    """A task is registered once its process runs, before its app listens: the closed port is probed
    again between the regular checks (uncounted), so the target is healthy a moment after the app
    answers; a port that stays closed turns `unhealthy` only after the regular checks (2, 1 s apart)."""
    import http.server
    import socket
    import threading

    def free_port() -> int:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            return s.getsockname()[1]

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self):
            self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nlate")

        def log_message(self, *args):
            pass

    late, never = free_port(), free_port()
    lb = alb(elbv2, network)
    _, vpc = network
    tg = elbv2.create_target_group(Name="late", Protocol="HTTP", Port=80, VpcId=vpc, TargetType="ip",
                                   HealthCheckPath="/health")["TargetGroups"][0]["TargetGroupArn"]
    elbv2.register_targets(TargetGroupArn=tg, Targets=[{"Id": "127.0.0.1", "Port": p} for p in (late, never)])
    started = time.monotonic()
    listen(elbv2, lb, (tg, 1))
    assert sorted(health_of(elbv2, tg)) == sorted([(late, "initial", "Elb.InitialHealthChecking"),
                                                   (never, "initial", "Elb.InitialHealthChecking")])
    time.sleep(0.3)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", late), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        up = time.monotonic()
        wait_for(lambda: (late, "healthy", None) in health_of(elbv2, tg), timeout=3, what="the late app healthy")
        assert time.monotonic() - up < 0.6  # not the 1 s interval after the first check
        assert cloud.hit(lb["DNSName"], 4) == {"late": 4}  # only the healthy one gets traffic
        wait_for(lambda: (never, "unhealthy", "Target.FailedHealthChecks") in health_of(elbv2, tg), timeout=4,
                 what="the closed port unhealthy")
        assert time.monotonic() - started > 0.9  # its failures counted at the regular checks only
    finally:
        server.shutdown()
        server.server_close()
