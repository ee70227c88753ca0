"""A sandbox per submission: the kernel and everything it starts, walled off from the grader.

Built on Linux namespaces through bubblewrap (`bwrap`, Flatpak's sandbox; no root needed where
unprivileged user namespaces are allowed, the default on Debian and Ubuntu). Inside:

- the file system is read-only and holds only what a kernel needs: the system (/usr, /etc, ...),
  the Python installation and the installed packages (for an editable install, only the package
  folders, never the repository around them with its solutions); the course directory, the
  gradebook, the grader's records, the cloud's home and every other user's files are not there;
- writable: the submission's own run folder (its cwd), a private HOME and /tmp, its labkit home
  (docker logins and images, which the checks read afterwards) and the kernel's socket folder;
  all of it is thrown away with the job;
- a new process namespace: the kernel sees its own processes only (no /proc of the grader, its
  cloud or other kernels) and when the kernel ends, every process it started ends with it,
  daemons included (the namespace's init dies, the kernel kills the rest);
- a new network namespace with loopback only: the submission's own cloud is reached through a
  relay (`relay.py`, started first inside) to a unix socket the grader serves for that cloud alone;
  no other submission's cloud, no other port, nothing beyond the machine.

`probe()` tells whether this machine can do it; where it cannot, the grader says so at every run
and marks the grades (see grader/README.md).
"""
from __future__ import annotations

from grader.sandbox.bwrap import Sandbox, SandboxUnavailable, find_bwrap, probe

__all__ = ["Sandbox", "SandboxUnavailable", "find_bwrap", "probe"]
