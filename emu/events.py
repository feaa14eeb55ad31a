"""`--events FILE.jsonl`: every kernel event of a run as one JSON object per line.

The schema is documented in README.md ("Tracing"); tests/test_trace.py checks every line of a run against it.
Every object has "event", "pid" (the task's tid), "tgid", "insns" (the task's retired guest instructions at that
moment) and "cycle" (its modelled cycles, emu/costmodel.py), plus per-event fields.
"""

from __future__ import annotations

import json

from kernel_model.abi import clone_flags_str, signal_name
from kernel_model.mm import FAULT_NAMES

SCHEMA_VERSION = 1


class EventStream:
    """Writes one JSON object per kernel event to a text file."""

    def __init__(self, machine, out) -> None:
        self.m = machine
        self.out = out
        self.count = 0
        on = machine.on
        on("syscall_enter", self.syscall_enter)
        on("syscall_block", self.syscall_block)
        on("syscall_exit", self.syscall_exit)
        on("clone", self.clone)
        on("exec", self.exec)
        on("exit", self.exit)
        on("schedule", self.schedule)
        on("fault", self.fault)
        on("vfork_sleep", self.vfork_sleep)
        on("vfork_wake", self.vfork_wake)

    def emit(self, event: str, task, **fields) -> None:
        """Write one event line for task."""
        obj = {"event": event, "pid": task.pid, "tgid": task.tgid, "insns": self.m.insns(task),
               "cycle": self.m.cycles(task)}
        obj.update(fields)
        self.out.write(json.dumps(obj, separators=(",", ":")) + "\n")
        self.count += 1

    def syscall_enter(self, task, nr, name):
        r = task.regs
        self.emit("syscall_enter", task, nr=nr, name=name, args=[r.bx, r.cx, r.dx, r.si, r.di, r.bp],
                  regs=r.as_dict())

    def syscall_block(self, task, nr, name):
        self.emit("syscall_block", task, nr=nr, name=name, wait_channel=task.wait_channel or "")

    def syscall_exit(self, task, nr, name, result):
        self.emit("syscall_exit", task, nr=nr, name=name, result=result, regs=task.regs.as_dict())

    def clone(self, parent, child, flags):
        self.emit("clone", parent, child=child.pid, child_tgid=child.tgid, flags=flags,
                  flags_str=clone_flags_str(flags), kind=child.kind, child_regs=child.regs.as_dict())

    def exec(self, task, path):
        self.emit("exec", task, path=path)

    def exit(self, task, status):
        sig = status & 0x7F
        self.emit("exit", task, status=status, code=None if sig else (status >> 8) & 0xFF,
                  signal=signal_name(sig) if sig else None, core=bool(status & 0x80),
                  cycles_by_source=self.m.cpu.cycles_by_source(task))

    def schedule(self, prev, nxt):
        if prev is not None:
            self.emit("schedule_out", prev, next=nxt.pid, state=prev.state)
        self.emit("schedule_in", nxt, prev=prev.pid if prev is not None else None)

    def fault(self, task, rec):
        kind, vaddr, old, new = rec
        self.emit("fault", task, kind=FAULT_NAMES[kind], vaddr=vaddr,
                  old_frame=old if FAULT_NAMES[kind] not in ("zero_fill", "file_fill") else None,
                  new_frame=new, eip=self.m.cpu.eip())

    def vfork_sleep(self, parent, child):
        self.emit("vfork_sleep", parent, child=child.pid)

    def vfork_wake(self, parent, child):
        self.emit("vfork_wake", parent, child=child.pid)


__all__ = ["EventStream", "SCHEMA_VERSION"]
