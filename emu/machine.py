"""A Machine: the kernel model plus the Unicorn CPU, ready to run one program."""

from __future__ import annotations

import os
import signal
import tempfile
import threading
from dataclasses import dataclass

from kernel_model.abi import E
from kernel_model.files import KernelError
from kernel_model.kernel import FIRST_PID, DEFAULT_MAX_TASKS, DEFAULT_MEM, Kernel
from kernel_model.mm import FAULT_COW_COPY, FAULT_COW_REUSE, FAULT_FILE, FAULT_ZERO
from kernel_model.sched import DEFAULT_QUANTUM
from kernel_model.tty import TERMINAL_SIGNALS, forward_terminal_signal

from .costmodel import CostModel
from .cpu import Cpu
from .elf import ElfError, ElfImage, read_elf


def exec_loader(path: str) -> ElfImage:
    """The kernel's binfmt hook: parse a file, mapping its problems to the errno execve returns."""
    try:
        return read_elf(path)
    except ElfError as e:
        if not os.path.lexists(path):
            raise KernelError(E.ENOENT, str(e)) from None
        if os.path.isdir(path):
            raise KernelError(E.EACCES, str(e)) from None
        if not os.access(path, os.R_OK):
            raise KernelError(E.EACCES, str(e)) from None
        raise KernelError(E.ENOEXEC, str(e)) from None


# Events an observer can ask for (Machine.on). Kernel events pass the task first; see README "Python API".
KERNEL_EVENTS = ("syscall_enter", "syscall_block", "syscall_exit", "clone", "vfork_sleep", "vfork_wake", "exec",
                 "exit", "schedule", "fault", "signal_send", "signal_deliver")
ALIASES = {"syscall": "syscall_enter"}
# One event per fault kind, called as callback(task, record) like "fault"; "cow_fault" is either COW kind.
FAULT_KIND_EVENTS = {"zero_fill": (FAULT_ZERO,), "file_fill": (FAULT_FILE,), "cow_copy": (FAULT_COW_COPY,),
                     "cow_reuse": (FAULT_COW_REUSE,), "cow_fault": (FAULT_COW_COPY, FAULT_COW_REUSE)}


@dataclass
class RunResult:
    """What a run gives back: the shell-style exit status, captured output when asked, and the statistics."""

    status: int
    stdout: bytes | None
    stderr: bytes | None
    stats: dict


