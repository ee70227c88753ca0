"""`labkit gcloud config ...`, `services enable|list`, `auth configure-docker`, the command table's
refusals: the words gcloud prints, state in the lab's labkit home; and, on a machine with real-looking
Google credentials, a real project and proxies everywhere, `labkit gcloud` after `labkit env` talks to
the local cloud only (the safety guard records every Python connection and blocks any that would leave
127.0.0.1; gRPC goes to labkit.gcp's ipv4:127.0.0.1 channel) in the course's project."""
from __future__ import annotations

import json
import subprocess
import sys

from labkit.gcloud.cli import known_commands
from tests.gcloud.conftest import LABKIT
from tests.safety.test_gcp_offline import gcp_hostile_environment


def test_services_enable_prints_the_operation_once_then_nothing(gcloud):
    first = gcloud("services", "enable", "run.googleapis.com", "artifactregistry.googleapis.com")
    assert first.stdout == ""
    assert first.stderr.startswith('Operation "operations/acf.p2-123456789012-')
    assert first.stderr.rstrip().endswith('" finished successfully.')
    assert gcloud("services", "enable", "run.googleapis.com").stderr == ""  # already enabled: gcloud prints nothing
    listed = gcloud("services", "list", "--enabled", "--format=value(config.name)").stdout.split()
    assert {"run.googleapis.com", "artifactregistry.googleapis.com"} <= set(listed)


def test_services_enable_refuses_an_unknown_api(gcloud):
    done = gcloud("services", "enable", "runn.googleapis.com", check=False)
    assert done.returncode == 1
    assert done.stderr.startswith("ERROR: (gcloud.services.enable) PERMISSION_DENIED: Not found or permission "
                                  "denied for service(s): runn.googleapis.com.")
    assert "run.googleapis.com" in done.stderr  # labkit's hint lists the APIs it knows


def test_config_set_get_list_in_the_labkit_home(gcloud):
    env = {"CLOUDSDK_RUN_REGION": ""}  # a terminal without labkit's variables: the file decides
    done = gcloud("config", "set", "run/region", "asia-northeast1", env=env)
    assert done.stderr == "Updated property [run/region].\n"
    assert gcloud("config", "get", "run/region", env=env).stdout == "asia-northeast1\n"
    config_file = gcloud.home / "gcloud" / "configurations" / "config_default"
    assert "region = asia-northeast1" in config_file.read_text()
    assert gcloud("config", "set", "run/region", "asia-northeast3", env=env).returncode == 0
    listed = gcloud("config", "list")
    assert "[core]\n" in listed.stdout and "project = labkit-project\n" in listed.stdout
    assert "[run]\nregion = asia-northeast3\n" in listed.stdout
    assert "api_endpoint_overrides" not in listed.stdout  # labkit's plumbing stays out of the student's view
    assert "Your active configuration is: [default]" in listed.stderr
    assert json.loads(gcloud("config", "list", "--format=json").stdout)["core"]["project"] == "labkit-project"


def test_config_set_warns_when_the_environment_overrides_it(gcloud):
    done = gcloud("config", "set", "project", "someone-else")
    assert "WARNING: You do not appear to have access to project [someone-else] or it does not exist." in done.stderr
    assert ("WARNING: Property [project] is overridden by environment setting "
            "[CLOUDSDK_CORE_PROJECT=labkit-project]") in done.stderr
    assert gcloud("config", "get-value", "project").stdout == "labkit-project\n"
    gcloud("config", "set", "project", "labkit-project")
    bad = gcloud("config", "set", "run/regionx", "a", check=False)
    assert (bad.returncode, bad.stderr) == (1, "ERROR: (gcloud.config.set) Section [run] has no property [regionx].\n")


def test_configure_docker_writes_the_credential_helper_labkit_docker_reads(gcloud):
    done = gcloud("auth", "configure-docker", "asia-northeast3-docker.pkg.dev")
    assert done.stderr.startswith("Adding credentials for: asia-northeast3-docker.pkg.dev\n")
    assert "Docker configuration file updated." in done.stderr
    config = json.loads((gcloud.home / "docker" / "config.json").read_text())
    assert config["credHelpers"] == {"asia-northeast3-docker.pkg.dev": "gcloud"}
    again = gcloud("auth", "configure-docker", "asia-northeast3-docker.pkg.dev")
    assert "gcloud credential helpers already registered correctly." in again.stderr
    from labkit.docker.auth import get_credentials

    assert get_credentials("asia-northeast3-docker.pkg.dev", home=gcloud.home)[0] == "_dcgcloud_token"


