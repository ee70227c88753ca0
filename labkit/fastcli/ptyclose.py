"""IPython runs each `!command` under pexpect; when its ptyprocess child is collected, `close()`
sleeps 0.1 s "to give the kernel time to update process status", then checks whether the child
is alive. IPython has already reaped the child by then (`child.isalive()` after EOF), so the
check cannot change anything and the sleep is 0.1 s per `!` line (1.3 s of lab 02). With this
patch `close()` skips the sleep only when the child is known to be reaped; otherwise it is the
original method."""
from __future__ import annotations


def install() -> bool:
    try:
        from ptyprocess import ptyprocess
    except ImportError:
        return False
    cls = ptyprocess.PtyProcess
    if getattr(cls.close, "_labkit_reaped_fast", False):
        return True
    original = cls.close

    def close(self, force=True):
        if not self.closed and self.terminated:  # reaped: isalive() is False, nothing to wait for
            self.flush()
            self.fileobj.close()
            self.fd = -1
            self.closed = True
            return
        return original(self, force)

    close.__doc__ = original.__doc__
    close._labkit_reaped_fast = True
    cls.close = close
    return True
