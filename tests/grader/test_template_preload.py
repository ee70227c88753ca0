"""What the kernel template imports ahead (grader/sandbox/template.py: PRELOAD) may read, at import,
only the variables a kernel has alike or those PRELOAD_READS_PER_KERNEL lists with the reason each
kernel still makes the same of it: a module added to PRELOAD that reads another one (a folder of
the job, an endpoint of the cloud) fails here instead of giving every kernel the template's value."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from grader.sandbox import template
from grader.sandbox.bwrap import ENV_KEEP_PREFIXES, sandbox_environment
from labkit.config import Settings
from labkit.env import cloud_environment

REPO = Path(__file__).resolve().parents[2]

TRACE = r'''
import json, sys
sys.path.insert(0, sys.argv[1])
from labkit.fastcli.zygote import EnvTrace
import grader.sandbox.template as template
with EnvTrace() as trace:
    template._preload()
print("READS " + json.dumps(sorted(k.decode() for k in trace.reads) + (["*"] if trace.read_all else [])))
print("MODULES " + json.dumps(sorted(sys.modules)))
'''


def _preloaded_reads() -> tuple[set[str], set[str]]:
    env = sandbox_environment(dict(os.environ))
    env.update(HOME="/nonexistent", TMPDIR="/tmp")  # as the worker starts its template
    done = subprocess.run([sys.executable, "-c", TRACE, str(REPO)], env=env, capture_output=True,
                          text=True, timeout=120, cwd="/")
    assert done.returncode == 0, done.stderr[-2000:]
    lines = {line.split(" ", 1)[0]: json.loads(line.split(" ", 1)[1])
             for line in done.stdout.splitlines() if line.startswith(("READS ", "MODULES "))}
    return set(lines["READS"]), set(lines["MODULES"])


def test_the_preloads_read_nothing_a_kernel_has_otherwise_but_what_is_listed():
    reads, modules = _preloaded_reads()
    assert "*" not in reads, "a preloaded module read the whole environment"
    per_kernel = set(cloud_environment(Settings(home=Path("/job/labkit"), aws_port=1, managed=True)))
    per_kernel |= {"HOME", "TMPDIR", "USER", "PATH", "CLOUDSDK_CONFIG"}
    differing = {k for k in reads if k in per_kernel or k.startswith(ENV_KEEP_PREFIXES)}
    unlisted = differing - set(template.PRELOAD_READS_PER_KERNEL)
    assert not unlisted, f"preloaded modules read {sorted(unlisted)}, which a kernel may have otherwise"
    # what the kernel's Check my progress needs is there; what acts on a running kernel is not
    assert {"labkit.checks.lab02", "labkit.checks.progress", "google.cloud.artifactregistry_v1",
            "ipykernel.debugger"} <= modules
    assert not {m for m in modules if m.split(".")[0] in ("ipywidgets", "matplotlib")}
