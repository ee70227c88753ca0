"""The environment that points every AWS and Google client at the local cloud and away from real
AWS and GCP.

One function computes it; `labkit.start()` applies it to the kernel, `labkit env` prints it for
a shell, and the grader hands it to the kernels it runs.
"""
from __future__ import annotations

import os
import shlex
from pathlib import Path

from labkit.config import DEFAULT_REGION, FAKE_ACCESS_KEY_ID, FAKE_SECRET_ACCESS_KEY, Settings

# Anything that could make botocore pick up a real identity or a real endpoint.
REAL_AWS_VARIABLES = (
    "AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN",
    "AWS_ROLE_ARN", "AWS_ROLE_SESSION_NAME", "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN", "AWS_CREDENTIAL_EXPIRATION", "AWS_CA_BUNDLE",
    "AWS_ENDPOINT_URL_ECR", "AWS_ENDPOINT_URL_ECS", "AWS_ENDPOINT_URL_EKS", "AWS_ENDPOINT_URL_STS",
    "AWS_ENDPOINT_URL_IAM", "AWS_ENDPOINT_URL_APPRUNNER", "AWS_USE_FIPS_ENDPOINT",
    "AWS_USE_DUALSTACK_ENDPOINT", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS",
)


# Anything that could make google-auth, the Google clients or gcloud pick up a real identity, a real
# project or a real endpoint (google/auth/environment_vars.py; gcloud's CLOUDSDK_* properties).
REAL_GCP_VARIABLES = (
    "GOOGLE_APPLICATION_CREDENTIALS", "GOOGLE_CLOUD_QUOTA_PROJECT", "GOOGLE_API_USE_CLIENT_CERTIFICATE",
    "GOOGLE_API_USE_MTLS_ENDPOINT", "GOOGLE_API_CERTIFICATE_CONFIG", "GOOGLE_CLOUD_UNIVERSE_DOMAIN",
    "CLOUDSDK_AUTH_ACCESS_TOKEN_FILE", "CLOUDSDK_CORE_ACCOUNT",
    "CLOUDSDK_AUTH_CREDENTIAL_FILE_OVERRIDE", "CLOUDSDK_ACTIVE_CONFIG_NAME",
    "CLOUDSDK_API_ENDPOINT_OVERRIDES_RUN", "CLOUDSDK_API_ENDPOINT_OVERRIDES_ARTIFACTREGISTRY",
)


def gcloud_files(settings: Settings) -> Path:
    """A gcloud configuration folder of the local cloud's own (CLOUDSDK_CONFIG), so ~/.config/gcloud
    and its Application Default Credentials are never read: the course's project and region, no
    credentials sent, and the APIs the course uses at the local cloud (api_endpoint_overrides).
    `gcloud run` puts the region in front of the override's host (`asia-northeast3-127.0.0.1` would be
    a DNS query leaving the machine): its override is `[::1]`, which gcloud then refuses as a URL
    before sending anything (gcloud run does not work against the local cloud yet; `artifacts` does).
    The `gce` file tells gcloud it is not on Compute Engine, so it never asks DNS for
    metadata.google.internal."""
    from labkit.cloud.gcp.project import DEFAULT_PROJECT, DEFAULT_REGION as GCP_REGION

    folder = settings.home / "gcloud"
    (folder / "configurations").mkdir(parents=True, exist_ok=True)
    (folder / "active_config").write_text("default")
    (folder / "gce").write_text("False")  # gcloud's cache of "am I on GCE?"
    (folder / "configurations" / "config_default").write_text(
        f"[core]\nproject = {DEFAULT_PROJECT}\ndisable_usage_reporting = true\n"
        f"[auth]\ndisable_credentials = true\n"
        f"[component_manager]\ndisable_update_check = true\n"
        f"[run]\nregion = {GCP_REGION}\n[artifacts]\nlocation = {GCP_REGION}\n"
        f"[api_endpoint_overrides]\nrun = http://[::1]:{settings.aws_port}/gcp/run/\n"
        f"artifactregistry = {settings.endpoint}/gcp/artifactregistry/\n")
    return folder


def aws_files(settings: Settings) -> tuple[Path, Path]:
    """A config and a credentials file of the local cloud's own, so ~/.aws is never read."""
    aws_dir = settings.home / "aws"
    aws_dir.mkdir(parents=True, exist_ok=True)
    config, credentials = aws_dir / "config", aws_dir / "credentials"
    config.write_text(f"[default]\nregion = {DEFAULT_REGION}\noutput = json\nendpoint_url = {settings.endpoint}\n")
    credentials.write_text(
        f"[default]\naws_access_key_id = {FAKE_ACCESS_KEY_ID}\naws_secret_access_key = {FAKE_SECRET_ACCESS_KEY}\n"
    )
    return config, credentials


def cloud_environment(settings: Settings) -> dict[str, str | None]:
    """Variables to set (str) and to remove (None)."""
    config, credentials = aws_files(settings)
    env: dict[str, str | None] = {name: None for name in REAL_AWS_VARIABLES + REAL_GCP_VARIABLES}
    env.update({
        "AWS_ENDPOINT_URL": settings.endpoint,
        "AWS_ACCESS_KEY_ID": FAKE_ACCESS_KEY_ID,
        "AWS_SECRET_ACCESS_KEY": FAKE_SECRET_ACCESS_KEY,
        "AWS_DEFAULT_REGION": DEFAULT_REGION,
        "AWS_REGION": DEFAULT_REGION,
        "AWS_CONFIG_FILE": str(config),
        "AWS_SHARED_CREDENTIALS_FILE": str(credentials),
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_PAGER": "",
        **gcp_environment(settings),
        "LABKIT_HOME": str(settings.home),
        "LABKIT_AWS_PORT": str(settings.aws_port),
    })
    return env


def gcp_environment(settings: Settings) -> dict[str, str]:
    """The course's project for every Google client, gcloud's configuration of our own, and no
    metadata server lookups (google-auth would otherwise ask 169.254.169.254 for credentials)."""
    from labkit.cloud.gcp.project import DEFAULT_PROJECT, DEFAULT_REGION as GCP_REGION

    host = settings.endpoint.removeprefix("http://")
    return {
        "GOOGLE_CLOUD_PROJECT": DEFAULT_PROJECT,
        "GCLOUD_PROJECT": DEFAULT_PROJECT,
        "CLOUDSDK_CORE_PROJECT": DEFAULT_PROJECT,
        "CLOUDSDK_RUN_REGION": GCP_REGION,
        "CLOUDSDK_CONFIG": str(gcloud_files(settings)),
        "NO_GCE_CHECK": "true",
        "GCE_METADATA_HOST": host,  # were anything to ask the metadata server anyway: the local cloud
        "GCE_METADATA_IP": host,
        "GCE_METADATA_ROOT": host,  # gcloud's name for it (and google-auth's older one)
        # requests (REST clients, google-auth) and gRPC honour proxy variables: the local cloud is
        # reached directly, never through a proxy that would carry the calls off the machine
        "NO_PROXY": "127.0.0.1,localhost",
        "no_proxy": "127.0.0.1,localhost",
    }


def apply(env: dict[str, str | None], target: dict | None = None) -> None:
    target = os.environ if target is None else target
    for name, value in env.items():
        if value is None:
            target.pop(name, None)
        else:
            target[name] = value


def shell_exports(env: dict[str, str | None]) -> str:
    lines = []
    for name, value in env.items():
        lines.append(f"unset {name}" if value is None else f"export {name}={shlex.quote(value)}")
    return "\n".join(lines)
