"""An ALB canary on the local cloud against issue 9's goal:

    1,000 requests through an ALB listener forwarding 90/10 over two target groups
    (labkit.aws.hit: 8 requests in flight, the ALB's DNS name resolved to the cloud's port)   goal <= 2 s
    the split: v2's share within 3 points of 10 %            (the cloud's pick seeded: LABKIT_ELB_SEED)

then the same after modify-listener to 0/100 (every answer v2), and how long a new target takes to be
healthy and a dead one unhealthy (time compressed, labkit/cloud/aws/elbv2/timescale.py).

    .venv/bin/python bench/alb_split.py [--json FILE] [--runs 3] [--flask]

The cloud is a real cloud process (labkit.cloud.process.start_cloud); the two apps are HTTP servers
on 127.0.0.1 in a process of their own (as containers would be), registered as ip targets. With
--flask they are the lesson's Flask app (section 9.1, pushed to ECR with `labkit docker`) as two ECS
services (CLOUD_PROVIDER=AWS / AWS-v2) whose tasks ECS registers in the two target groups, as lab 09
does (no dead-target figure then). Each run also says the CPU seconds of the client, the cloud and
the containers (bench/cloudrun_start.py CpuMeter).
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


def ecs_targets(port: int, groups: list[str], subnet: str, work: Path) -> None:
    """The lesson's Flask app as ECS services web-v1 / web-v2, each task registered in its target group."""
    import copy

    from runtime_start import ECR_HOST, REPOSITORY, TAG, push_lesson_image
    from labkit.checks.core import CheckContext
    from tests.cloud.ecs.lesson import TASK_DEFINITION

    push_lesson_image(port, work)
    ctx = CheckContext(endpoint=f"http://127.0.0.1:{port}", home=work / "clients")
    ecs = ctx.client("ecs")
    ecs.create_cluster(clusterName="my-cluster")
    ctx.client("logs").create_log_group(logGroupName="/ecs/my-task")
    for (version, provider), arn in zip((("v1", "AWS"), ("v2", "AWS-v2")), groups):
        doc = copy.deepcopy(TASK_DEFINITION)
        doc["family"] = f"web-{version}"
        container = doc["containerDefinitions"][0]
        container["image"] = f"{ECR_HOST}/{REPOSITORY}:{TAG}"
        container["portMappings"][0]["containerPort"] = 8080
        container["environment"] = [{"name": "CLOUD_PROVIDER", "value": provider}]
        ecs.register_task_definition(**doc)
        ecs.create_service(cluster="my-cluster", serviceName=f"web-{version}", taskDefinition=f"web-{version}",
                           desiredCount=1, launchType="FARGATE",
                           networkConfiguration={"awsvpcConfiguration": {"subnets": [subnet]}},
                           loadBalancers=[{"targetGroupArn": arn, "containerName": "my-container",
                                           "containerPort": 8080}])