class Machine:
    """The emulator as a library: build with options, register observers with on(), then run() once.

    Observers run inside the kernel model, between guest instructions: they may read any task's pt_regs
    (task.regs), memory (task.mm.peek) and page tables (task.mm.pte, task.mm.present_ptes). A "syscall"
    observer may return an int to replace the syscall's result without running it (fault injection).
    """

    def __init__(self, mem: int = DEFAULT_MEM, quantum: int = DEFAULT_QUANTUM, max_tasks: int = DEFAULT_MAX_TASKS,
                 stdio: tuple[int, int, int] = (0, 1, 2), cost: CostModel | None = None,
                 virtual_time: bool = False, root: str = "/", max_insns: int | None = None,
                 first_pid: int = FIRST_PID, fastpath: bool = True, cycle_model: str = "core",
                 cpuid: str = "host", cycle_sample: int = 1) -> None:
        self.kernel = Kernel(mem_bytes=mem, quantum=quantum, loader=exec_loader, max_tasks=max_tasks,
                             stdio=stdio, root=root, first_pid=first_pid)
        self.cpu = Cpu(self.kernel, cost, fastpath=fastpath, cycle_model=cycle_model, cpuid=cpuid,
                       cycle_sample=cycle_sample)
        self.cpu.max_insns = max_insns
        self.kernel.virtual_time = virtual_time
        self.kernel.slice_ns = self.cpu.slice_ns

    def on(self, event: str, callback) -> None:
        """Call callback(task, ...) on a kernel event (KERNEL_EVENTS, "syscall", or a fault kind)."""
        event = ALIASES.get(event, event)
        if event in FAULT_KIND_EVENTS:
            kinds = FAULT_KIND_EVENTS[event]
            self.kernel.hooks.setdefault("fault", []).append(
                lambda task, rec: callback(task, rec) if rec[0] in kinds else None)
            return
        if event not in KERNEL_EVENTS:
            known = ", ".join(sorted(set(KERNEL_EVENTS) | set(ALIASES) | set(FAULT_KIND_EVENTS)))
            raise ValueError(f"unknown event {event!r}; known events: {known}")
        self.kernel.hooks.setdefault(event, []).append(callback)

    @property
    def tasks(self) -> list:
        """Every task of the run so far, live ones first (pid order)."""
        return self.kernel.all_tasks()

    def insns(self, task) -> int:
        """Instructions the task has retired, including the time slice running now."""
        cpu = self.cpu
        return task.insns + (cpu.counter.running() if cpu.in_slice and task is cpu.cur else 0)

    def frames_in_use(self) -> int:
        """Frames allocated at this moment of the run (for a fault the native path served, as it was right after
        that fault, while the fault is reported)."""
        cpu = self.cpu
        pool = self.kernel.pool
        if cpu.event_free is not None:
            return pool.nframes - 1 - cpu.event_free
        return pool.used

    def cycles(self, task) -> int:
        """The task's modelled cycle count so far, including the time slice running now."""
        return self.cpu.cycles(task, extra_insns=self.insns(task) - task.insns)

    def execute(self, argv: list[str], env: list[str] | None = None, stdin: bytes | None = None,
                capture: bool = False) -> RunResult:
        """Run a program to the end and return a RunResult; with capture=True its stdout and stderr are
        collected instead of going to ours, and stdin bytes, when given, are its standard input."""
        files = []
        try:
            if stdin is not None or capture:
                fds = list(self.kernel.stdio)
                if stdin is not None:
                    f = tempfile.TemporaryFile()
                    f.write(stdin)
                    f.seek(0)
                    files.append(f)
                    fds[0] = f.fileno()
                outs = []
                if capture:
                    for i in (1, 2):
                        f = tempfile.TemporaryFile()
                        files.append(f)
                        outs.append(f)
                        fds[i] = f.fileno()
                self.kernel.stdio = tuple(fds)
            status = self.run(argv, env if env is not None else [])
            out = err = None
            if capture:
                outs[0].seek(0)
                outs[1].seek(0)
                out, err = outs[0].read(), outs[1].read()
            from .stats import collect_stats

            return RunResult(status, out, err, collect_stats(self))
        finally:
            for f in files:
                f.close()

    def run(self, argv: list[str], env: list[str]) -> int:
        """Run argv[0] (a path) with the environment; return its shell-style exit status.

        Raises ElfError for a program that cannot be loaded.
        """
        k = self.kernel
        argv = list(argv)
        if "/" not in argv[0]:
            argv[0] = self._search_path(argv[0], env)
        path = self._host_path(argv[0])
        for _ in range(4):  # BINPRM_MAX_RECURSION: a `#!` script runs its interpreter, as execve does
            try:
                with open(path, "rb") as f:
                    head = f.read(256)
            except OSError as e:
                raise ElfError(f"{argv[0]}: {os.strerror(e.errno or 2)}") from None
            if not head.startswith(b"#!"):
                break
            line = head[2:].split(b"\n", 1)[0].strip(b" \t").replace(b"\t", b" ")
            interp, _, arg = line.partition(b" ")
            if not interp:
                raise ElfError(f"{argv[0]}: a #! line without an interpreter")
            argv = [os.fsdecode(interp)] + ([os.fsdecode(arg.strip())] if arg.strip() else []) + argv
            path = self._host_path(argv[0])
        image = read_elf(path)  # ElfError with a one-line reason
        self.kernel.spawn(image, argv, env)
        if k.tty is None or threading.current_thread() is not threading.main_thread():
            return self.cpu.run()
        return self._run_on_terminal()

    def _host_path(self, prog: str) -> str:
        """The host path of PROG: as given under `--root /`, else looked up inside the guest root."""
        k = self.kernel
        if k.vfs.root == "/":
            return prog
        try:
            cwd = k.vfs.guest_path(os.getcwd())
        except ValueError:
            cwd = "/"
        try:
            return k.vfs.resolve(cwd, prog)
        except KernelError as e:
            raise ElfError(f"{prog}: {os.strerror(e.errno)} (inside --root {k.vfs.root})") from None

    def _search_path(self, name: str, env: list[str]) -> str:
        """A PROG without a slash is looked up on the guest's PATH, as a shell does (execvp)."""
        path = next((e[5:] for e in env if e.startswith("PATH=")), "/usr/local/bin:/usr/bin:/bin")
        for d in path.split(":"):
            cand = os.path.join(d or ".", name)
            try:
                host = self._host_path(cand)
            except ElfError:
                continue
            if os.path.isfile(host) and os.access(host, os.X_OK):
                return cand
        raise ElfError(f"{name}: not found on the guest's PATH ({path})")

    def _run_on_terminal(self) -> int:
        """Run with the host terminal's signals (^C, ^\\, ^Z, window changes) going to the guest's foreground
        process group instead of ending or stopping the emulator, which is the host terminal's foreground
        process; they are delivered at the next slice boundary (or at once when the machine is idle)."""
        k = self.kernel
        arrived: list[int] = []

        def on_host_signal(signum, _frame):
            arrived.append(signum)

        def deliver() -> bool:
            if not arrived:
                return False
            while arrived:
                forward_terminal_signal(k, arrived.pop(0))
            return True

        k.sched.external = deliver
        self.cpu.external_pending = arrived
        old = {s: signal.signal(s, on_host_signal) for s in TERMINAL_SIGNALS}
        try:
            return self.cpu.run()
        finally:
            for s, h in old.items():
                signal.signal(s, h)
            k.sched.external = None
            self.cpu.external_pending = None
