"""A run's timeline on the model's cycle clock: what `--perfetto` and `emu report` are drawn from.

A Recorder subscribes to a Machine's observer events and keeps, per task, its on-CPU runs, its syscalls (decoded
as `emu trace` decodes them), its faults and signals, and for each fork a page map of the child's address space
that says, page by page and for each side, whether a copy-on-write page stayed shared, was copied or was reused,
and when.

Time is one global clock for the single modelled CPU: the cycles every task has been charged so far
(emu/costmodel.py), in the order they ran. The running task's cycles advance it; a switch adds nothing but the
switch's own price; an idle machine under --virtual-time jumps with the scheduler's clock. Nothing in it comes
from the host, so two runs of the same program record the same timeline.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field

import numpy as np

from kernel_model.abi import clone_flags_str, signal_name
from kernel_model.mm import FAULT_COW_COPY, FAULT_COW_REUSE, FAULT_NAMES, PAGE_SHIFT, PROT_WRITE, PTE_COW, PTE_P

# A page of a fork's page map, as the child got it at the fork (`base`) ...
ABSENT, READ_ONLY, SHARED_MAPPING, COW = 0, 1, 2, 3
# ... and what became of a COW page on one side (`parent` / `child` outcome)
UNTOUCHED, COPIED, REUSED = 0, 1, 2
BASE_NAMES = ("not present", "shared read-only", "shared mapping", "copy-on-write")
OUTCOME_NAMES = ("stayed shared", "copied", "reused")


@dataclass
class TaskRec:
    """One task of the run."""

    pid: int
    tgid: int
    comm: str
    kind: str
    parent: int | None
    flags: int = 0
    flags_str: str = ""
    start: int = 0
    end: int | None = None
    status: int | None = None
    names: list[str] = field(default_factory=list)  # comm at start and after each exec
    syscalls: int = 0


@dataclass
class VmaMap:
    """One VMA of a fork's child, page by page."""

    start: int
    end: int
    prot: int
    shared: bool
    name: str
    base: np.ndarray  # uint8, one of ABSENT .. COW
    outcome: dict = field(default_factory=dict)  # side ("parent"/"child") -> uint8 array of UNTOUCHED..REUSED
    when: dict = field(default_factory=dict)  # side -> int64 array: the global cycle of the outcome, -1 if none
    who: dict = field(default_factory=dict)  # side -> int32 array: the pid that faulted, 0 if none

    def counts(self) -> dict[str, int]:
        """Pages of this VMA by what became of them."""
        out = {BASE_NAMES[b]: int((self.base == b).sum()) for b in (ABSENT, READ_ONLY, SHARED_MAPPING)}
        cow = self.base == COW
        for side in ("parent", "child"):
            for o in (COPIED, REUSED):
                out[f"{side} {OUTCOME_NAMES[o]}"] = int(((self.outcome[side] == o) & cow).sum())
        both = cow & (self.outcome["parent"] == UNTOUCHED) & (self.outcome["child"] == UNTOUCHED)
        out["stayed shared"] = int(both.sum())
        return out


@dataclass
class ForkRec:
    """A clone that made a process (no CLONE_VM: a page map) or shared one (CLONE_VM: none)."""

    id: int
    parent: int
    child: int
    ts: int
    flags: int
    flags_str: str
    kind: str
    shares_mm: bool
    flow_ts: int = 0  # where the arrow to the child starts: the start of the parent's clone syscall
    vmas: list[VmaMap] = field(default_factory=list)
    parent_mm: object = None
    child_mm: object = None
    ends: dict = field(default_factory=dict)  # side -> global cycle its mm was left (exec or exit), if it was

    def totals(self) -> dict[str, int]:
        """The page counts of every VMA added up."""
        out: dict[str, int] = {}
        for v in self.vmas:
            for key, n in v.counts().items():
                out[key] = out.get(key, 0) + n
        return out


