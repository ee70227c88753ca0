"""Where a request to a listener goes: rules by priority (path-pattern, host-header, ...), then the
default action; fixed-response and redirect answer themselves; forward picks by weight, then a
target round robin; no registered target: the ALB's 503."""
from __future__ import annotations

import random

from labkit.cloud.aws.elbv2 import conditions, routing
from labkit.cloud.aws.elbv2.models import Condition
from tests.cloud.elbv2.conftest import alb, forward, target_group


def test_rules_by_path_and_host_before_the_default(cloud, elbv2, network, upstream):
    web, api, admin = upstream("web"), upstream("api"), upstream("admin")
    lb = alb(elbv2, network)
    tg_web, tg_api = target_group(elbv2, network, "web", web), target_group(elbv2, network, "api", api)
    tg_admin = target_group(elbv2, network, "admin", admin)
    listener = elbv2.create_listener(LoadBalancerArn=lb["LoadBalancerArn"], Protocol="HTTP", Port=80,
                                     DefaultActions=forward((tg_web, 1)))["Listeners"][0]["ListenerArn"]
    elbv2.create_rule(ListenerArn=listener, Priority=20, Actions=forward((tg_api, 1)),
                      Conditions=[{"Field": "path-pattern", "PathPatternConfig": {"Values": ["/api/*", "/v?/*"]}}])
    elbv2.create_rule(ListenerArn=listener, Priority=10, Actions=forward((tg_admin, 1)),
                      Conditions=[{"Field": "path-pattern", "Values": ["/api/admin*"]}])
    elbv2.create_rule(ListenerArn=listener, Priority=30, Actions=forward((tg_admin, 1)),  # every condition must hold
                      Conditions=[{"Field": "host-header",
                                   "HostHeaderConfig": {"Values": ["MY-ALB-*.elb.amazonaws.com"]}},
                                  {"Field": "path-pattern", "Values": ["/hosted"]}])
    elbv2.create_rule(ListenerArn=listener, Priority=40, Actions=forward((tg_admin, 1)),
                      Conditions=[{"Field": "host-header", "Values": ["admin.example.com"]}])
    host = lb["DNSName"]
    assert cloud.get(host, "/").text == "web"
    assert cloud.get(host, "/api/users").text == "api"
    assert cloud.get(host, "/v2/users").text == "api"            # ? matches one character
    assert cloud.get(host, "/v22/users").text == "web"
    assert cloud.get(host, "/API/users").text == "web"           # paths are case-sensitive
    assert cloud.get(host, "/api/admin/x").text == "admin"       # priority 10 before 20
    assert cloud.get(host, "/api?x=/api/").text == "web"          # the query string is not the path
    assert cloud.get(host, "/hosted").text == "admin"            # host names match case-insensitively
    assert cloud.get(host, "/other").text == "web"               # admin.example.com is not this Host


def test_fixed_response_and_redirect(cloud, elbv2, network):
    lb = alb(elbv2, network)
    listener = elbv2.create_listener(
        LoadBalancerArn=lb["LoadBalancerArn"], Protocol="HTTP", Port=80,
        DefaultActions=[{"Type": "fixed-response", "FixedResponseConfig": {
            "StatusCode": "404", "ContentType": "application/json", "MessageBody": '{"error": "no route"}'}}],
    )["Listeners"][0]["ListenerArn"]
    elbv2.create_rule(ListenerArn=listener, Priority=1, Conditions=[{"Field": "path-pattern", "Values": ["/old/*"]}],
                      Actions=[{"Type": "redirect",
                                "RedirectConfig": {"Path": "/new/#{path}", "StatusCode": "HTTP_302"}}])
    answer = cloud.get(lb["DNSName"], "/anything")
    assert (answer.status_code, answer.headers["Content-Type"], answer.json()) == (404, "application/json",
                                                                                   {"error": "no route"})
    moved = cloud.get(lb["DNSName"], "/old/page", params={"q": "1"})
    assert moved.status_code == 302
    assert moved.headers["Location"] == f"http://{lb['DNSName']}/new/old/page?q=1"


def test_a_listener_on_another_port_is_another_route(cloud, elbv2, network, upstream):
    app = upstream("on 8080")
    lb = alb(elbv2, network)
    tg = target_group(elbv2, network, "app", app)
    elbv2.create_listener(LoadBalancerArn=lb["LoadBalancerArn"], Protocol="HTTP", Port=8080,
                          DefaultActions=forward((tg, 1)))
    assert cloud.get(f"{lb['DNSName']}:8080").text == "on 8080"
    assert all(r.port == 8080 for r in cloud.state.ingress.routes())


