"""The kernel: tasks, pids, the scheduler, user-memory helpers, signals' default actions and syscall entry."""

from __future__ import annotations

import os
import shutil
import struct
import sys
import tempfile
import time
import weakref
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from . import exec as binfmt
from .abi import SIG, E
from . import procfs, signal
from .exit import do_group_exit, signal_status
from .files import FdTable, HostFile, KernelError
from .filemap import PageCache
from .futex import FutexTable
from .ipc import IpcNamespace
from .net import NetNamespace
from .inotify import Fsnotify
from .vfs import Vfs
from .mm import FAULT_NAMES, USER_CHUNK, FaultAcct, FramePool, OutOfMemory, SegFault, StringTooLong
from .cred import Cred, initial_cred, may_search
from .sched import DEFAULT_QUANTUM, TICK_NSEC, Scheduler
from .tty import Tty
from .syscalls import SYSCALL_TABLE
from .syscalls.sched import NR_CPUS
from .task import RUNNING, SLEEPING, FsStruct, SigHand, SignalStruct, Task

PAGE_SIZE = 4096
DEFAULT_MEM = 512 << 20
DEFAULT_MAX_TASKS = 4096
# The first guest process's pid. It is not 1: pid 1 is the model's init, which runs no guest code and reaps the
# orphans reparented to it, and the first process's parent is the shell that started it (FIRST_PID - 1), as for a
# program started from a terminal. Programs and test suites (LTP) take getppid() == 1 to mean "my parent died".
FIRST_PID = 1000
PID_MAX = 32768
AT_FDCWD = -100 & 0xFFFFFFFF
# REALTIME, MONOTONIC, PROCESS/THREAD_CPUTIME_ID, MONOTONIC_RAW, REALTIME/MONOTONIC_COARSE, BOOTTIME, *_ALARM, TAI
POSIX_CLOCKS = frozenset((0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 11))
CAP_SEARCH_ANY = 1 << 1 | 1 << 2  # CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH
SECCOMP_STRICT_ALLOWED = frozenset((3, 4, 1, 119))  # read, write, exit, sigreturn (mode1_syscalls_32)
VIRTUAL_EPOCH_NS = 1_767_225_600 * 10**9  # 2026-01-01T00:00:00Z, the realtime clock's start under virtual time


# The guest's /dev (drivers/char/mem.c's devices and the links udev makes): a directory of the run's own in which
# only these host device files are bound, never the rest of the host's /dev (disks, /dev/mem, /dev/kmsg).
DEV_NODES = ("null", "zero", "full", "random", "urandom", "tty")
DEV_LINKS = {"fd": "/proc/self/fd", "stdin": "/proc/self/fd/0", "stdout": "/proc/self/fd/1",
             "stderr": "/proc/self/fd/2"}


def _make_dev(dev_dir: str, vfs: Vfs) -> None:
    """Fill the run's /dev: the character devices above bound from the host (so stat shows them as they are),
    fd and std* links into /proc/self/fd, shm (mounted by the caller), and the controlling terminal's pts node."""
    os.mkdir(dev_dir)
    os.mkdir(os.path.join(dev_dir, "shm"))
    vfs.mount("/dev", dev_dir)
    for name in DEV_NODES:
        if os.path.exists("/dev/" + name):
            open(os.path.join(dev_dir, name), "w").close()  # the directory entry; lookups reach the host node
            vfs.mount("/dev/" + name, "/dev/" + name)
    for name, target in DEV_LINKS.items():
        os.symlink(target, os.path.join(dev_dir, name))
    for fd in (0, 1, 2):
        try:
            tty = os.ttyname(fd)
        except OSError:
            continue
        if tty.startswith("/dev/pts/"):
            os.makedirs(os.path.join(dev_dir, "pts"), exist_ok=True)
            open(os.path.join(dev_dir, "pts", os.path.basename(tty)), "w").close()
            vfs.mount(tty, tty)


def _make_sys_cpu(cpu_dir: str, vfs: Vfs) -> None:
    """The model's /sys/devices/system/cpu: one CPU, cpu0, as sched_getaffinity and /proc/cpuinfo say (glibc's
    get_nprocs and sysconf(_SC_NPROCESSORS_*) read online and possible); the host's CPUs do not show through."""
    os.makedirs(os.path.join(cpu_dir, "cpu0"))
    for name, value in (("online", "0"), ("possible", "0"), ("present", "0"), ("offline", ""),
                        ("kernel_max", str(NR_CPUS - 1))):
        with open(os.path.join(cpu_dir, name), "w") as f:
            f.write(value + "\n")
        os.chmod(os.path.join(cpu_dir, name), 0o444)
    vfs.mount("/sys/devices/system/cpu", cpu_dir)


