"""`emu demo`: built-in guests that fork, vfork and clone a thread, narrated from the kernel model's events.

The guests are the guest_asm programs cow256, vfork_order and clone_thread, shipped prebuilt in
emu/demo_guests/ so the demo needs no assembler (tests check they match a fresh build).
"""

from __future__ import annotations

import os
import sys

from kernel_model.abi import clone_flags_str
from kernel_model.mm import FAULT_COW_COPY, FAULT_COW_REUSE, PAGE_SHIFT
from kernel_model.sched import DEFAULT_QUANTUM

from .machine import Machine
from .stats import collect_stats, format_stats

GUESTS_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "demo_guests")

DEMOS = (
    ("cow256", "fork + copy-on-write: 256 pages touched, fork, the child writes 100 pages, then the parent does"),
    ("vfork_order", "vfork: the parent sleeps until its child exits or execs (twice: one exit, one execve)"),
    ("clone_thread", "clone a thread: CLONE_VM|CLONE_FILES|CLONE_SIGHAND|CLONE_THREAD|..., joined through a futex"),
)


def _ranges(pages: list[int]) -> str:
    """Compact page-number ranges: 0x1000-0x1063 (100 pages)."""
    if not pages:
        return "none"
    pages = sorted(set(pages))
    out, start, prev = [], pages[0], pages[0]
    for p in pages[1:] + [None]:
        if p is not None and p == prev + 1:
            prev = p
            continue
        out.append(f"{start << PAGE_SHIFT:#x}" if start == prev
                   else f"{start << PAGE_SHIFT:#x}-{(prev << PAGE_SHIFT) | 0xFFF:#x}")
        if p is not None:
            start = prev = p
    return ", ".join(out) + f" ({len(pages)} page{'s' if len(pages) != 1 else ''})"


class Narrator:
    """Collects what the kernel model did during one guest run."""

    def __init__(self, machine: Machine) -> None:
        self.lines: list[str] = []
        self.copies: dict[int, list[int]] = {}
        self.reuses: dict[int, list[int]] = {}
        m = machine
        m.on("clone", self.on_clone)
        m.on("vfork_sleep", lambda p, c: self.say(f"pid {p.pid} sleeps in vfork until pid {c.pid} execs or exits"))
        m.on("vfork_wake", lambda p, c: self.say(f"pid {p.pid} wakes: pid {c.pid} released the shared mm"))
        m.on("exec", lambda t, path: self.say(f"pid {t.pid} execve {os.path.basename(path)} (new mm, same pid)"))
        m.on("exit", lambda t, st: self.say(f"pid {t.pid} exits with status {st >> 8 if not st & 0x7f else st}"))
        m.on("fault", self.on_fault)

    def say(self, text: str) -> None:
        self.lines.append(text)

    def on_clone(self, parent, child, flags) -> None:
        self.say(f"pid {parent.pid} {child.kind}s pid {child.pid} [{clone_flags_str(flags)}]")

    def on_fault(self, task, record) -> None:
        kind, vaddr = record[0], record[1]
        if kind == FAULT_COW_COPY:
            self.copies.setdefault(task.pid, []).append(vaddr >> PAGE_SHIFT)
        elif kind == FAULT_COW_REUSE:
            self.reuses.setdefault(task.pid, []).append(vaddr >> PAGE_SHIFT)


def run_demo(quantum: int | None = None, out=None, report_dir: str | None = None) -> int:
    """Run each built-in guest, print its output, what the kernel did, and the statistics; with report_dir, also
    write each guest's `emu report` page (NAME.html and NAME.png) there."""
    out = out or sys.stdout
    worst = 0
    if report_dir is not None:
        try:
            os.makedirs(report_dir, exist_ok=True)
        except OSError as e:
            print(f"emu demo: --report {report_dir}: {e.strerror}", file=sys.stderr)
            return 1
    for name, what in DEMOS:
        path = os.path.join(GUESTS_DIR, name)
        print(f"\n=== {name}: {what}", file=out, flush=True)
        m = Machine(quantum=quantum or DEFAULT_QUANTUM)
        narrator = Narrator(m)
        recorder = None
        if report_dir is not None:
            from .timeline import Recorder

            recorder = Recorder(m)
        print("--- guest output:", file=out, flush=True)
        status = m.run([path], [])
        print(f"--- exit status {status}; what the kernel model did:", file=out)
        for line in narrator.lines:
            print(f"  {line}", file=out)
        for pid in sorted(set(narrator.copies) | set(narrator.reuses)):
            print(f"  pid {pid} copy-on-write copies: {_ranges(narrator.copies.get(pid, []))}", file=out)
            print(f"  pid {pid} copy-on-write reuses: {_ranges(narrator.reuses.get(pid, []))}", file=out)
        stats = collect_stats(m)
        print(format_stats(stats), file=out, flush=True)
        if recorder is not None:
            from .report import write_report

            recorder.finish()
            html = os.path.join(report_dir, f"{name}.html")
            with open(html, "w") as f:
                write_report(recorder, stats, f, os.path.join(report_dir, f"{name}.png"), [name])
            print(f"--- report: {html} (page maps also in {name}.png)", file=out, flush=True)
        worst = max(worst, status)
    if report_dir is None:
        print("\n(emu demo --report DIR writes an HTML report of each guest: process tree, timeline, and a page "
              "map per fork)", file=out)
    return worst
