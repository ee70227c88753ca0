"""The pieces around the zygote: the awscli model cache stays exact and covers the labs, and the
pty close patch only skips a sleep that could not matter."""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HERE = ROOT / "labkit" / "fastcli"

CACHE_CHECK = r'''
import json, os, sys
import awscli.clidriver
import botocore.loaders as L
import importlib.util as u
original_listing = L.Loader.list_available_services
spec = u.spec_from_file_location("cache", sys.argv[1]); cache = u.module_from_spec(spec); spec.loader.exec_module(cache)
fill = cache.install()
assert fill, "not installed for this botocore"
fill()
loader = L.Loader()
path = next(p for p in cache.PARSED if p.endswith("ecr/2015-09-21/service-2.json"))
fresh = json.loads(open(path, "rb").read().decode())
first = loader.file_loader.load_file(path[:-5])
second = L.JSONFileLoader().load_file(path[:-5])
listed = {t: loader.list_available_services(t) == original_listing(L.Loader(), t) for t in cache.LISTED_TYPES}
print(json.dumps({"equal": first == fresh == second, "handed_once": first is not second, "listed": all(listed.values()),
                  "ecr_listed": "ecr" in loader.list_available_services("service-2")}))
'''


def test_labs_use_only_preloaded_services():
    sys.path.insert(0, str(HERE))
    try:
        import awscli_cache
    finally:
        sys.path.pop(0)
    used = set()
    for source in (ROOT / "src" / "labs").glob("*.md"):
        used.update(re.findall(r"\baws ([a-z0-9-]+) [a-z]", source.read_text()))
    assert used and used <= set(awscli_cache.SERVICES), f"preload these in awscli_cache.SERVICES: {used}"


def test_cache_is_installed_and_exact():
    """For the pinned awscli the cache installs (a version bump must be re-read: VERIFIED_BOTOCORE),
    hands each parsed file out once and equal to a fresh parse, and lists the same services."""
    out = subprocess.run([sys.executable, "-c", CACHE_CHECK, str(HERE / "awscli_cache.py")],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) == {"equal": True, "handed_once": True, "listed": True, "ecr_listed": True}


def test_pty_close_skips_the_sleep_only_when_reaped():
    sys.path.insert(0, str(HERE))
    try:
        import ptyclose
    finally:
        sys.path.pop(0)
    from ptyprocess import PtyProcess

    assert ptyclose.install()
    done = PtyProcess.spawn(["true"])
    done.wait()  # reaped: terminated
    t = time.perf_counter()
    done.close()
    assert time.perf_counter() - t < 0.05 and done.closed
    running = PtyProcess.spawn(["sleep", "30"])
    t = time.perf_counter()
    running.close(force=True)  # the original: the sleep, then terminate the child
    assert time.perf_counter() - t >= 0.1 and not running.isalive()


def test_path_compared_without_the_shims_folder():
    """A start-up hook that reads PATH (the safety tests' guard does) makes PATH a start-up key; the
    shims' own folder, put first once the zygotes run, is not a difference."""
    from labkit.fastcli.zygote import Zygote

    zygote = Zygote.__new__(Zygote)
    zygote.shim_dir = b"/tmp/labkit-fast-x/bin"
    started, asked = b"/venv/bin:/usr/bin", b"/tmp/labkit-fast-x/bin:/venv/bin:/usr/bin"
    assert zygote._comparable(b"PATH", asked) == zygote._comparable(b"PATH", started)
    assert zygote._comparable(b"PATH", b"/other/bin:/venv/bin:/usr/bin") != zygote._comparable(b"PATH", started)
    assert zygote._comparable(b"HOME", b"/tmp/labkit-fast-x/bin") == b"/tmp/labkit-fast-x/bin"
