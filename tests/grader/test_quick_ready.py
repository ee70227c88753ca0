"""The grader's kernel client (grader/sandbox/kernel.py: QuickReadyClient) waits for a new kernel
as jupyter_client's does, asking again sooner: the kernel is ready, its first cell's output is the
cell's own, and its manager sees a stopped kernel within tens of milliseconds."""
from __future__ import annotations

import asyncio
import time

from grader.sandbox import kernel as sandboxed


async def _start_run_stop():
    km = sandboxed.SandboxedKernelManager(kernel_name="python3")
    await km.start_kernel()
    kc = km.client()
    kc.start_channels()
    try:
        assert isinstance(kc, sandboxed.QuickReadyClient)
        await kc.wait_for_ready(timeout=60)
        out = []
        reply = await kc.execute_interactive("print('first cell')", timeout=30,
                                             output_hook=lambda m: out.append(m))
        assert reply["content"]["status"] == "ok"
        streams = [m["content"]["text"] for m in out if m["msg_type"] == "stream"]
        assert streams == ["first cell\n"], out
    finally:
        kc.stop_channels()
    started = time.monotonic()
    await km.shutdown_kernel(now=False)
    return time.monotonic() - started


def test_a_kernel_is_ready_and_its_first_cell_is_its_own():
    assert sandboxed.SANDBOX is None  # a plain kernel: the client is the same either way
    stopped_in = asyncio.run(_start_run_stop())
    assert stopped_in < 5
