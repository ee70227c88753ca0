"""Fixtures of the cloud tests. `aws` is overridden to hand out one boto3 client per service and
region for the whole worker (built as CheckContext.client builds them: pinned endpoint, fake
credentials); creating a client costs more than most of these tests. The cloud is still reset
before every test (`fresh_cloud`)."""
from __future__ import annotations

import pytest

from labkit.checks.core import CheckContext


@pytest.fixture(scope="session")
def _client_cache(cloud, tmp_path_factory):
    ctx = CheckContext(endpoint=cloud.endpoint, home=tmp_path_factory.mktemp("clients-home"))
    clients: dict = {}

    def client(service: str, region: str | None = None):
        key = (service, region or ctx.region)
        if key not in clients:
            clients[key] = ctx.client(service, region=region)
        return clients[key]
    return client


@pytest.fixture
def aws(fresh_cloud, _client_cache):
    """aws("ecr") / aws("ecr", region="us-east-1") -> a boto3 client on the freshly reset cloud."""
    return _client_cache
