"""Fast `!aws` and `!labkit docker` in a kernel: a fork server per command and kernel.

Each `!aws ...` in a notebook used to start a new Python that imports awscli and loads its
service models (0.6-1 s); a lab runs a dozen. `labkit.start()` now starts, per kernel, a zygote
per command that has imported all that once (`zygote.py`), and puts shims named `aws` and
`labkit` first on the kernel's PATH (`shim.py`, written by `launcher.py`). A shim hands its argv,
cwd, umask, environment and stdin/stdout/stderr to its zygote, which forks a child that runs the
real script as `python SCRIPT ARGS` would; the exit status and signals are relayed. Whenever the
fast path cannot promise the same behaviour (no zygote, another `aws` first on PATH, a start-up
variable changed, `aws help`, a non-`docker` labkit command), the shim execs the real command.
See docs/architecture.md, "Inside the kernel".
"""
