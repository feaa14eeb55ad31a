"""`emu trace`: an strace -f of the guest, written from the kernel model's observer events.

Output follows strace 6's format: `name(args) = result` padded to column 40, `[pid N] ` prefixes while more than
one task is traced (`N     ` on every line with -o FILE, as strace -f -o does), strings quoted with C escapes and
cut at 32 bytes, flag words by name, errors as `-1 ENOENT (No such file or directory)`, `<unfinished ...>` /
`<... wait4 resumed>` around a syscall that sleeps while other tasks print, `+++ exited with N +++`,
`+++ killed by SIGSEGV +++` and `--- SIGCHLD {...} ---`. Guest memory is read with MM.peek only, so tracing never
faults a page in or changes a statistic.
"""

from __future__ import annotations

import os
import sys

from kernel_model.abi import NR, SYSCALL_NAMES, signal_name
from kernel_model.mm import FAULT_NAMES, TASK_SIZE
from kernel_model.ptregs import PT_REGS_FIELDS
from kernel_model.syscalls.table import CLASSES as TRACE_CLASSES
from kernel_model.syscalls.table import SIGNATURES, SUBCALL_SIGNATURES
from kernel_model.syscalls.socket import SOCKETCALLS

from .strace_decode import (
    CLD_CODES, MAX_STR, SEGV_CODES, Ctx, Mem, build_spec, exit_line, ptr, quote, result_str, s32, str_arg,
)


RESULT_COLUMN = 39  # strace pads `name(args)` to this column before " = "

ALL_SIGNATURES = {**SIGNATURES, **SUBCALL_SIGNATURES}

#: strace's trace classes (`-e trace=%desc`), from the signatures: class -> the implemented syscalls in it.
CLASSES: dict[str, frozenset[str]] = {
    cls: frozenset(name for name, sig in ALL_SIGNATURES.items() if cls in sig.classes) for cls in TRACE_CLASSES
}

#: name -> the decoding spec built from its signature (see strace_decode.build_spec).
SPECS: dict[str, list] = {name: build_spec(sig) for name, sig in ALL_SIGNATURES.items()}

NO_RETURN = frozenset(name for name, sig in SIGNATURES.items() if sig.ret == "none")


def parse_filter(exprs: list[str]) -> tuple[frozenset[str] | None, bool]:
    """-e expressions to (syscall names to show or None for all, show faults).

    Accepts `trace=NAME,%class,...` (also `file` for `%file`, `all`, `none`, a leading `!` to negate),
    `fault` on its own or inside a trace= list, and a bare list of names as strace does (`-e open,read`).
    """
    names: set[str] | None = None
    faults = False
    for expr in exprs:
        key, _, value = expr.partition("=")
        if not _:
            key, value = "trace", expr
        if key == "fault":
            faults = value in ("", "all", "1", "yes")
            continue
        if key != "trace":
            raise ValueError(f"unsupported -e qualifier {key!r} (this trace knows trace= and fault)")
        negate = value.startswith("!")
        chosen: set[str] = set()
        for item in filter(None, value.lstrip("!").split(",")):
            if item == "fault":
                faults = True
                continue
            if item == "all":
                chosen |= set(SYSCALL_NAMES.values())
            elif item == "none":
                pass
            elif item in ("%%stat", "%%statfs"):  # strace's spelling of the stat-like and statfs-like classes
                chosen |= CLASSES[item[2:] + "_like"]
            elif item.lstrip("%") in CLASSES:
                chosen |= CLASSES[item.lstrip("%")]
            elif item.startswith("%"):
                known = ", ".join("%" + c for c in sorted(CLASSES))
                raise ValueError(f"unknown syscall class {item!r} (known: {known})")
            elif item in SYSCALL_NAMES.values():
                chosen.add(item)
            else:
                raise ValueError(f"unknown syscall {item!r}")
        if negate:
            chosen = set(SYSCALL_NAMES.values()) - chosen
        names = chosen if names is None else names | chosen
    if names is not None and not names and faults and all(e in ("fault", "trace=fault") for e in exprs):
        names = None  # `-e fault` alone adds faults to the full trace
    return (frozenset(names) if names is not None else None), faults


# ---- the tracer -------------------------------------------------------------------------------------------