def test_no_registered_target_is_503_and_deleting_the_load_balancer_drops_its_routes(cloud, elbv2, network):
    lb = alb(elbv2, network)
    tg = target_group(elbv2, network, "empty")
    elbv2.create_listener(LoadBalancerArn=lb["LoadBalancerArn"], Protocol="HTTP", Port=80,
                          DefaultActions=forward((tg, 1)))
    answer = cloud.get(lb["DNSName"])
    assert answer.status_code == 503 and "503 Service Temporarily Unavailable" in answer.text
    elbv2.delete_load_balancer(LoadBalancerArn=lb["LoadBalancerArn"])
    assert cloud.state.ingress.routes() == []


def test_round_robin_over_two_targets_on_one_address(cloud, elbv2, network, upstream):
    """Two targets that share an address and differ by port (moto would keep only the last)."""
    a, b = upstream("a"), upstream("b")
    lb = alb(elbv2, network)
    tg = target_group(elbv2, network, "pair", a, b)
    elbv2.create_listener(LoadBalancerArn=lb["LoadBalancerArn"], Protocol="HTTP", Port=80,
                          DefaultActions=forward((tg, 1)))
    assert sorted(d["Target"]["Port"] for d in elbv2.describe_target_health(
        TargetGroupArn=tg)["TargetHealthDescriptions"]) == sorted([a.port, b.port])
    assert cloud.hit(lb["DNSName"], 100, threads=1) == {"a": 50, "b": 50}


def test_weighted_pick_follows_the_weights_for_any_seed():
    for seed in range(10):
        rng = random.Random(seed)
        picks = [routing.choose_group(rng, (("v1", 70), ("v2", 30))) for _ in range(10_000)]
        assert abs(picks.count("v2") / 10_000 - 0.30) <= 0.03
    rng = random.Random(0)
    assert {routing.choose_group(rng, (("v1", 0), ("v2", 100))) for _ in range(500)} == {"v2"}
    assert routing.choose_group(rng, (("v1", 0), ("v2", 0))) is None


def test_conditions_as_the_alb_matches_them():
    def env(path="/", host="shop.example.com", method="GET", query="", addr="10.0.0.7", **headers):
        e = {"PATH_INFO": path, "HTTP_HOST": host, "REQUEST_METHOD": method, "QUERY_STRING": query,
             "REMOTE_ADDR": addr}
        e.update({"HTTP_" + k.upper(): v for k, v in headers.items()})
        return e

    host = Condition("host-header", ("*.EXAMPLE.com",))
    assert conditions.matches([host], env(host="Shop.example.com:8080"))
    assert not conditions.matches([host], env(host="example.com"))
    method = Condition("http-request-method", ("POST",))
    assert conditions.matches([method], env(method="POST")) and not conditions.matches([method], env())
    header = Condition("http-header", ("mobile*",), header="User-Agent")
    assert conditions.matches([header], env(user_agent="Mobile Safari"))
    query = Condition("query-string", ((None, "beta"), ("version", "v2")))
    assert conditions.matches([query], env(query="version=V2")) and conditions.matches([query], env(query="x=beta"))
    source = Condition("source-ip", ("10.0.0.0/24",))
    assert conditions.matches([source], env()) and not conditions.matches([source], env(addr="10.0.1.7"))
    assert not conditions.matches([source, method], env())  # every condition of a rule must hold
    parsed = conditions.parse({"Field": "query-string", "QueryStringConfig": {"Values": [{"Key": "a", "Value": "1"}]}})
    assert parsed.values == (("a", "1"),)


def test_which_targets_are_in_service():
    """Healthy ones; with none, the unhealthy ones (fail open); never new (initial) or draining ones."""
    from labkit.cloud.aws.elbv2.models import Registration

    class Plane:
        def __init__(self, *states):
            self.turns, self.regs = {}, []
            for port, state in enumerate(states, start=1):
                self.regs.append(Registration(id="127.0.0.1", port=port, address="127.0.0.1", state=state))

        def registrations(self, _):
            return self.regs

    def ports(plane, n=6):
        return sorted({routing.choose_target(plane, "tg").port for _ in range(n)})

    assert ports(Plane("healthy", "unhealthy", "healthy", "initial", "draining")) == [1, 3]
    assert ports(Plane("unhealthy", "initial", "unhealthy", "draining")) == [1, 3]
    assert ports(Plane("unavailable", "unavailable")) == [1, 2]  # health checks disabled
    assert routing.choose_target(Plane("initial", "draining"), "tg") is None
    assert routing.choose_target(Plane(), "tg") is None
