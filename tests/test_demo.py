"""The built-in demo: its prebuilt guests match guest_asm, and it narrates fork, vfork and clone."""

import io
import os
import re

from emu.demo import DEMOS, GUESTS_DIR, run_demo
from kernel_model.kernel import FIRST_PID


def test_demo_guests_are_byte_identical_to_a_fresh_guest_asm_build(asm_build):
    for name, _ in DEMOS:
        with open(os.path.join(GUESTS_DIR, name), "rb") as shipped, open(os.path.join(asm_build, name), "rb") as new:
            assert shipped.read() == new.read(), f"emu/demo_guests/{name} is stale: copy guest_asm/build/{name}"


def test_demo_reports_fork_copies_vfork_sleep_and_thread_clone(capfd):
    out = io.StringIO()
    assert run_demo(out=out) == 0
    text = out.getvalue()
    for n in (3, 2, 1):  # the demo's pids counted from the first one
        text = text.replace(f"pid {FIRST_PID + n - 1}", f"pid {n}")
    assert "pid 1 forks pid 2 [SIGCHLD]" in text
    lines = {ln.strip().split(":")[0]: ln.strip().split(":", 1)[1].strip() for ln in text.splitlines()
             if "copy-on-write" in ln}
    assert lines["pid 2 copy-on-write copies"].endswith("(100 pages)")
    assert lines["pid 2 copy-on-write reuses"] == "none"
    assert lines["pid 1 copy-on-write reuses"].endswith("(100 pages)")
    assert lines["pid 1 copy-on-write copies"] == "none"
    assert "pid 1 sleeps in vfork until pid 2 execs or exits" in text
    assert "pid 1 wakes: pid 3 released the shared mm" in text
    assert "pid 1 threads pid 2 [CLONE_VM|CLONE_FS|CLONE_FILES|CLONE_SIGHAND|CLONE_THREAD" in text
    assert text.count("== emu statistics ==") == 3
    guest_out = capfd.readouterr().out
    assert "cow256 done" in guest_out and "thread joined, counter=1000" in guest_out


def test_demo_report_page_map_shows_cow256s_100_copied_and_100_reused_pages(tmp_path):
    out = io.StringIO()
    assert run_demo(out=out, report_dir=str(tmp_path)) == 0
    for name, _ in DEMOS:
        assert (tmp_path / f"{name}.html").stat().st_size > 0 and (tmp_path / f"{name}.png").stat().st_size > 0
    page = (tmp_path / "cow256.html").read_text()
    copied = re.findall(r'class="copied" data-info="(0x[0-9a-f]+) child: copy-on-write, copied', page)
    reused = re.findall(r'class="reused" data-info="(0x[0-9a-f]+) parent: copy-on-write, reused', page)
    assert len(copied) == 100 and copied == reused  # the same 100 pages: copied by the child, reused by the parent
    assert f"pid {FIRST_PID + 1} by pid {FIRST_PID}" in page
    vfork = (tmp_path / "vfork_order.html").read_text()
    assert "Created sharing the address space (CLONE_VM" in vfork and "CLONE_VM|CLONE_VFORK|SIGCHLD" in vfork
    assert f"--- report: {tmp_path}/cow256.html" in out.getvalue()
