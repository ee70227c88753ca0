"""Never reach real AWS: after labkit.start(), every client the course builds points at
127.0.0.1 with fake credentials, real credentials in ~/.aws or the environment are ignored, and
no process the course starts connects anywhere but loopback."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

GUARD = Path(__file__).parent / "guard"
REAL_KEY = "AKIAREALKEY000000000"
# Every AWS service the course's lessons and labs create clients for.
COURSE_SERVICES = ["ecr", "ecs", "eks", "apprunner", "elbv2", "servicediscovery", "logs", "iam", "sts", "ec2",
                   "cloudwatch"]


def hostile_environment(tmp_path: Path, cloud) -> dict:
    """A student machine with real-looking credentials everywhere botocore looks."""
    home = tmp_path / "home"
    (home / ".aws").mkdir(parents=True)
    (home / ".aws" / "credentials").write_text(
        f"[default]\naws_access_key_id = {REAL_KEY}\naws_secret_access_key = realsecret\n"
        f"[prod]\naws_access_key_id = {REAL_KEY}\naws_secret_access_key = realsecret\n")
    (home / ".aws" / "config").write_text("[default]\nregion = us-east-1\n[profile prod]\nregion = eu-west-1\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update({
        "HOME": str(home), "AWS_PROFILE": "prod", "AWS_ACCESS_KEY_ID": REAL_KEY, "AWS_SECRET_ACCESS_KEY": "realsecret",
        "AWS_SESSION_TOKEN": "realtoken", "AWS_ENDPOINT_URL_ECR": "https://ecr.us-east-1.amazonaws.com",
        "LABKIT_HOME": str(tmp_path / "labkit"), "LABKIT_AWS_PORT": str(cloud.port),
        "PYTHONPATH": os.pathsep.join([str(GUARD), env.get("PYTHONPATH", "")]),
        "LABKIT_NET_LOG": str(tmp_path / "net.log"),
        "PATH": os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")]),
    })
    return env


def run_python(code: str, env: dict) -> dict:
    out = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], env=env, capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_every_course_client_points_at_loopback_with_fake_credentials(cloud, tmp_path):
    env = hostile_environment(tmp_path, cloud)
    report = run_python(f"""
        import json, boto3, labkit
        boto3.client("sts")  # a session made BEFORE start() (it saw the real key) must be dropped
        labkit.start()
        out = {{}}
        for name in {COURSE_SERVICES!r}:
            client = boto3.client(name)
            creds = client._request_signer._credentials
            out[name] = [client.meta.endpoint_url, creds.access_key, client.meta.region_name, creds.token]
        out["identity"] = boto3.client("sts").get_caller_identity()["Account"]
        print(json.dumps(out))
    """, env)
    assert report.pop("identity") == "123456789012"
    for name, (endpoint, key, region, token) in report.items():
        assert endpoint == f"http://127.0.0.1:{cloud.port}", name
        assert key == "test" and token is None, name
        assert region == "ap-northeast-2", name
    log = (tmp_path / "net.log").read_text()
    assert "BLOCKED" not in log and "ok 127.0.0.1" in log


def test_aws_cli_after_labkit_env_uses_the_local_cloud_only(cloud, tmp_path):
    env = hostile_environment(tmp_path, cloud)
    exports = subprocess.run([sys.executable, "-m", "labkit.cli", "env"], env=env, capture_output=True, text=True,
                             check=True).stdout
    script = f"{exports}\naws sts get-caller-identity --output json\naws configure list\n"
    out = subprocess.run(["bash", "-c", script], env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert '"Account": "123456789012"' in out.stdout
    assert REAL_KEY[-4:] not in out.stdout  # `aws configure list` shows the key's last 4 characters
    log = (tmp_path / "net.log").read_text()
    assert "BLOCKED" not in log and "ok 127.0.0.1" in log


def test_the_guard_itself_blocks_a_real_address(tmp_path, cloud):
    """The guard used above really refuses non-loopback connections (so a pass means something)."""
    env = hostile_environment(tmp_path, cloud)
    out = subprocess.run([sys.executable, "-c", "import socket; socket.create_connection(('192.0.2.1', 443), 1)"],
                         env=env, capture_output=True, text=True)
    assert out.returncode != 0 and "labkit safety guard" in out.stderr
    assert "BLOCKED 192.0.2.1" in (tmp_path / "net.log").read_text()
