"""`grader sandbox check|install`: is there a sandbox here, and getting one without root.

bubblewrap is a Debian/Ubuntu package. Where it is not installed and the instructor is not root,
`install` downloads the package with `apt-get download` (which needs no root) and unpacks its
`bwrap` into this environment (bwrap.OWN_COPY); it runs unprivileged wherever the kernel allows
user namespaces (Debian 11+, Ubuntu; Ubuntu 24.04's AppArmor rule allows /usr/bin/bwrap only:
there, `sudo apt install bubblewrap`).
"""
from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

from grader.sandbox import bwrap


def install(out=print) -> bool:
    if bwrap.find_bwrap():
        out(f"bubblewrap is here: {bwrap.find_bwrap()}")
        return True
    if shutil.which("apt-get") is None or shutil.which("dpkg-deb") is None:
        out("no apt-get here: install bubblewrap with your system's package manager (it is `bubblewrap` "
            "in Debian, Ubuntu, Fedora, Arch, Alpine)")
        return False
    with tempfile.TemporaryDirectory(prefix="grader-bwrap-") as tmp:
        got = subprocess.run(["apt-get", "download", "bubblewrap"], cwd=tmp, capture_output=True, text=True)
        debs = sorted(Path(tmp).glob("bubblewrap_*.deb"))
        if got.returncode != 0 or not debs:
            out(f"apt-get download bubblewrap failed: {(got.stderr or got.stdout).strip()[-300:]}")
            return False
        subprocess.run(["dpkg-deb", "-x", str(debs[0]), str(Path(tmp) / "x")], check=True)
        bwrap.OWN_COPY.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(Path(tmp) / "x" / "usr" / "bin" / "bwrap", bwrap.OWN_COPY)
        bwrap.OWN_COPY.chmod(0o755)
    out(f"installed {bwrap.OWN_COPY}")
    return True


def main(action: str, out=print) -> int:
    if action == "install" and not install(out):
        return 1
    bwrap.probe.cache_clear()
    ok, how = bwrap.probe()
    out(f"sandbox: {how}" if ok else f"no sandbox: {how}")
    return 0 if ok else 1
