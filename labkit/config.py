"""Names and defaults the whole course shares, in one place.

The seed lesson uses account 123456789012 and region ap-northeast-2 (Seoul); the local
cloud uses the same defaults so every ARN and registry name in the lesson is valid as written.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

DEFAULT_ACCOUNT = "123456789012"
DEFAULT_REGION = "ap-northeast-2"
DEFAULT_AWS_PORT = 4566  # LocalStack's port, so localstack-client and AWS_ENDPOINT_URL users work unchanged
HOST = "127.0.0.1"  # servers bind loopback only

# Fake credentials: recognisably fake, so nobody mistakes them for real ones.
FAKE_ACCESS_KEY_ID = "test"
FAKE_SECRET_ACCESS_KEY = "test"


@dataclass(frozen=True)
class Settings:
    """Where this process's local cloud lives. Read from the environment each time (the grader
    changes it per submission)."""

    home: Path
    aws_port: int
    managed: bool  # True when someone else (the grader) owns the cloud: never start or stop it
    lab: str | None = None  # the lab whose own cloud this is (`labkit.start(lab=...)`), else a lesson's

    @property
    def endpoint(self) -> str:
        return f"http://{HOST}:{self.aws_port}"

    @property
    def state_file(self) -> Path:
        return self.home / "cloud.json"


def settings() -> Settings:
    home = Path(os.environ.get("LABKIT_HOME") or Path.home() / ".labkit").expanduser()
    port = int(os.environ.get("LABKIT_AWS_PORT") or DEFAULT_AWS_PORT)
    managed = os.environ.get("LABKIT_MANAGED", "") == "1"
    return Settings(home=home, aws_port=port, managed=managed, lab=os.environ.get("LABKIT_LAB") or None)


def base_home() -> Path:
    """The student's labkit folder (~/.labkit): the lessons' cloud lives here, each lab's in
    `labs/<lab>/` below it. In a lab's kernel LABKIT_HOME is the lab's folder; LABKIT_BASE_HOME
    remembers the base."""
    return Path(os.environ.get("LABKIT_BASE_HOME") or settings().home).expanduser()