class Pending:
    """A syscall between entry and exit."""

    __slots__ = ("nr", "name", "ctx", "spec", "entry_parts", "n_in", "prefix", "shown", "started", "interrupted",
                 "blocked", "cycles0")

    def __init__(self, nr, name, ctx, spec, shown) -> None:
        self.nr = nr
        self.name = name
        self.ctx = ctx
        self.spec = spec
        self.entry_parts: list[str] = []
        self.n_in = 0  # spec entries decoded at entry (some print nothing)
        self.prefix = ""
        self.shown = shown
        self.started = False  # the entry part has been written (the call slept)
        self.interrupted = False  # another line came between entry and exit: print `<... resumed>`
        self.blocked = False
        self.cycles0 = 0  # the task's cycle clock when the call was entered (before its entry price)


class Tracer:
    """Turns a Machine's observer events into strace -f output."""

    def __init__(self, machine, out, names: frozenset[str] | None = None, faults: bool = False,
                 regs: bool = False, disasm: int = 0, pids: str = "guest", file_mode: bool = False,
                 argv: list[str] | None = None, strsize: int = MAX_STR, done=None) -> None:
        self.m = machine
        self.strsize = strsize  # -s: bytes of each string shown
        self.done = done  # done(task, name, args_text, result_text, result) when a syscall's line is complete
        self.summary: dict[str, list[int]] = {}  # -c: name -> [calls, errors, cycles, nr]
        self.k = machine.kernel
        self.out = out
        self.names = names
        self.faults = faults
        self.regs = regs
        self.disasm = disasm
        self.pids = pids
        self.file_mode = file_mode
        self.argv = argv or []
        self.pending: dict[int, Pending] = {}
        self.open: Pending | None = None  # the syscall whose entry part ends the current output line
        self.col = 0
        self.traced: set[int] = set()  # tasks strace would have attached and not yet seen exit
        self.deferred: list[tuple[object, str]] = []  # lines caused inside the running syscall
        self.sigchld: dict[int, list[str]] = {}  # parent pid -> queued --- SIGCHLD --- lines
        self.tls_entry: dict[int, int] = {}
        self.kernel_faults: dict[int, list] = {}  # pid -> faults the kernel took in the running syscall
        self.started = False
        self._cs = None
        on = machine.on
        on("schedule", self.on_schedule)
        on("syscall_enter", self.on_enter)
        on("syscall_block", self.on_block)
        on("syscall_exit", self.on_exit)
        on("clone", self.on_clone)
        on("exit", self.on_task_exit)
        on("signal_deliver", self.on_signal_deliver)
        if faults:
            on("fault", self.on_fault)

    # ---- output primitives -------------------------------------------------------------------------------

    def pid_of(self, task) -> int:
        """The pid printed for a task (see --pids in `emu trace --help`)."""
        return task.pid

    def prefix(self, task) -> str:
        if self.file_mode:
            return f"{self.pid_of(task):<5d} "
        if len(self.traced) > 1:
            return f"[pid {self.pid_of(task):5d}] "
        return ""

    def _write(self, text: str) -> None:
        self.out.write(text)
        nl = text.rfind("\n")
        self.col = len(text) - nl - 1 if nl >= 0 else self.col + len(text)

    def _close_open(self) -> None:
        """Another line must start: the sleeping syscall's partial line ends in <unfinished ...>."""
        if self.open is not None:
            self._write(" <unfinished ...>\n")
            self.open.interrupted = True
            self.open = None

    def line(self, task, text: str, prefix: str | None = None) -> None:
        """Print one complete line for a task."""
        self._close_open()
        self._write((self.prefix(task) if prefix is None else prefix) + text + "\n")

    def emit(self, task, text: str) -> None:
        """A line caused by an event: deferred while the current task's syscall line is not yet printed."""
        cur = self.m.cpu.cur
        pend = self.pending.get(cur.pid) if cur is not None else None
        if pend is not None and pend.shown and not pend.started and not pend.blocked:
            self.deferred.append((task, self.prefix(task) + text))  # the prefix as it is now, like strace's
        else:
            self.line(task, text)

    def _flush_deferred(self) -> None:
        lines, self.deferred = self.deferred, []
        for task, text in lines:
            self.line(task, text, prefix="")

    def _flush_signals(self, task) -> None:
        for text in self.sigchld.pop(task.pid, ()):
            self.line(task, text)

    def _pad_result(self, res_text: str) -> None:
        if self.col < RESULT_COLUMN:
            self._write(" " * (RESULT_COLUMN - self.col))
        self._write(" = " + res_text + "\n")

    # ---- events ----------------------------------------------------------------------------------------------

    def on_schedule(self, prev, nxt) -> None:
        if not self.started:
            self.started = True
            self.traced.add(nxt.pid)
            self._initial_execve(nxt)
        pend = self.pending.get(nxt.pid)
        if pend is None or not pend.blocked:
            self._flush_signals(nxt)  # back to user mode: a queued signal is delivered now

    def _initial_execve(self, task) -> None:
        """strace's first line, the execve that started the program (here the kernel's spawn)."""
        mem = Mem(task, self.strsize)
        sp = task.regs.sp
        argc = mem.u32(sp) or 0
        envp = sp + 4 * (argc + 2)
        nenv = 0
        while mem.u32(envp + 4 * nenv) and nenv < 100000:
            nenv += 1
        argv = []
        for k in range(argc):
            a = mem.u32(sp + 4 + 4 * k)
            argv.append(str_arg(mem, a) if a else "NULL")
        prog = self.argv[0] if self.argv else task.mm.exe_path
        text = (f"execve({quote(os.fsencode(prog), False)}, "
                f"[{', '.join(argv)}], {envp:#x} /* {nenv} var{'s' if nenv != 1 else ''} */)")
        if self.names is None or "execve" in self.names:
            self._write(self.prefix(task) + text)
            self._pad_result("0")
            self.summary["execve"] = [1, 0, 0, NR.execve]  # strace counts the execve that started the program

    def on_enter(self, task, nr, name) -> None:
        r = task.regs
        args = (r.bx, r.cx, r.dx, r.si, r.di, r.bp)
        if name == "socketcall" and r.bx in SOCKETCALLS:
            # strace shows a socketcall as the call it makes, with that call's arguments from the array
            sub, n = SOCKETCALLS[r.bx][0], SOCKETCALLS[r.bx][2]
            vals = [Mem(task).u32(r.cx + 4 * i) for i in range(n)]
            if None not in vals:
                name, args = sub, tuple(vals) + (0,) * (6 - n)
        spec = SPECS.get(name)
        shown = self.names is None or name in self.names
        ctx = Ctx(self, task, args, ALL_SIGNATURES.get(name), name)
        pend = Pending(nr, name, ctx, spec, shown)
        pend.cycles0 = self.m.cycles(task) - round(self.m.cpu.cost.syscall)  # the entry was just charged
        self.pending[task.pid] = pend
        if not shown:
            return None
        if name == "set_thread_area":
            entry = Mem(task).u32(r.bx)
            if entry == 0xFFFFFFFF:
                self.tls_entry[task.pid] = -1
        pend.prefix = self.prefix(task)
        if self.regs:
            self.line(task, self.regs_text("entry", nr, name, r))
        if self.disasm:
            for text in self.disasm_lines(task):
                self.line(task, text)
        if spec is None:
            pend.entry_parts = [f"{v:#x}" for v in ctx.a]
            return None
        for _phase, _fn, capture in spec:
            if capture is not None:
                capture(ctx)
        for phase, fn, _capture in spec:
            if phase == "out":
                break
            pend.n_in += 1
            text = fn(ctx)
            if text is not None:
                pend.entry_parts.append(text)
        return None

    def _entry_text(self, pend: Pending) -> str:
        all_in = pend.spec is None or pend.n_in == len(pend.spec)
        text = f"{pend.name}(" + ", ".join(pend.entry_parts)
        if not all_in and pend.entry_parts:
            text += ", "
        return text

    def on_block(self, task, nr, name) -> None:
        pend = self.pending.get(task.pid)
        if pend is None:
            return
        pend.blocked = True
        self._kernel_fault_check(task, name)
        if not pend.shown:
            return
        self._close_open()
        self._write(pend.prefix + self._entry_text(pend))
        pend.started = True
        self.open = pend
        self._flush_deferred()

    def _rest_text(self, pend: Pending) -> str:
        if pend.spec is None:
            return ""
        rest = [fn(pend.ctx) for _, fn, _ in pend.spec[pend.n_in:]]
        return ", ".join(r for r in rest if r is not None)

    def on_exit(self, task, nr, name, result) -> None:
        pend = self.pending.pop(task.pid, None)
        if pend is None:
            return
        pend.ctx.res = result
        if pend.name == "set_thread_area" and task.pid in self.tls_entry and not pend.ctx.failed:
            v = Mem(task).u32(pend.ctx.a[0])
            self.tls_entry[task.pid] = s32(v) if v is not None else -1
        if pend.shown:
            dead = name in NO_RETURN or task.state in ("zombie", "dead")
            res_text = "?" if dead and name in NO_RETURN else result_str(result, pend.ctx)
            rest = self._rest_text(pend)
            if pend.started and self.open is pend:
                self.open = None
                self._write(rest + ")")
            elif pend.started:
                self._close_open()
                self._write(self.prefix(task) + f"<... {pend.name} resumed>" + rest + ")")
            else:
                self._close_open()
                parts = pend.entry_parts + ([rest] if rest else [])
                self._write(pend.prefix + f"{pend.name}(" + ", ".join(parts) + ")")
            self._pad_result(res_text)
            if self.regs and not (dead and name in NO_RETURN):
                self.line(task, self.regs_text("exit", nr, name, task.regs))
            if name not in NO_RETURN:
                row = self.summary.setdefault(pend.name, [0, 0, 0, nr])
                row[0] += 1
                row[1] += pend.ctx.failed
                row[2] += self.m.cycles(task) - pend.cycles0
            if self.done is not None:
                args = ", ".join(pend.entry_parts + ([rest] if rest else []))
                self.done(task, pend.name, args, res_text, result)
        self.tls_entry.pop(task.pid, None)
        self._kernel_fault_check(task, name)
        self._flush_deferred()
        if task.is_alive():
            self._flush_signals(task)

    def on_clone(self, parent, child, flags) -> None:
        self.traced.add(child.pid)
        if self.regs:
            pend = self.pending.get(parent.pid)
            what = pend.name if pend is not None else "clone"
            self.emit(child, self.regs_text("child", child.regs.orig_ax, what, child.regs))

    def on_task_exit(self, task, status) -> None:
        pend = self.pending.get(task.pid)
        cur = self.m.cpu.cur
        if pend is not None and pend.shown and task is not cur and (pend.started or pend.blocked):
            # killed while asleep in a syscall (another thread's exit_group, a kill): strace's `= ?`
            self.pending.pop(task.pid, None)
            if self.open is pend:
                self.open = None
                self._write(self._rest_text_safe(pend) + ")")
            else:
                self._close_open()
                self._write(self.prefix(task) + f"<... {pend.name} resumed>)")
            self._pad_result("?")
        elif pend is not None and task is not cur:
            self.pending.pop(task.pid, None)
        if task is cur and pend is None and status & 0x7F == 11 and self.m.cpu.fault is not None:
            vaddr, _kind, maperr = self.m.cpu.fault
            self.line(task, f"--- SIGSEGV {{si_signo=SIGSEGV, si_code={SEGV_CODES[1 if maperr else 2]}, "
                            f"si_addr={ptr(vaddr)}}} ---")
        self.emit(task, exit_line(status))
        self.traced.discard(task.pid)
        self._queue_exit_signal(task, status)

    def on_signal_deliver(self, task, sig, info, how) -> None:
        """--- SIGxxx {siginfo} --- when a signal is taken (SIGCHLD comes from the child's exit instead, and a
        fatal fault's line from on_task_exit; SIGKILL is never seen by strace)."""
        if sig in (9, 17) or (how == "kill" and "addr" in info) or how == "sigwait":
            return  # SIGKILL never stops a tracee for strace; a signal sigtimedwait takes is its result
        name = signal_name(sig)
        code = info.get("code", 0)
        if "addr" in info:
            code_s = {11: SEGV_CODES.get(code, str(code)), 4: "ILL_ILLOPN", 8: "FPE_INTDIV",
                      7: {2: "BUS_ADRERR"}.get(code, str(code))}.get(sig, str(code))
            fields = f"si_code={code_s}, si_addr={ptr(info['addr'])}"
        else:
            code_s = {0: "SI_USER", 0x80: "SI_KERNEL", -6: "SI_TKILL", -1: "SI_QUEUE", -2: "SI_TIMER"}.get(code,
                                                                                                 str(code))
            fields = f"si_code={code_s}"
            if code in (0, -6, -1):
                fields += f", si_pid={info.get('pid', 0)}, si_uid={info.get('uid', self.k.cred(task).uid)}"
            if code == -1 and "value" in info:
                fields += f", si_int={info['value']}, si_ptr={ptr(info['value'] & 0xFFFFFFFF)}"
        self.emit(task, f"--- {name} {{si_signo={name}, {fields}}} ---")
        if how == "stop":
            self.emit(task, f"--- stopped by {name} ---")  # strace's group-stop line

    def _rest_text_safe(self, pend: Pending) -> str:
        pend.ctx.res = None
        return self._rest_text(pend)

    def _queue_exit_signal(self, task, status) -> None:
        """--- SIGCHLD {...} --- for the parent, shown when it next returns to user mode (strace shows it even
        though SIGCHLD's default action is to ignore, since a traced task's signals are never discarded early;
        a parent with SIGCHLD set to SIG_IGN gets no signal at all, as in do_notify_parent)."""
        leader = task.group_leader
        others = [t for t in task.thread_group if t is not task and t.is_alive()]
        if others:
            return
        if leader is not task and leader.state not in ("zombie",):
            return
        sig = leader.exit_signal
        parent = leader.real_parent
        if sig <= 0 or sig > 64 or parent is None or not parent.is_alive():
            return
        handler = parent.sighand.handler(sig) if parent.sighand else 0
        if handler == 1:
            return
        if leader.signal.group_exit:
            status = leader.signal.group_exit_code
        code = 1 if status & 0x7F == 0 else (3 if status & 0x80 else 2)
        st = str((status >> 8) & 0xFF) if code == 1 else signal_name(status & 0x7F)
        text = (f"--- {signal_name(sig)} {{si_signo={signal_name(sig)}, si_code={CLD_CODES[code]}, "
                f"si_pid={self.pid_of(leader)}, si_uid={self.k.cred(leader).uid}, si_status={st}, si_utime=0, "
                "si_stime=0} ---")
        self.sigchld.setdefault(parent.pid, []).append(text)

    # ---- faults ----------------------------------------------------------------------------------------------

    def on_fault(self, task, rec) -> None:
        if task.in_syscall is not None:
            # The kernel took it while copying user memory: shown after the syscall's own line.
            self.kernel_faults.setdefault(task.pid, []).append(rec)
            return
        eip = self.m.cpu.eip()
        insn = self.insn_at(task, eip)
        self.emit(task, self.fault_text(rec) + f" at {eip:#010x}: {insn} ---")

    def fault_text(self, rec) -> str:
        kind, vaddr, old, new = rec
        name = FAULT_NAMES[kind]
        old_s = "none" if name in ("zero_fill", "file_fill") else str(old)
        return f"--- page fault {name} {{vaddr={vaddr:#010x}, old_frame={old_s}, new_frame={new}}}"

    def _kernel_fault_check(self, task, name: str) -> None:
        """The faults the kernel took copying user memory during this syscall, each once."""
        for rec in self.kernel_faults.pop(task.pid, []):
            if self.faults:
                self.emit(task, self.fault_text(rec) + f" in the kernel during {name}() ---")

    # ---- registers and disassembly -------------------------------------------------------------------------

    def regs_text(self, when: str, nr: int, name: str, regs) -> str:
        fields = " ".join(f"{f}={getattr(regs, f) & 0xFFFFFFFF:#010x}" for f in PT_REGS_FIELDS)
        orig = regs.orig_ax & 0xFFFFFFFF
        head = {"entry": f"pt_regs at entry: {name} (orig_ax={orig:#x} = {s32(orig)})",
                "exit": f"pt_regs at exit: {name} (orig_ax={orig:#x} = {s32(orig)}) returns "
                        f"eax={regs.ax & 0xFFFFFFFF:#x} = {s32(regs.ax)}",
                "child": f"pt_regs of the new child: returns from {name} (orig_ax={orig:#x} = {s32(orig)}) with "
                         f"eax={regs.ax & 0xFFFFFFFF:#x} = {s32(regs.ax)}"}[when]
        return f"--- {head}: {fields} ---"

    def capstone(self):
        if self._cs is None:
            from capstone import CS_ARCH_X86, CS_MODE_32, CS_OPT_SYNTAX_ATT, Cs

            self._cs = Cs(CS_ARCH_X86, CS_MODE_32)
            self._cs.syntax = CS_OPT_SYNTAX_ATT
        return self._cs

    def insn_at(self, task, eip: int) -> str:
        code = Mem(task).read_upto(eip, 15) if 0 < eip < TASK_SIZE else b""
        for i in self.capstone().disasm(code, eip):
            return f"{i.mnemonic} {i.op_str}".strip()
        return "(unreadable)" if not code else "(undecodable " + code[:4].hex() + ")"

    def disasm_lines(self, task) -> list[str]:
        """The N instructions before the int $0x80 that trapped, decoded forward from candidate starts."""
        insns = disasm_before(self.capstone(), Mem(task), task.regs.ip - 2, self.disasm)
        if insns is None:
            return [f"--- disasm: no decoding of the code before {task.regs.ip - 2:#010x} ends on int $0x80 ---"]
        return [f"--- disasm {a:#010x}: {b.hex():<16} {t} ---" for a, b, t in insns]


