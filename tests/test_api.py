"""The Python API (emu.machine.Machine): one test per callback kind, results, capture and fault injection."""

import os

import pytest

from emu.machine import FAULT_KIND_EVENTS, KERNEL_EVENTS, Machine
from kernel_model.abi import NR
from kernel_model.kernel import FIRST_PID


def asm(asm_build, name):
    return os.path.join(asm_build, name)


def test_execute_captures_output_and_returns_status_and_stats(asm_build):
    r = Machine().execute([asm(asm_build, "fork_regs")], capture=True)
    assert r.status == 0
    assert b"parent: child exit status = 3" in r.stdout and r.stderr == b""
    assert r.stats["clones"]["fork"] == 1


def test_stdin_bytes_reach_the_guest(asm_build):
    import struct

    rec = struct.pack("<7I", NR.getpid, 0, 0, 0, 0, 0, 0)
    r = Machine().execute([asm(asm_build, "syscall_fuzz")], stdin=rec, capture=True)
    assert struct.unpack("<i", r.stdout) == (FIRST_PID,)


def test_syscall_callback_sees_pt_regs_and_can_replace_the_result(asm_build):
    m = Machine()
    seen = []

    def on_syscall(task, nr, name):
        seen.append((name, task.regs.orig_ax, task.regs.bx))
        if name == "getpid":
            return 4242  # fault injection: the handler does not run

    m.on("syscall", on_syscall)
    import struct

    r = m.execute([asm(asm_build, "syscall_fuzz")], stdin=struct.pack("<7I", NR.getpid, 7, 0, 0, 0, 0, 0),
                  capture=True)
    assert struct.unpack("<i", r.stdout) == (4242,)
    assert ("getpid", NR.getpid, 7) in seen


def test_syscall_exit_and_block_callbacks(asm_build):
    m = Machine()
    exits, blocks = [], []
    m.on("syscall_exit", lambda t, nr, name, res: exits.append((t.pid, name, res)))
    m.on("syscall_block", lambda t, nr, name: blocks.append((t.pid, name)))
    m.execute([asm(asm_build, "fork_regs")], capture=True)
    p = FIRST_PID
    assert (p, "fork", p + 1) in exits and (p, "wait4", p + 1) in exits
    assert (p, "wait4") in blocks  # the parent waits for a child that has not exited yet


def test_clone_exec_exit_and_vfork_callbacks(asm_build):
    m = Machine()
    log = []
    m.on("clone", lambda p, c, flags: log.append(("clone", p.pid, c.pid, c.kind)))
    m.on("vfork_sleep", lambda p, c: log.append(("sleep", p.pid, c.pid)))
    m.on("vfork_wake", lambda p, c: log.append(("wake", p.pid, c.pid)))
    m.on("exec", lambda t, path: log.append(("exec", t.pid, os.path.basename(path))))
    m.on("exit", lambda t, status: log.append(("exit", t.pid, status >> 8)))
    m.execute([asm(asm_build, "vfork_order")], capture=True)
    p = FIRST_PID
    assert log[:4] == [("clone", p, p + 1, "vfork"), ("sleep", p, p + 1), ("exit", p + 1, 0), ("wake", p, p + 1)]
    assert ("exec", p + 2, "vfork_order") in log and ("exit", p + 2, 5) in log and log[-1] == ("exit", p, 0)


def test_schedule_callback_sees_every_switch(asm_build):
    m = Machine()
    switches = []
    m.on("schedule", lambda prev, nxt: switches.append((prev.pid if prev else None, nxt.pid)))
    r = m.execute([asm(asm_build, "clone_thread")], capture=True)
    assert switches[0] == (None, FIRST_PID) and (FIRST_PID, FIRST_PID + 1) in switches
    assert len(switches) == r.stats["context_switches"]


@pytest.mark.parametrize("event", sorted(FAULT_KIND_EVENTS))
def test_fault_kind_callbacks_can_read_page_tables(asm_build, event):
    m = Machine()
    got = []

    def cb(task, rec):
        kind, vaddr, old, new = rec
        pte = task.mm.pte(vaddr)
        got.append((task.pid, kind, new == pte >> 12))

    m.on(event, cb)
    r = m.execute([asm(asm_build, "cow256")], capture=True)
    # Every fault a task took, in user mode or in the kernel's copies, is one event (the exec-time stack
    # set-up belongs to no task and is not reported).
    per_task = {name: sum(t["faults"][name] for t in r.stats["tasks"]) for name in ("zero_fill", "file_fill")}
    expected = {"cow_copy": 100, "cow_reuse": 100, "cow_fault": 200, **per_task}[event]
    assert len(got) == expected
    assert all(ok for _, _, ok in got)


def test_signal_callbacks(cprogs_build):
    m = Machine()
    sent, delivered = [], []
    m.on("signal_send", lambda t, sig, info: sent.append(sig))
    m.on("signal_deliver", lambda t, sig, info, how: delivered.append((sig, how)))
    r = m.execute([os.path.join(cprogs_build, "signals")], capture=True)
    assert r.status == 0
    assert 17 in sent and (11, "handler") in delivered and (15, "kill") in delivered


def test_unknown_event_names_are_refused():
    m = Machine()
    with pytest.raises(ValueError, match="unknown event"):
        m.on("no_such_event", print)
    assert "fault" in KERNEL_EVENTS


def test_insns_is_exact_inside_and_between_slices(asm_build):
    m = Machine(quantum=500)
    seen = []
    m.on("syscall", lambda t, nr, name: seen.append(("in", t.pid, m.insns(t))))
    m.on("schedule", lambda prev, nxt: seen.append(("switch", nxt.pid, m.insns(nxt))))
    r = m.execute([asm(asm_build, "fork_regs")], capture=True)
    per_pid = {}
    for _, pid, n in seen:
        assert n >= per_pid.get(pid, 0)  # never goes backwards, never double counts a slice
        per_pid[pid] = n
    totals = {t["pid"]: t["instructions"] for t in r.stats["tasks"]}
    assert all(per_pid[p] <= totals[p] for p in per_pid)
