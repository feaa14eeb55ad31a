"""Time on the host's clock by default (sleeps and timeouts take the host's time), and on the model's under
--virtual-time (the same run twice gives the same output)."""

import os
import subprocess
import sys
import time

import pytest

from conftest import REPO

BUSYBOX = os.path.join(REPO, "tests", ".cache", "busybox", "root", "bin", "busybox")


def emu(*args):
    if not os.path.exists(BUSYBOX):
        pytest.skip("busybox not fetched (tests/busybox.py fetches it)")
    start = time.monotonic()
    r = subprocess.run([sys.executable, "-m", "emu", "run", "--clear-env", *args], capture_output=True, text=True,
                       timeout=120, cwd="/tmp")
    return r, time.monotonic() - start


def test_timeout_ends_a_busy_loop_after_a_second_of_host_time():
    r, took = emu(BUSYBOX, "timeout", "1", BUSYBOX, "sh", "-c", "while :; do :; done")
    native = subprocess.run([BUSYBOX, "timeout", "1", BUSYBOX, "sh", "-c", "while :; do :; done"])
    # busybox timeout runs the command in the process it was started as, and SIGTERM ends it: natively Python
    # sees -15, and the emulator reports a guest killed by a signal as a shell does, 128 + 15
    assert native.returncode == -15 and r.returncode == 143
    assert took >= 1.0


def test_sleep_takes_its_time_on_the_host_and_none_under_virtual_time():
    r, took = emu(BUSYBOX, "sh", "-c", f"a=$({BUSYBOX} date +%s); {BUSYBOX} sleep 2; b=$({BUSYBOX} date +%s);"
                  " echo $((b - a))")
    assert took >= 2.0 and r.stdout.strip() in ("2", "3"), r.stdout
    outs = []
    for _ in range(2):
        r, took = emu("--virtual-time", BUSYBOX, "sh", "-c", f"{BUSYBOX} sleep 100; {BUSYBOX} date +%s")
        outs.append(r.stdout)
    assert outs[0] == outs[1] and outs[0].startswith("17672257"), outs  # 2026-01-01 plus 100 s and the modelled time