def _isatty(fd: int) -> bool:
    try:
        return os.isatty(fd)
    except OSError:
        return False


@dataclass
class Stats:
    """Whole-run counters; per-task counters live on the tasks."""

    clones: dict[str, int] = field(default_factory=lambda: {"fork": 0, "vfork": 0, "thread": 0, "clone_vm": 0})
    execs: int = 0
    exits: int = 0
    reaped: int = 0
    syscalls: int = 0
    enosys: dict[str, int] = field(default_factory=dict)

    def record_clone(self, kind: str) -> None:
        """Count one created task by kind."""
        self.clones[kind] = self.clones.get(kind, 0) + 1


class Kernel:
    """Everything the guest can reach through int 0x80, independent of any CPU emulator."""

    def __init__(self, mem_bytes: int = DEFAULT_MEM, quantum: int = DEFAULT_QUANTUM,
                 loader: Callable[[str], binfmt.ElfImageLike] | None = None,
                 max_tasks: int = DEFAULT_MAX_TASKS, stdio: tuple[int, int, int] = (0, 1, 2),
                 root: str = "/", first_pid: int = FIRST_PID) -> None:
        if not 2 <= first_pid < PID_MAX:
            raise ValueError(f"the first pid must be in 2..{PID_MAX - 1}")
        self.pool = FramePool(mem_bytes // PAGE_SIZE)
        self.page_cache = PageCache(self.pool)  # host files' pages shared by every mapping and read/write
        self.ipc = IpcNamespace(self)  # System V shared memory, semaphores and message queues
        self.net = NetNamespace(self)  # bound AF_UNIX names and the loopback's ports
        self.fsnotify = Fsnotify(self)  # inotify watches, and the events file operations report to them
        self.vfs = Vfs(root)  # the guest's file system: a host directory it cannot climb out of
        # The guest's /dev/shm is a directory of this run's own, as a tmpfs of its own would be: the host's
        # /dev/shm is never touched, and concurrent runs (whose first processes have the same pid) do not meet.
        self.run_dir = tempfile.mkdtemp(prefix="emu-run-")
        weakref.finalize(self, shutil.rmtree, self.run_dir, True)
        self.shm_dir = os.path.join(self.run_dir, "shm")
        os.mkdir(self.shm_dir)
        os.chmod(self.shm_dir, 0o1777)
        self.vfs.mount("/dev/shm", self.shm_dir)
        self.dev_dir = os.path.join(self.run_dir, "dev")
        _make_dev(self.dev_dir, self.vfs)
        _make_sys_cpu(os.path.join(self.run_dir, "sys-cpu"), self.vfs)
        # The host's /proc never shows through: /proc is a directory of the run's own, which kernel_model.procfs
        # fills from the model before each lookup under it.
        self.proc_dir = os.path.join(self.run_dir, "proc")
        os.mkdir(self.proc_dir, 0o555)
        self.vfs.mount("/proc", self.proc_dir)
        proc_prefix = self.proc_dir + os.sep
        # /proc/PID/fd/N of a pipe (or another file with no path) opens that file: the walk stops at the link
        self.vfs.magic_link = lambda host: (host.startswith(proc_prefix) and os.path.basename(os.path.dirname(host))
                                            == "fd" and not os.readlink(host).startswith("/"))
        self.resolving: Task | None = None  # the task whose path walk is running (for the /proc mount hook)
        self.vfs.mount_hooks[("proc",)] = self._proc_entered
        self.sched = Scheduler(quantum)
        self.futex = FutexTable(self)
        self.table = SYSCALL_TABLE
        self.loader = loader
        self.max_tasks = max_tasks
        self.sysctl = procfs.default_sysctls(self)  # /proc/sys values, text as the files show them
        self.stdio = stdio
        self.tasks: dict[int, Task] = {}
        self.dead_tasks: list[Task] = []
        self.first_pid = first_pid
        self.next_pid = first_pid
        self.init_task: Task | None = None
        self.stats = Stats()
        self.kernel_acct = FaultAcct()  # faults taken while building stacks at exec
        self.hwcap = 0  # AT_HWCAP: the CPU side sets it to CPUID.1:EDX, as Linux does
        self.vsyscall = 0  # AT_SYSINFO: the CPU side's __kernel_vsyscall, 0 for none
        self.vdso_base = 0  # AT_SYSINFO_EHDR: the CPU side's vDSO image
        self.uid = os.getuid()
        self.gid = os.getgid()
        self.fifos: dict[tuple[int, int], object] = {}  # (dev, ino) of an open FIFO -> its PipeBuffer
        self.tty: Tty | None = None  # the controlling terminal's job control (kernel_model.tty)
        self.groups = sorted(set(os.getgroups()))  # supplementary groups, as the host user has them
        self.caps = _host_caps(self.uid)  # the first process's (effective, permitted, inheritable) capabilities
        self.init_cred = initial_cred(self.uid, self.gid, self.groups, self.caps)
        self.new_tasks: list[Task] = []  # created during the current syscall, for the CPU binding
        self.warned: set[str] = set()
        self.rng = np.random.Generator(np.random.PCG64(0))  # a fixed seed: every run draws the same bytes
        self.hooks: dict[str, list[Callable]] = {}
        self.exit_status: int | None = None
        self.virtual_time = False  # clocks, sleeps and timers on the host's clock (True: the model's)
        self.slice_ns: Callable[[], int] | None = None  # modelled time already spent in the running slice
        # The running task's x87/SSE state as a 512-byte fxsave image, and loading one: installed by the CPU side
        # (signal frames carry it); None without a CPU, when frames get the init state.
        # (user ns, system ns) of CPU time a task has used, from the CPU side's cycle model; None: zero
        self.task_times: Callable[[Task], tuple[int, int]] | None = None
        self.fpu_save: Callable[[], bytes] | None = None
        # (sigreturn, rt_sigreturn) code addresses a handler without SA_RESTORER returns to (the vDSO's
        # trampolines); None: the frame's own retcode, which a non-executable stack refuses.
        self.sigreturn_trampolines: tuple[int, int] | None = None
        self.fpu_load: Callable[[bytes], None] | None = None

    # ---- pids and tasks ----------------------------------------------------------------------------

    def alloc_pid(self) -> int:
        """The next pid (alloc_pid; pids are not reused within a run)."""
        pid = self.next_pid
        self.next_pid += 1
        return pid

    def free_pid(self, pid: int) -> None:
        """Pids are handed out in increasing order and not reused within a run."""

    def live_task_count(self) -> int:
        """Tasks not yet reaped."""
        return len(self.tasks)

    def cred(self, task: Task | None) -> Cred:
        """A task's credentials (current_cred); the initial ones for a task that has none of its own."""
        c = task.cred if task is not None else None
        return c if c is not None else self.init_cred

    def ppid_of(self, task: Task) -> int:
        """The parent's tgid as getppid and /proc show it: the shell that started the first process (its pid
        less one), init (1) for an orphan."""
        leader = task.group_leader
        p = leader.real_parent
        if p is not None:
            return p.tgid
        return self.first_pid - 1 if leader is self.init_task else 1

    def process_times(self, task: Task) -> tuple[int, int]:
        """(user, system) ns of a whole process: its live threads and the exited ones' times kept by
        __exit_signal (thread_group_cputime)."""
        group = task.signal
        user, system = group.utime, group.stime
        for th in group.threads:
            u, s = self.times_of(th)
            user += u
            system += s
        return user, system

    def cpu_clock(self, clk: int, task: Task | None) -> int:
        """A CPU-time clock id of another thread or process (clock_getcpuclockid, pthread_getcpuclockid): ~pid
        << 3 | per-thread << 2 | which (0 PROF: user + system, 1 VIRT: user, 2 SCHED); pid 0 is the caller. EINVAL
        for a bad id or a task that does not exist (posix_cpu_clock_get's lookup)."""
        which, per_thread, pid = clk & 3, bool(clk & 4), ~(clk >> 3)
        if which == 3:
            raise KernelError(E.EINVAL)
        task = task or self.sched.current
        if pid:
            task = self.tasks.get(pid)
            if task is None or task.signal is None or (not per_thread and task.group_leader is not task):
                raise KernelError(E.EINVAL)
        if task is None:
            return 0
        user, system = self.times_of(task) if per_thread else self.process_times(task)
        return user if which == 1 else user + system

    def itimer_cputime(self, task: Task, which: int) -> int:
        """The process's user (ITIMER_VIRTUAL, 1) or user + system (ITIMER_PROF) time as the interval timers
        see it: sampled at tick granularity, as Linux's tick-based cputime accounting is."""
        user, system = self.process_times(task)
        now = user if which == 1 else user + system
        return now - now % TICK_NSEC

    def run_posix_cpu_timers(self, task: Task) -> None:
        """After a slice: fire the process's ITIMER_VIRTUAL (user time) and ITIMER_PROF (user + system time)
        when its CPU time reaches them (check_process_timers), re-arming periodic ones."""
        group = task.signal
        if group is None or not group.cpu_itimers:
            return
        for which, (expires, interval) in list(group.cpu_itimers.items()):
            now = self.itimer_cputime(task, which)
            if now < expires:
                continue
            sig = SIG.SIGVTALRM if which == 1 else SIG.SIGPROF
            self.send_signal(task.group_leader, sig, {"signo": sig, "code": 0x80}, group=True)
            if interval:
                expires += interval * max(1, (now - expires) // interval + 1)
                group.cpu_itimers[which] = (expires, interval)
            else:
                del group.cpu_itimers[which]

    def times_of(self, task: Task) -> tuple[int, int]:
        """(user, system) nanoseconds of CPU time a task has used (task_cputime)."""
        return self.task_times(task) if self.task_times is not None else (0, 0)

    def sysctl_int(self, name: str, field: int = 0) -> int:
        """An integer of a /proc/sys entry (e.g. "kernel/msgmni"), as the guest may have set it."""
        return int(self.sysctl[name].split()[field])

    def child_reaper(self) -> Task | None:
        """Where orphans go (find_child_reaper): to init, pid 1, which is not a guest task here; None tells the
        caller to reap them as init's wait loop would."""
        return None

    def all_tasks(self) -> list[Task]:
        """Every task ever created, live ones first, in pid order."""
        return sorted(self.tasks.values(), key=lambda t: t.pid) + self.dead_tasks

    def wake_up_new_task(self, task: Task) -> None:
        """Put a new task on the run queue (wake_up_new_task)."""
        self.new_tasks.append(task)
        self.sched.enqueue(task)

    def emit(self, event: str, *args) -> None:
        """Call the observers registered for an event (fork, exit, exec, vfork_sleep, vfork_wake, ...)."""
        for cb in self.hooks.get(event, ()):
            cb(*args)

    def warn_once(self, key: str, message: str) -> None:
        """One line on stderr the first time something happens."""
        if key not in self.warned:
            self.warned.add(key)
            print(f"emu: {message}", file=sys.stderr, flush=True)

    # ---- starting the first process ------------------------------------------------------------

    def spawn(self, image: binfmt.ElfImageLike, argv: list[str], envp: list[str]) -> Task:
        """Create the first guest process running a parsed image (the kernel's run_init_process)."""
        task = Task(self.alloc_pid(), os.path.basename(image.path)[:15])
        task.kind = "first"  # the process the emulator started (not init: that is pid 1, which runs no guest code)
        task.files = FdTable()
        for fd, host_fd in enumerate(self.stdio):
            task.files.install_at(fd, HostFile(f"<stdio {fd}>", host_fd, _host_status_flags(host_fd), owns_fd=False))
        try:
            cwd = self.vfs.guest_path(os.getcwd())  # the guest starts where the emulator was started
        except ValueError:
            cwd = "/"  # ... unless that is outside the guest root
        task.fs = FsStruct(cwd=cwd)
        task.sighand = SigHand()
        task.signal = SignalStruct(threads=[task], pgid=task.pid, sid=task.pid)
        if any(_isatty(fd) for fd in self.stdio):  # the terminal it was started on is its controlling tty
            self.tty = Tty(task.signal.sid, task.signal.pgid)
        # fork_init: max_threads = memory / (8 * THREAD_SIZE) (16 KiB stacks), capped by --max-tasks; init's
        # RLIMIT_NPROC and RLIMIT_SIGPENDING are max_threads / 2
        half = max(1, min(self.max_tasks, self.pool.nframes // 32) // 2)
        task.signal.rlimits[6] = task.signal.rlimits[11] = (half, half)
        mm, regs = binfmt.load_elf_binary(self, image, [a.encode() for a in argv], [e.encode() for e in envp],
                                          image.path.encode())
        task.mm = mm
        task.regs = regs
        task.regs_dirty = True
        self.tasks[task.pid] = task
        self.init_task = task
        self.sched.enqueue(task)
        self.new_tasks.append(task)
        return task

    def load_image(self, path: str) -> binfmt.ElfImageLike:
        """Parse an executable through the loader the CPU side installed."""
        if self.loader is None:
            raise KernelError(E.ENOEXEC, "no executable loader installed")
        try:
            return self.loader(path)
        except KernelError as e:
            if e.errno == E.ENOEXEC:  # an x86-64 (or other) program: say why once, as execve only says -ENOEXEC
                self.warn_once("enoexec", f"execve: {e}: -ENOEXEC")
            raise

    # ---- user memory (copy_from_user / copy_to_user) ------------------------------------------

    def get_bytes(self, task: Task, addr: int, n: int) -> bytes:
        """n bytes of the task's memory or EFAULT."""
        try:
            return task.mm.read(addr, n, task.acct)
        except SegFault:
            raise KernelError(E.EFAULT) from None
        finally:
            if task.mm.kernel_faults:
                self._report_kernel_faults(task)

    def put_bytes(self, task: Task, addr: int, data: bytes) -> None:
        """Write into the task's memory or EFAULT."""
        try:
            task.mm.write(addr, data, task.acct)
        except SegFault:
            raise KernelError(E.EFAULT) from None
        finally:
            if task.mm.kernel_faults:
                self._report_kernel_faults(task)

    def copy_to_user_chunked(self, task: Task, addr: int, count: int, produce) -> int:
        """Store up to count bytes that produce(n) gives (a chunk of at most n bytes; fewer ends the copy) at
        addr, USER_CHUNK at a time, stopping at the first page the task cannot write: the bytes copied, or EFAULT
        when none could be. The emulator holds one chunk at a time, and produce is never asked for bytes that
        have nowhere to go (so a file position moves only by what was copied)."""
        done = 0
        while done < count:
            want = min(count - done, USER_CHUNK)
            room = task.mm.accessible(addr + done, want, True)
            if room == 0:
                break
            data = produce(room)
            if not data:
                break
            self.put_bytes(task, addr + done, data)
            done += len(data)
            if len(data) < want:
                break
        if done == 0 and count and task.mm.accessible(addr, 1, True) == 0:
            raise KernelError(E.EFAULT)
        return done

    def _report_kernel_faults(self, task: Task) -> None:
        """Faults taken while the kernel copied user memory, as "fault" events (task.in_syscall says which)."""
        faults, task.mm.kernel_faults = task.mm.kernel_faults, []
        for rec in faults:
            self.emit("fault", task, rec)

    def get_u32(self, task: Task, addr: int) -> int:
        """A 32-bit word of user memory (get_user)."""
        return struct.unpack("<I", self.get_bytes(task, addr, 4))[0]

    def put_u32(self, task: Task, addr: int, value: int) -> None:
        """Store a 32-bit word (put_user)."""
        self.put_bytes(task, addr, struct.pack("<I", value & 0xFFFFFFFF))

    def get_cstring(self, task: Task, addr: int, limit: int = 4096) -> bytes:
        """A NUL-terminated string (strncpy_from_user)."""
        try:
            return task.mm.read_cstring(addr, task.acct, limit)
        except SegFault:
            raise KernelError(E.EFAULT) from None
        except StringTooLong:
            raise KernelError(E.ENAMETOOLONG) from None
        finally:
            if task.mm.kernel_faults:
                self._report_kernel_faults(task)

    def get_path(self, task: Task, addr: int, create: bool = False, follow: bool = True) -> str:
        """A path argument as a host path, resolved against the task's cwd under the guest root (getname +
        path_lookupat); /proc/self/exe names the running binary."""
        return self.get_path_at(task, AT_FDCWD, addr, create, follow)

    def get_path_at(self, task: Task, dirfd: int, addr: int, create: bool = False, follow: bool = True) -> str:
        """Like get_path, relative to an open directory unless dirfd is AT_FDCWD or the path is absolute."""
        raw = self.get_cstring(task, addr, 4096)
        if not raw:
            raise KernelError(E.ENOENT)
        path = os.fsdecode(raw)
        base = task.fs.cwd
        if dirfd != AT_FDCWD and not path.startswith("/"):
            f = task.files.get(dirfd)
            if not hasattr(f, "fd") or not os.path.isdir(f.name):
                raise KernelError(E.ENOTDIR)
            base = self.guest_path(f.name)
        return self.resolve_path(task, path, base, create, follow)

    def resolve_path(self, task: Task, path: str, base: str | None = None, create: bool = False,
                     follow: bool = True) -> str:
        """Host path of a guest path (path_lookupat); /proc is filled from the model as the walk enters it."""
        base = base or task.fs.cwd
        self.resolving = task
        cred = self.cred(task)
        if not cred.cap_effective & CAP_SEARCH_ANY:  # neither CAP_DAC_OVERRIDE nor CAP_DAC_READ_SEARCH
            self.vfs.search_check = lambda d, cred=cred: may_search(cred, d)
        try:
            return self.vfs.resolve(base, path, follow_last=follow, allow_missing_last=create)
        finally:
            self.resolving = None
            self.vfs.search_check = None

    def _proc_entered(self, rest: list[str]) -> None:
        """A path walk enters /proc: write the part that the rest of the path (its next components) reaches."""
        task = self.resolving or self.sched.current
        if task is not None:
            procfs.refresh(self, task, rest)

    def guest_path(self, host_path: str) -> str:
        """The guest's name for a host path under the root."""
        return self.vfs.guest_path(host_path)

    @property
    def virtual_time(self) -> bool:
        """Whether every clock, sleep and timer runs on the model's virtual clock (--virtual-time) instead of
        the host's."""
        return not self.sched.host_clock

    @virtual_time.setter
    def virtual_time(self, value: bool) -> None:
        self.sched.host_clock = not value

    def now_ns(self, clk: int, task: Task | None = None) -> int:
        """A clock's reading: the host's, or with virtual_time the model's (monotonic from 0, realtime from
        VIRTUAL_EPOCH_NS), so guest timing is reproducible. CLOCK_PROCESS_CPUTIME_ID and
        CLOCK_THREAD_CPUTIME_ID are the task's modelled CPU time (user + system, from the cycle model) in both
        modes: the emulator's own CPU time is not the guest's."""
        if clk >= 1 << 31:
            return self.cpu_clock(clk - (1 << 32), task)
        if clk not in POSIX_CLOCKS:
            raise KernelError(E.EINVAL)
        if clk in (2, 3):
            if task is None:
                task = self.sched.current
            if task is None:
                return 0
            if clk == 3 or task.signal is None:
                return sum(self.times_of(task))
            return sum(self.process_times(task))
        if self.virtual_time:
            mono = self.sched.clock_ns + (self.slice_ns() if self.slice_ns else 0)
            return VIRTUAL_EPOCH_NS + mono if clk in (0, 5, 8, 11) else mono  # REALTIME, *_COARSE, *_ALARM, TAI
        try:
            return time.clock_gettime_ns(clk)
        except (OSError, OverflowError):
            raise KernelError(E.EINVAL) from None

    def next_random(self, n: int) -> bytes:
        """Deterministic pseudo-random bytes (getrandom), the same on every run."""
        return self.rng.bytes(n)

    # ---- TLS descriptors (set_thread_area) --------------------------------------------------------

    def set_tls_desc(self, task: Task, entry: int, info: bytes, allow_alloc: bool = True) -> int:
        """Install a struct user_desc as GDT TLS entry 6..8 of the task; return the entry used (do_set_thread_area)."""
        if entry == 0xFFFFFFFF:
            if not allow_alloc:
                raise KernelError(E.EINVAL)
            free = [i for i, d in enumerate(task.tls) if d is None or d == bytes(8)]
            if not free:
                raise KernelError(E.ESRCH)
            entry = 6 + free[0]
        if not 6 <= entry <= 8:
            raise KernelError(E.EINVAL)
        task.tls[entry - 6] = user_desc_to_gdt(info)
        task.tls_dirty = True
        return entry

    # ---- signals (kernel_model.signal) ---------------------------------------------------------------

    def send_signal(self, task: Task, sig: int, info: dict | None = None, group: bool = False) -> None:
        """Queue a signal to a thread or its group (send_signal)."""
        signal.send_signal(self, task, sig, info, group)

    def kill_pgrp(self, pgid: int, sig: int) -> None:
        """Send sig to every process of a process group (kill_pgrp), from the kernel."""
        for x in list(self.tasks.values()):
            if x.group_leader is x and x.signal is not None and x.signal.pgid == pgid:
                live = [th for th in x.signal.threads if th.is_alive()]
                if live:
                    self.send_signal(live[0], sig, {"signo": sig, "code": signal.SI_KERNEL}, group=True)

    def _oom_in_kernel(self, task: Task) -> int:
        """No frame for a page the kernel touched for the task (a copy to or from user memory): as the OOM
        killer would, the task gets SIGKILL, taken on its way back to user mode; the call says ENOMEM."""
        where = f"{task.in_syscall.name}()" if task.in_syscall else "the kernel"
        print(f"emu: pid {task.pid} ({task.comm}): out of memory in {where}; killed (SIGKILL)", file=sys.stderr,
              flush=True)
        self.send_signal(task, SIG.SIGKILL, {"signo": SIG.SIGKILL, "code": 0x80})
        return -E.ENOMEM

    def kill_task(self, task: Task, sig: int) -> None:
        """End a task's whole group as a fatal signal would (SIGKILL on OOM, a dead-locked run)."""
        do_group_exit(self, task, signal_status(sig, self, task))

    def force_fault(self, task: Task, sig: int, code: int, addr: int) -> None:
        """A fault in user mode: the signal goes to the faulting thread, unblocked (force_sig_fault)."""
        signal.force_sig_fault(self, task, sig, code, addr)

    def do_signal(self, task: Task) -> bool:
        """Handle pending signals at return to user mode; True when task.regs changed."""
        return signal.do_signal(self, task)

    @staticmethod
    def signal_pending(task: Task) -> bool:
        """An unblocked signal waits for the task."""
        return signal.signal_pending(task)

    # ---- syscall entry -------------------------------------------------------------------------------

    def syscall(self, task: Task) -> None:
        """Run the syscall whose number and arguments are in task.regs; leave the result in regs.ax.

        Observers: "syscall_enter"(task, nr, name) may return an int to replace the result without running
        the handler (fault injection); "syscall_block"(task, nr, name) when it sleeps in the kernel;
        "syscall_exit"(task, nr, name, result) when it completes, also after a sleep.
        """
        regs = task.regs
        nr = regs.ax
        regs.orig_ax = nr
        task.syscalls += 1
        self.stats.syscalls += 1
        sc = self.table.get(nr)
        if sc is None:
            sc = self.table[-1]
        task.in_syscall = sc
        res = None
        if task.seccomp_mode and nr not in SECCOMP_STRICT_ALLOWED:
            # seccomp strict mode (__secure_computing_strict): any other call kills the process
            self.send_signal(task, SIG.SIGKILL, {"signo": SIG.SIGKILL, "code": 0x80})
            self._finish(task, -E.EPERM)
            return
        if self.hooks:
            for cb in self.hooks.get("syscall_enter", ()):
                r = cb(task, nr, sc.name)
                if r is not None and res is None:
                    res = int(r)
            if res is not None:
                self._finish(task, res)
                return
        try:
            res = sc.fn(self, task, regs.bx, regs.cx, regs.dx, regs.si, regs.di, regs.bp)
            if type(res) is not int:
                res = self._step(task, res)
        except KernelError as e:
            res = -e.errno
        except SegFault:
            res = -E.EFAULT
        except OutOfMemory:
            res = self._oom_in_kernel(task)
        except Exception as e:  # a bug in the model: say which call of which task met it (emu.cli prints it)
            e.add_note(f"in {sc.name}() of pid {task.pid} ({task.comm})")
            raise
        if res is None:
            if self.hooks and task.continuation is not None:
                self.emit("syscall_block", task, nr, sc.name)
            return
        task.in_syscall = None
        regs.ax = res & 0xFFFFFFFF
        if self.hooks:
            self.emit("syscall_exit", task, nr, sc.name, res)

    def _finish(self, task: Task, res: int) -> None:
        """Store a syscall's result in eax and tell the observers."""
        sc = task.in_syscall
        task.in_syscall = None
        task.regs.ax = res & 0xFFFFFFFF
        if self.hooks and sc is not None:
            self.emit("syscall_exit", task, sc.nr, sc.name, res)

    def _step(self, task: Task, gen) -> int | None:
        """Advance a sleeping syscall; None while it still sleeps."""
        try:
            next(gen)
        except StopIteration as stop:
            task.continuation = None
            return stop.value
        except BaseException:
            task.continuation = None
            raise
        task.continuation = gen
        return None

    def resume(self, task: Task) -> bool:
        """Continue a task's sleeping syscall after a wake-up; True when it finished (regs.ax set)."""
        try:
            res = self._step(task, task.continuation)
        except KernelError as e:
            res = -e.errno
        except SegFault:
            res = -E.EFAULT
        except OutOfMemory:
            res = self._oom_in_kernel(task)
        if res is None:
            return False
        self._finish(task, res)
        return True

    # ---- exits driven from outside a syscall ------------------------------------------------------

    def exit_code_of_init(self) -> int:
        """Shell-style exit status of the first process: the exit code, or 128 + signal."""
        t = self.init_task
        st = t.exit_code if t is not None else 0
        if st & 0x7F:
            return 128 + (st & 0x7F)
        return (st >> 8) & 0xFF

    def fault_totals(self) -> dict[str, int]:
        """Fault counters summed over every task."""
        tot = [0] * len(FAULT_NAMES)
        for t in self.all_tasks():
            for i, c in enumerate(t.acct.counts):
                tot[i] += c
        for i, c in enumerate(self.kernel_acct.counts):
            tot[i] += c
        return dict(zip(FAULT_NAMES, tot, strict=True))

    def all_done(self) -> bool:
        """No task can ever run again."""
        return not any(t.state in (RUNNING, SLEEPING) for t in self.tasks.values())


CAP_FULL_SET = (1 << 41) - 1  # CAP_CHOWN .. CAP_CHECKPOINT_RESTORE (CAP_LAST_CAP 40)


def _host_caps(uid: int) -> tuple[int, int, int]:
    """The capability sets the emulator itself runs with (so a guest run as root has what a native run of the
    same user would: a sandbox may have dropped some), or root's full set / none when they cannot be read."""
    try:
        with open("/proc/self/status") as f:
            caps = {k: int(v, 16) for k, v in (line.split(":\t") for line in f if line.startswith("Cap"))}
        return caps["CapEff"], caps["CapPrm"], caps["CapInh"]
    except (OSError, KeyError, ValueError):
        return (CAP_FULL_SET, CAP_FULL_SET, 0) if uid == 0 else (0, 0, 0)


def _host_status_flags(host_fd: int) -> int:
    """The open file's access mode and status flags as the host kernel holds them (F_GETFL), which the guest's
    fcntl(F_GETFL) then reports as a native process inheriting the descriptor would see them; O_RDWR when the host
    descriptor is unusable."""
    import fcntl

    try:
        # O_ACCMODE, O_APPEND, O_NONBLOCK, O_LARGEFILE
        return fcntl.fcntl(host_fd, fcntl.F_GETFL) & (0o3 | 0o2000 | 0o4000 | 0o100000)
    except OSError:
        return 2


def user_desc_to_gdt(info: bytes) -> bytes:
    """struct user_desc to an 8-byte GDT descriptor (fill_ldt); an empty desc clears the entry."""
    entry, base, limit, bits = struct.unpack_from("<IIII", info.ljust(16, b"\0"))
    seg_32bit = bits & 1
    contents = (bits >> 1) & 3
    read_exec_only = (bits >> 3) & 1
    limit_in_pages = (bits >> 4) & 1
    seg_not_present = (bits >> 5) & 1
    useable = (bits >> 6) & 1
    if base == 0 and limit == 0 and (read_exec_only and seg_not_present or bits & 0x7F == 0x28):
        return bytes(8)
    lo = ((base & 0xFFFF) << 16) | (limit & 0xFFFF)
    hi = ((base & 0xFF000000) | ((base >> 16) & 0xFF) | (limit & 0xF0000)
          | ((read_exec_only ^ 1) << 9) | (contents << 10) | ((seg_not_present ^ 1) << 15)
          | (seg_32bit << 22) | (limit_in_pages << 23) | (useable << 20) | 0x7000)
    hi |= 0x100  # accessed, so the CPU never needs to write the descriptor
    return struct.pack("<II", lo, hi)