class Recorder:
    """Records a Machine's run as a timeline (create it before Machine.run)."""

    def __init__(self, machine, strsize: int = 32) -> None:
        from .trace import Discard, Tracer

        self.m = machine
        self.k = machine.kernel
        self.freq = machine.cpu.cost.frequency_ghz
        self.tasks: dict[int, TaskRec] = {}
        self.runs: list[tuple[int, int, int]] = []  # (pid, start, end) on the CPU
        self.slices: list[dict] = []  # finished syscalls and vfork sleeps: pid, tgid, name, cat, ts, dur, args
        self.instants: list[dict] = []  # faults, signals, execs: pid, tgid, name, cat, ts, args
        self.counters: list[tuple[int, int, int, int]] = []  # (ts, frames in use, cow copies, cow reuses)
        self.forks: list[ForkRec] = []
        self._mm_forks: dict[int, list[ForkRec]] = {}  # id(mm) -> the forks it took part in, oldest first
        self._open: dict[int, dict] = {}  # pid -> the syscall it is in
        self._vfork: dict[int, dict] = {}  # parent pid -> its vfork sleep
        self._cur = None
        self._base = 0
        self._cur_start = 0
        self._run_start = 0
        self.cow = [0, 0]
        self._last_counter = None
        self.end = 0  # the global clock when the run ended (finish)
        on = machine.on
        on("schedule", self.on_schedule)
        on("syscall_enter", self.on_enter)
        on("clone", self.on_clone)
        on("exec", self.on_exec)
        on("exit", self.on_exit)
        on("fault", self.on_fault)
        on("signal_send", self.on_signal_send)
        on("signal_deliver", self.on_signal_deliver)
        on("vfork_sleep", self.on_vfork_sleep)
        on("vfork_wake", self.on_vfork_wake)
        # the decoded arguments and result of each syscall, as `emu trace` prints them
        self._tracer = Tracer(machine, Discard(), done=self.on_syscall_done, strsize=strsize)

    # ---- the clock -----------------------------------------------------------------------------------------

    def now(self) -> int:
        """The global cycle clock at this moment of the run."""
        cur = self._cur
        if cur is None:
            return self._base
        return self._base + self.m.cycles(cur) - self._cur_start

    def us(self, cycles: int) -> float:
        """A cycle count in microseconds at the cost model's frequency (the trace-event format's unit)."""
        return round(cycles / (self.freq * 1000.0), 3)

    # ---- events --------------------------------------------------------------------------------------------

    def _task(self, task) -> TaskRec:
        rec = self.tasks.get(task.pid)
        if rec is None:
            parent = task.real_parent.pid if task.real_parent is not None else None
            rec = TaskRec(task.pid, task.tgid, task.comm, task.kind, parent, start=self.now(), names=[task.comm])
            self.tasks[task.pid] = rec
        return rec

    def on_schedule(self, prev, nxt) -> None:
        t = self.now()
        if prev is not None and self._cur is prev:
            self.runs.append((prev.pid, self._run_start, t))
        # an idle machine under --virtual-time: the scheduler's clock jumped to the next deadline
        t = max(t, round(self.k.sched.clock_ns * self.freq))
        self._base = t
        self._cur = nxt
        self._cur_start = self.m.cycles(nxt)
        self._run_start = t
        self._task(nxt)
        self._counter(t)

    def on_enter(self, task, nr, name) -> None:
        rec = self._task(task)
        rec.syscalls += 1
        price = round(self.m.cpu.cost.syscall)
        self._open[task.pid] = {"ts": self.now() - price, "own": self.m.cycles(task) - price, "name": name, "nr": nr}

    def on_syscall_done(self, task, name, args_text, result_text, result) -> None:
        """The tracer finished a syscall's line: the syscall becomes a slice."""
        op = self._open.pop(task.pid, None)
        if op is None:
            return
        t = self.now()
        self.slices.append({"pid": task.pid, "tgid": task.tgid, "name": name, "cat": "syscall", "ts": op["ts"],
                            "dur": t - op["ts"], "own": self.m.cycles(task) - op["own"],
                            "args": {"args": args_text, "result": result_text, "nr": op["nr"]},
                            "failed": result is not None and -4096 < result < 0})
        self._counter(t)

    def on_clone(self, parent, child, flags) -> None:
        t = self.now()
        self._task(parent)
        rec = self._task(child)
        rec.flags, rec.flags_str, rec.start, rec.parent = flags, clone_flags_str(flags), t, parent.pid
        shares = child.mm is parent.mm
        fk = ForkRec(len(self.forks), parent.pid, child.pid, t, flags, clone_flags_str(flags), child.kind, shares)
        op = self._open.get(parent.pid)
        fk.flow_ts = op["ts"] if op is not None else t  # inside the clone slice (its end may be t itself)
        if not shares:  # a thread or a CLONE_VM child gets an arrow in the timeline, and no page map
            fk.parent_mm, fk.child_mm = parent.mm, child.mm
            fk.vmas = [self._snapshot(child.mm, v, parent.mm, child.pid, t) for v in child.mm.vmas]
            for mm in (parent.mm, child.mm):
                self._mm_forks.setdefault(id(mm), []).append(fk)
        self.forks.append(fk)
        self._counter(t)

    def _snapshot(self, mm, v, parent_mm, child_pid: int, t: int) -> VmaMap:
        """The child's pages of one VMA right after fork. A page the kernel already wrote in the child (clone's
        CLONE_CHILD_SETTID word, which the model stores during the fork: schedule_tail's put_user) is one the
        parent still has copy-on-write: it counts as copied by the child at the fork."""
        n = (v.end - v.start) >> PAGE_SHIFT
        base = np.zeros(n, np.uint8)
        copied = np.zeros(n, bool)
        for addr, view in mm._table_slices(v.start, v.end):
            i = (addr - v.start) >> PAGE_SHIFT
            present = (view & PTE_P) != 0
            if v.shared:
                kind = np.where(present, SHARED_MAPPING, ABSENT)
            elif v.prot & PROT_WRITE:
                cow = present & ((view & PTE_COW) != 0)
                for j in np.flatnonzero(present & ~cow).tolist():
                    if parent_mm.pte(addr + (j << PAGE_SHIFT)) & PTE_COW:
                        cow[j] = copied[i + j] = True
                kind = np.where(cow, COW, np.where(present, READ_ONLY, ABSENT))
            else:
                kind = np.where(present, READ_ONLY, ABSENT)
            base[i:i + view.size] = kind
        vm = VmaMap(v.start, v.end, v.prot, v.shared, v.name or ("[anon]" if v.data is None and v.obj is None
                                                                 else "[file]"), base)
        for side in ("parent", "child"):
            vm.outcome[side] = np.zeros(n, np.uint8)
            vm.when[side] = np.full(n, -1, np.int64)
            vm.who[side] = np.zeros(n, np.int32)
        vm.outcome["child"][copied] = COPIED
        vm.when["child"][copied] = t
        vm.who["child"][copied] = child_pid
        return vm

    def on_fault(self, task, rec) -> None:
        kind, vaddr, old, new = rec
        t = self.now()
        name = FAULT_NAMES[kind]
        self.instants.append({"pid": task.pid, "tgid": task.tgid, "name": f"fault {name}", "cat": "fault", "ts": t,
                              "args": {"kind": name, "vaddr": f"{vaddr:#010x}",
                                       "old_frame": None if name in ("zero_fill", "file_fill") else old,
                                       "new_frame": new, "in_kernel": task.in_syscall is not None}})
        if kind in (FAULT_COW_COPY, FAULT_COW_REUSE):
            self.cow[kind == FAULT_COW_REUSE] += 1
            self._attribute(task, vaddr, COPIED if kind == FAULT_COW_COPY else REUSED, t)
        self._counter(t)

    def _attribute(self, task, vaddr: int, outcome: int, t: int) -> None:
        """A COW fault settles the page of the latest fork that left it shared with this mm."""
        for fk in reversed(self._mm_forks.get(id(task.mm), ())):
            side = "parent" if fk.parent_mm is task.mm else "child"
            if side in fk.ends:
                continue
            starts = [v.start for v in fk.vmas]
            i = bisect.bisect_right(starts, vaddr) - 1
            if i < 0 or vaddr >= fk.vmas[i].end:
                continue
            vm = fk.vmas[i]
            p = (vaddr - vm.start) >> PAGE_SHIFT
            if vm.base[p] != COW or vm.outcome[side][p] != UNTOUCHED:
                continue
            vm.outcome[side][p] = outcome
            vm.when[side][p] = t
            vm.who[side][p] = task.pid
            return

    def _leave_mm(self, task, t: int) -> None:
        """The task's mm is left (exec or exit of its last user): its side of each fork ends."""
        mm = task.mm
        if mm is None or any(o is not task and o.mm is mm and o.is_alive() for o in task.thread_group):
            return
        for fk in self._mm_forks.get(id(mm), ()):
            side = "parent" if fk.parent_mm is mm else "child"
            fk.ends.setdefault(side, t)

    def on_exec(self, task, path) -> None:
        t = self.now()
        rec = self._task(task)
        rec.names.append(task.comm)
        self.instants.append({"pid": task.pid, "tgid": task.tgid, "name": "exec", "cat": "process", "ts": t,
                              "args": {"path": path}})
        for fk in self.forks:
            if fk.vmas and fk.child == task.pid and fk.child_mm is not task.mm:
                fk.ends.setdefault("child", t)
            if fk.vmas and fk.parent == task.pid and fk.parent_mm is not task.mm:
                fk.ends.setdefault("parent", t)

    def on_exit(self, task, status) -> None:
        t = self.now()
        rec = self._task(task)
        rec.end, rec.status = t, status
        op = self._open.pop(task.pid, None)
        if op is not None:  # exit_group and the like never return; a killed sleeper's call ends here too
            self.slices.append({"pid": task.pid, "tgid": task.tgid, "name": op["name"], "cat": "syscall",
                                "ts": op["ts"], "dur": t - op["ts"], "own": self.m.cycles(task) - op["own"],
                                "args": {"args": "", "result": "?", "nr": op["nr"]}, "failed": False})
        vf = self._vfork.pop(task.pid, None)
        if vf is not None:
            self.slices.append(dict(vf, dur=t - vf["ts"]))
        self._leave_mm(task, t)
        sig = status & 0x7F
        self.instants.append({"pid": task.pid, "tgid": task.tgid, "name": "exit", "cat": "process", "ts": t,
                              "args": {"code": None if sig else (status >> 8) & 0xFF,
                                       "signal": signal_name(sig) if sig else None}})
        self._counter(t)

    def on_signal_send(self, task, sig, info) -> None:
        self.instants.append({"pid": task.pid, "tgid": task.tgid, "name": f"{signal_name(sig)} sent",
                              "cat": "signal", "ts": self.now(),
                              "args": {"signal": signal_name(sig), "code": info.get("code", 0),
                                       "from_pid": info.get("pid")}})

    def on_signal_deliver(self, task, sig, info, how) -> None:
        args = {"signal": signal_name(sig), "how": how, "code": info.get("code", 0)}
        if "addr" in info:
            args["addr"] = f"{info['addr']:#010x}"
        self.instants.append({"pid": task.pid, "tgid": task.tgid, "name": f"{signal_name(sig)} {how}",
                              "cat": "signal", "ts": self.now(), "args": args})

    def on_vfork_sleep(self, parent, child) -> None:
        self._vfork[parent.pid] = {"pid": parent.pid, "tgid": parent.tgid, "name": "vfork sleep", "cat": "vfork",
                                   "ts": self.now(), "args": {"child": child.pid}, "own": 0, "failed": False}

    def on_vfork_wake(self, parent, child) -> None:
        vf = self._vfork.pop(parent.pid, None)
        if vf is not None:
            self.slices.append(dict(vf, dur=self.now() - vf["ts"]))

    def _counter(self, t: int) -> None:
        value = (self.m.frames_in_use(), self.cow[0], self.cow[1])
        if value != self._last_counter:
            self._last_counter = value
            self.counters.append((t,) + value)

    # ---- the end -------------------------------------------------------------------------------------------

    def finish(self) -> None:
        """Close what is still open when the run ends (the last on-CPU run)."""
        t = self.now()
        if self._cur is not None:
            self.runs.append((self._cur.pid, self._run_start, t))
            self._cur = None
            self._base = t
        for pid, op in sorted(self._open.items()):
            rec = self.tasks[pid]
            self.slices.append({"pid": pid, "tgid": rec.tgid, "name": op["name"], "cat": "syscall", "ts": op["ts"],
                                "dur": t - op["ts"], "own": 0, "args": {"args": "", "result": "?", "nr": op["nr"]},
                                "failed": False})
        self._open.clear()
        for t_rec in self.tasks.values():
            live = self.k.tasks.get(t_rec.pid)
            if live is not None and live.comm != t_rec.names[-1]:
                t_rec.names.append(live.comm)
        self.end = t