def disasm_before(cs, mem: Mem, target: int, n: int) -> list[tuple[int, bytes, str]] | None:
    """The n instructions ending just before `target` (an `int $0x80`), plus that instruction.

    x86 cannot be decoded backwards unambiguously, so decode forward from every start 1..15*n bytes before
    target, keep the decodings that land exactly on target with `int $0x80` there, and take the window of the
    last n instructions that most of them agree on (ties: the longer window). The int itself is the last entry.
    """
    here = mem.read(target, 2)
    if here != b"\xcd\x80":
        return None
    votes: dict[tuple, int] = {}
    for back in range(1, 15 * n + 1):
        start = target - back
        code = mem.read_upto(start, back + 2)
        if len(code) < back + 2:
            continue
        seq = []
        landed = False
        for i in cs.disasm(code, start):
            if i.address == target:
                landed = i.mnemonic == "int"
                break
            if i.address > target:
                break
            seq.append((i.address, bytes(i.bytes), f"{i.mnemonic} {i.op_str}".strip()))
        if landed and seq:
            window = tuple(seq[-n:])
            votes[window] = votes.get(window, 0) + 1
    if not votes:
        return [(target, b"\xcd\x80", "int $0x80")] if n == 0 else None
    best = max(votes, key=lambda w: (votes[w], len(w)))
    return list(best) + [(target, b"\xcd\x80", "int $0x80")]


