"""The environment that points every AWS client at the local cloud and away from real AWS.

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
    env: dict[str, str | None] = {name: None for name in REAL_AWS_VARIABLES}
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
        "LABKIT_HOME": str(settings.home),
        "LABKIT_AWS_PORT": str(settings.aws_port),
    })
    return env


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
