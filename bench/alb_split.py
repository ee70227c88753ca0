"""An ALB canary on the local cloud against issue 9's goal:

    1,000 requests through an ALB listener forwarding 90/10 over two target groups
    (labkit.aws.hit: 8 requests in flight, the ALB's DNS name resolved to the cloud's port)   goal <= 2 s
    the split: v2's share within 3 points of 10 %            (the cloud's pick seeded: LABKIT_ELB_SEED)

then the same after modify-listener to 0/100 (every answer v2), and how long a new target takes to be
healthy and a dead one unhealthy (time compressed, labkit/cloud/aws/elbv2/timescale.py).

    .venv/bin/python bench/alb_split.py [--json FILE] [--runs 3]

The cloud is a real cloud process (labkit.cloud.process.start_cloud); the two apps are HTTP servers
on 127.0.0.1 in a process of their own (as containers would be), registered as ip targets.
"""
from __future__ import annotations

import argparse
import http.server
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

REGION = "ap-northeast-2"
GOALS = {"requests_s": 2.0, "split_points": 3.0}


def app(text: str) -> http.server.ThreadingHTTPServer:
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self):
            body = text.encode()
            self.wfile.write(f"HTTP/1.1 200 OK\r\nContent-Length: {len(body)}\r\n\r\n".encode() + body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def serve_apps(texts: list[str]) -> None:
    """The apps' process: one server per text, their ports on stdout; ends when stdin closes."""
    servers = [app(text) for text in texts]
    print(" ".join(str(s.server_port) for s in servers), flush=True)
    sys.stdin.read()


def start_apps(*texts: str) -> tuple[subprocess.Popen, list[int]]:
    proc = subprocess.Popen([sys.executable, __file__, "--apps", *texts], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    return proc, [int(p) for p in proc.stdout.readline().split()]


def forward(*weighted) -> list[dict]:
    return [{"Type": "forward", "ForwardConfig": {"TargetGroups": [{"TargetGroupArn": a, "Weight": w}
                                                                   for a, w in weighted]}}]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--json", help="also write the figures to this file")
    parser.add_argument("--runs", type=int, default=3, help="timed runs of 1,000 requests (the best is the figure)")
    parser.add_argument("--apps", nargs="+", help=argparse.SUPPRESS)  # the apps' own process
    args = parser.parse_args(argv)
    if args.apps:
        serve_apps(args.apps)
        return 0

    import boto3

    from labkit import aws, net
    from labkit.cloud.process import start_cloud

    home = Path(tempfile.mkdtemp(prefix="labkit-bench-alb-"))
    cloud = start_cloud(home, extra_env={"LABKIT_ELB_SEED": "19"})
    apps = None
    os.environ["LABKIT_AWS_PORT"] = str(cloud.port)
    net.install()
    try:
        kw = dict(endpoint_url=f"http://127.0.0.1:{cloud.port}", region_name=REGION, aws_access_key_id="test",
                  aws_secret_access_key="test")
        elbv2, ec2 = boto3.client("elbv2", **kw), boto3.client("ec2", **kw)
        subnets = ec2.describe_subnets(Filters=[{"Name": "default-for-az", "Values": ["true"]}])["Subnets"]
        vpc = ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"][0]["VpcId"]
        lb = elbv2.create_load_balancer(Name="my-alb", Subnets=[s["SubnetId"] for s in subnets[:2]])["LoadBalancers"][0]
        apps, (v1_port, v2_port) = start_apps("v1", "v2")
        groups = []
        for name, port in (("v1", v1_port), ("v2", v2_port)):
            arn = elbv2.create_target_group(Name=name, Protocol="HTTP", Port=80, VpcId=vpc,
                                            TargetType="ip")["TargetGroups"][0]["TargetGroupArn"]
            elbv2.register_targets(TargetGroupArn=arn, Targets=[{"Id": "127.0.0.1", "Port": port}])
            groups.append(arn)
        started = time.perf_counter()
        listener = elbv2.create_listener(LoadBalancerArn=lb["LoadBalancerArn"], Protocol="HTTP", Port=80,
                                         DefaultActions=forward((groups[0], 90), (groups[1], 10)))["Listeners"][0]
        while elbv2.describe_target_health(TargetGroupArn=groups[1])["TargetHealthDescriptions"][0][
                "TargetHealth"]["State"] != "healthy":
            time.sleep(0.02)
        healthy_s = time.perf_counter() - started
        url = f"http://{lb['DNSName']}/"

        runs = []
        for _ in range(args.runs):
            t0 = time.perf_counter()
            answers = aws.hit(url, n=1000)
            runs.append((time.perf_counter() - t0, answers))
        best_s, answers = min(runs, key=lambda r: r[0])
        share = 100.0 * answers["v2"] / max(sum(answers.values()), 1)

        elbv2.modify_listener(ListenerArn=listener["ListenerArn"],
                              DefaultActions=forward((groups[0], 0), (groups[1], 100)))
        t0 = time.perf_counter()
        promoted = aws.hit(url, n=1000)
        promoted_s = time.perf_counter() - t0

        apps.stdin.close()  # both apps gone
        apps.wait(timeout=10)
        t0 = time.perf_counter()
        while elbv2.describe_target_health(TargetGroupArn=groups[1])["TargetHealthDescriptions"][0][
                "TargetHealth"]["State"] != "unhealthy":
            time.sleep(0.05)
        unhealthy_s = time.perf_counter() - t0
    finally:
        if apps is not None and apps.poll() is None:
            apps.kill()
        cloud.stop()
        shutil.rmtree(home, ignore_errors=True)

    figures = {
        "requests_s": round(best_s, 3), "runs_s": [round(r[0], 3) for r in runs],
        "answers": dict(answers), "v2_share_percent": round(share, 1),
        "promoted_s": round(promoted_s, 3), "promoted_answers": dict(promoted),
        "new_target_healthy_s": round(healthy_s, 3), "dead_target_unhealthy_s": round(unhealthy_s, 3),
        "goals": GOALS,
        "met": {"requests_s": best_s <= GOALS["requests_s"],
                "split_points": abs(share - 10.0) <= GOALS["split_points"],
                "promoted": dict(promoted) == {"v2": 1000}},
    }
    print(f"1,000 requests at 90/10: {best_s:.2f} s (goal <= {GOALS['requests_s']} s; runs "
          f"{', '.join(f'{r[0]:.2f}' for r in runs)}), v2 {share:.1f} % (goal 10 +/- {GOALS['split_points']:.0f}): "
          f"{dict(answers)}")
    print(f"after modify-listener 0/100: {promoted_s:.2f} s, {dict(promoted)}")
    print(f"new target healthy {healthy_s:.2f} s after create-listener; "
          f"dead target unhealthy after {unhealthy_s:.2f} s")
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2))
    return 0 if all(figures["met"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