def open_output(path: str | None):
    """The trace's output: a file (strace -o) or stderr."""
    if path is None:
        return sys.stderr
    return open(path, "w", buffering=1)


class Discard:
    """A text sink: the trace lines of `-c`, and of the tracer that only decodes for the timeline."""

    def write(self, text: str) -> int:
        return len(text)

    def flush(self) -> None:
        pass


def format_summary(summary: dict[str, list[int]], frequency_ghz: float, sortby: str = "time") -> str:
    """strace -c's table: per syscall the share of the time, the seconds and microseconds per call, the calls and
    the errors, sorted by time (ties by syscall number, as strace does) or by -S (time, calls, errors, name,
    nothing). The time is the model's: the
    cycles the task was charged from the call's entry to its return, at the cost model's frequency, i.e. the
    modelled system time (strace's default, "independent of wall clock time"); a call that sleeps is charged
    nothing while it sleeps."""
    rows = [(name, calls, errors, cycles / (frequency_ghz * 1e9), nr)
            for name, (calls, errors, cycles, nr) in summary.items()]
    keys = {"time": lambda r: (-r[3], r[4]), "calls": lambda r: (-r[1], r[4]), "errors": lambda r: (-r[2], r[4]),
            "name": lambda r: r[0], "nothing": None}
    if keys[sortby] is not None:
        rows.sort(key=keys[sortby])
    total = sum(r[3] for r in rows)
    calls = sum(r[1] for r in rows)
    errors = sum(r[2] for r in rows)
    rule = "------ ----------- ----------- --------- --------- ----------------"
    lines = ["% time     seconds  usecs/call     calls    errors syscall", rule]
    for name, n, err, secs, _nr in rows:
        pct = 100.0 * secs / total if total else 0.0
        lines.append(f"{pct:6.2f} {secs:11.6f} {int(secs * 1e6 / n) if n else 0:11d} {n:9d} "
                     f"{err if err else '':>9} {name}")
    lines.append(rule)
    lines.append(f"{100.0 if total else 0.0:6.2f} {total:11.6f} {int(total * 1e6 / calls) if calls else 0:11d} "
                 f"{calls:9d} {errors if errors else '':>9} total")
    return "\n".join(lines) + "\n"
