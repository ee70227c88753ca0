"""The cloud process's botocore Sessions share one data loader (labkit/cloud/botocore_loader.py),
so moto's many Sessions parse botocore's JSON once; a process that does not ask keeps botocore's
own behaviour. Run in a fresh Python: the patch is process-wide."""
from __future__ import annotations

import subprocess
import sys

PROBE = """
import json, sys
import boto3
from labkit.cloud import botocore_loader
if sys.argv[1] == "share":
    botocore_loader.share()
    botocore_loader.share()  # twice is once
parsed = []
loads = json.loads
def counting(text, *args, **kwargs):
    parsed.append(len(text))
    return loads(text, *args, **kwargs)
import botocore.loaders
botocore.loaders.json.loads = counting
first, second = boto3.Session(), boto3.Session()
same = first._session.get_component("data_loader") is second._session.get_component("data_loader")
regions = [tuple(boto3.Session().get_available_regions("ec2", partition_name=p)) for p in ("aws", "aws", "aws-cn")]
print(same, sum(1 for n in parsed if n > 1_000_000), "ap-northeast-2" in regions[0], regions[0] == regions[1])
"""


def run(mode: str) -> str:
    done = subprocess.run([sys.executable, "-c", PROBE, mode], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout.split()


def test_sessions_share_one_loader_and_parse_the_endpoints_once():
    shared, plain = run("share"), run("plain")
    assert shared[0] == "True" and plain[0] == "False"
    # the big files (endpoints.json, > 1 MB): once for three Sessions with the shared loader, once per Session without
    assert int(shared[1]) >= 1 and int(plain[1]) == 3 * int(shared[1])
    assert shared[2:] == plain[2:] == ["True", "True"]  # the same answers