def test_a_hosts_credential_helper_comes_before_a_saved_login_as_in_docker(tmp_path):
    """docker asks `credHelpers[host]` (then `credsStore`) before it reads `auths` (docker-py's
    auth.get_credential_store follows the docker CLI): an old login does not hide gcloud's helper."""
    from labkit.cloud.gcp.project import ACCESS_TOKEN
    from labkit.docker.auth import config_path, get_credentials, save_credentials

    host = "asia-northeast3-docker.pkg.dev"
    save_credentials(host, "oauth2accesstoken", "an-expired-token", home=tmp_path)
    assert get_credentials(host, home=tmp_path) == ("oauth2accesstoken", "an-expired-token")
    config = json.loads(config_path(tmp_path).read_text())
    config["credHelpers"] = {host: "gcloud"}
    config_path(tmp_path).write_text(json.dumps(config))
    assert get_credentials(host, home=tmp_path) == ("_dcgcloud_token", ACCESS_TOKEN)


def test_unknown_commands_and_flags_are_refused_as_gcloud_refuses_them(gcloud):
    done = gcloud("compute", "instances", "list", check=False)
    assert done.returncode == 1
    assert done.stderr == ("ERROR: (gcloud.compute) The local cloud does not emulate `gcloud compute`: labkit "
                           "gcloud runs the course's Cloud Run and Artifact Registry commands only.\n"
                           "labkit gcloud knows the commands the course uses:\n" + known_commands() + "\n")
    typo = gcloud("rn", "deploy", check=False)
    assert typo.returncode == 2 and typo.stderr.startswith("ERROR: (gcloud) Invalid choice: 'rn'.\n")
    assert "  labkit gcloud run services describe|list|delete|update-traffic|" in typo.stderr
    flag = gcloud("run", "deploy", "x", "--image=a", "--foo", check=False)
    assert (flag.returncode, flag.stderr.splitlines()[0]) == (2, "ERROR: (gcloud.run.deploy) unrecognized "
                                                                 "arguments: --foo")
    assert "Traceback" not in done.stderr + flag.stderr


def test_a_stopped_cloud_is_said_in_the_students_words(gcloud):
    done = gcloud("run", "services", "list", check=False, env={"LABKIT_AWS_PORT": "9", "LABKIT_LANG": "ko"})
    assert done.returncode == 1
    assert done.stderr.startswith("ERROR: (gcloud.run.services.list) 로컬 클라우드가 http://127.0.0.1:9 주소에서 응답하지")


def test_labkit_gcloud_reaches_the_local_cloud_only(gcloud_cloud, tmp_path):
    env = gcp_hostile_environment(tmp_path, gcloud_cloud)
    exports = subprocess.run([sys.executable, "-m", "labkit.cli", "env"], env=env, capture_output=True, text=True,
                             check=True).stdout
    script = (f"{exports}\n"
              f"{LABKIT} gcloud config get project\n"
              f"{LABKIT} gcloud artifacts repositories create safe --repository-format=docker "
              f"--location=asia-northeast3\n"
              f"{LABKIT} gcloud artifacts repositories list --format=json\n"
              f"{LABKIT} gcloud run services list --format=json\n")
    out = subprocess.run(["bash", "-c", script], env=env, capture_output=True, text=True, timeout=180)
    assert out.returncode == 0, out.stderr
    project, rest = out.stdout.split("\n", 1)
    assert project == "labkit-project"  # not the GOOGLE_CLOUD_PROJECT=real-project the machine had
    repositories, services = rest.split("]\n", 1)
    assert [r["name"] for r in json.loads(repositories + "]")] == [
        "projects/labkit-project/locations/asia-northeast3/repositories/safe"]
    assert json.loads(services) == []
    log = (tmp_path / "net.log").read_text()
    assert sum(" guard " in line and "gcloud" in line for line in log.splitlines()) >= 4  # each ran guarded
    assert "BLOCKED" not in log and f"ok 127.0.0.1:{gcloud_cloud.port}" in log