def forward(*weighted) -> list[dict]:
    return [{"Type": "forward", "ForwardConfig": {"TargetGroups": [{"TargetGroupArn": a, "Weight": w}
                                                                   for a, w in weighted]}}]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--json", help="also write the figures to this file")
    parser.add_argument("--runs", type=int, default=3, help="timed runs of 1,000 requests (the best is the figure)")
    parser.add_argument("--flask", action="store_true", help="targets: the lesson's Flask app as ECS tasks")
    parser.add_argument("--apps", nargs="+", help=argparse.SUPPRESS)  # the apps' own process
    args = parser.parse_args(argv)
    if args.apps:
        serve_apps(args.apps)
        return 0

    import boto3

    sys.path.insert(0, str(ROOT / "bench"))
    from cloudrun_start import CpuMeter
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
        texts = ("Hello from AWS!", "Hello from AWS-v2!") if args.flask else ("v1", "v2")
        groups = []
        for name in ("v1", "v2"):
            groups.append(elbv2.create_target_group(Name=name, Protocol="HTTP", Port=8080 if args.flask else 80,
                                                    VpcId=vpc, TargetType="ip")["TargetGroups"][0]["TargetGroupArn"])
        if not args.flask:
            apps, ports = start_apps("v1", "v2")
            for arn, port in zip(groups, ports):
                elbv2.register_targets(TargetGroupArn=arn, Targets=[{"Id": "127.0.0.1", "Port": port}])
        started = time.perf_counter()
        listener = elbv2.create_listener(LoadBalancerArn=lb["LoadBalancerArn"], Protocol="HTTP", Port=80,
                                         DefaultActions=forward((groups[0], 90), (groups[1], 10)))["Listeners"][0]
        if args.flask:  # ECS registers its tasks once the target groups have a load balancer (the listener)
            (home / "bench").mkdir()
            ecs_targets(cloud.port, groups, subnets[0]["SubnetId"], home / "bench")

        def states(arn):
            return [d["TargetHealth"]["State"] for d in
                    elbv2.describe_target_health(TargetGroupArn=arn)["TargetHealthDescriptions"]]
        while not all(states(arn) == ["healthy"] for arn in groups):
            time.sleep(0.02)
        healthy_s = time.perf_counter() - started
        url = f"http://{lb['DNSName']}/"

        runs, meter = [], CpuMeter(cloud.pid)
        for _ in range(args.runs):
            meter.start()
            t0 = time.perf_counter()
            answers = aws.hit(url, n=1000)
            runs.append((time.perf_counter() - t0, answers, meter.stop()))
        best_s, answers, best_cpu = min(runs, key=lambda r: r[0])
        share = 100.0 * answers[texts[1]] / max(sum(answers.values()), 1)

        elbv2.modify_listener(ListenerArn=listener["ListenerArn"],
                              DefaultActions=forward((groups[0], 0), (groups[1], 100)))
        t0 = time.perf_counter()
        promoted = aws.hit(url, n=1000)
        promoted_s = time.perf_counter() - t0

        unhealthy_s = None
        if apps is not None:
            apps.stdin.close()  # both apps gone
            apps.wait(timeout=10)
            t0 = time.perf_counter()
            while states(groups[1]) != ["unhealthy"]:
                time.sleep(0.05)
            unhealthy_s = time.perf_counter() - t0
    finally:
        if apps is not None and apps.poll() is None:
            apps.kill()
        cloud.stop()
        shutil.rmtree(home, ignore_errors=True)

    figures = {
        "targets": "the lesson's Flask app as ECS tasks" if args.flask else "http.server apps",
        "requests_s": round(best_s, 3), "runs_s": [round(r[0], 3) for r in runs], "cpu_s": [r[2] for r in runs],
        "answers": dict(answers), "v2_share_percent": round(share, 1),
        "promoted_s": round(promoted_s, 3), "promoted_answers": dict(promoted),
        "new_target_healthy_s": round(healthy_s, 3),
        "dead_target_unhealthy_s": None if unhealthy_s is None else round(unhealthy_s, 3),
        "goals": GOALS,
        "met": {"requests_s": best_s <= GOALS["requests_s"],
                "split_points": abs(share - 10.0) <= GOALS["split_points"],
                "promoted": dict(promoted) == {texts[1]: 1000}},
    }
    print(f"targets: {figures['targets']}")
    print(f"1,000 requests at 90/10: {best_s:.2f} s (goal <= {GOALS['requests_s']} s; runs "
          f"{', '.join(f'{r[0]:.2f}' for r in runs)}), v2 {share:.1f} % (goal 10 +/- {GOALS['split_points']:.0f}): "
          f"{dict(answers)}")
    print("CPU seconds per run: " + "; ".join(f"{c['total']:.2f} (client {c['client']:.2f}, cloud {c['cloud']:.2f}, "
                                               f"containers {c['containers']:.2f})" for _, _, c in runs))
    print(f"after modify-listener 0/100: {promoted_s:.2f} s, {dict(promoted)}")
    print(f"targets healthy {healthy_s:.2f} s after create-listener"
          + ("" if unhealthy_s is None else f"; dead target unhealthy after {unhealthy_s:.2f} s"))
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"machine: {os.cpu_count()} CPUs, load average {load}")
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2))
    return 0 if all(figures["met"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
