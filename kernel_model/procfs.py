"""A /proc generated from the model (fs/proc/*.c by name), never the host's.

The guest's /proc is a directory of the run's own (Kernel.proc_dir, mounted by the Vfs); before a path under it is
looked up, the part it names is written there afresh from the model's state, so every open, stat, read and
getdents sees what the model holds at that moment:

* system files: meminfo (the frame pool), cpuinfo (one CPU, this machine's identity), stat, uptime, loadavg,
  version, filesystems, mounts, sysvipc/{shm,sem,msg}, sys/kernel/{pid_max,ostype,osrelease,tainted,shm*,msg*,sem},
  sys/vm/{max_map_count,overcommit_memory}; no config.gz (as on many kernels);
* `self` and `thread-self` as links to the caller's /proc/PID and /proc/PID/task/TID;
* per process (and per thread under task/TID/): status, stat, statm, maps, smaps, mounts, mountinfo, cmdline,
  comm (writable), environ, auxv, exe, cwd, root, fd/ and fdinfo/, limits, ns/, oom_score_adj (writable),
  oom_score, oom_adj, mem and pagemap.

Files that are not plain text are answered when opened (special_open): ``mem`` reads and writes the task's
memory through the model (never the emulator's), and ``fd/N`` of a pipe or other file without a path opens that
same file, as Linux's magic links do (the Vfs stops at them, see Kernel.__init__). Writes to comm,
oom_score_adj and /proc/sys entries go to the model (write_handler); ``pagemap`` is read from the page tables.
Anything else is not modelled: an unknown path is ENOENT, since only what is written here exists.
"""

from __future__ import annotations

import os
import shutil
import struct
from typing import TYPE_CHECKING

from . import ipc, net
from .abi import E
from .files import File, KernelError, stat_fields
from .mm import MAX_MAP_COUNT, PAGE_SIZE, PROT_EXEC, PROT_READ, PROT_WRITE

if TYPE_CHECKING:
    from .kernel import Kernel
    from .task import Task

PID_MAX = 32768
STATE_LETTERS = {"running": "R", "sleeping": "S", "zombie": "Z", "dead": "X", "stopped": "T"}


def _write(path: str, text: str | bytes) -> None:
    data = text.encode() if isinstance(text, str) else text
    with open(path, "wb") as f:
        f.write(data)


def _link(path: str, target: str) -> None:
    if os.path.lexists(path):
        if os.path.islink(path) and os.readlink(path) == target:
            return
        if os.path.isdir(path) and not os.path.islink(path):
            shutil.rmtree(path)
        else:
            os.unlink(path)
    os.symlink(target, path)


def refresh(k: Kernel, task: Task, parts: list[str]) -> None:
    """Regenerate the part of /proc that a path walk is about to look up: parts are the components after
    /proc (possibly none), as far as the walk knows them."""
    root = k.proc_dir
    os.chmod(root, 0o755)
    first = parts[0] if parts else ""
    if first in ("", "self", "thread-self") or first.isdigit():
        _pids(k, task, root, parts)
    if not first or first == "sys":
        _sys(k, root)
    if not first or not (first.isdigit() or first in ("self", "thread-self", "sys", "sysvipc")):
        _system(k, root)
    if not first or first == "sysvipc":
        _sysvipc(k, root)


def _kb(frames: int) -> int:
    return frames * PAGE_SIZE // 1024


def _system(k: Kernel, root: str) -> None:
    pool = k.pool
    total, free = pool.nframes, pool.nfree
    cached = sum(len(o.pages) for o in k.page_cache.objects.values())
    shmem = sum(len(s.obj.pages) for s in k.ipc.shm.objects.values())
    _write(os.path.join(root, "meminfo"), "".join(f"{name + ':':<16}{value:>8} kB\n" for name, value in (
        ("MemTotal", _kb(total)), ("MemFree", _kb(free)), ("MemAvailable", _kb(free + cached)),
        ("Buffers", 0), ("Cached", _kb(cached + shmem)), ("SwapCached", 0), ("Active", _kb(total - free)),
        ("Inactive", 0), ("SwapTotal", 0), ("SwapFree", 0), ("Dirty", 0), ("Writeback", 0),
        ("AnonPages", _kb(total - free - cached)), ("Mapped", _kb(cached)), ("Shmem", _kb(shmem)),
        ("CommitLimit", _kb(total)), ("Committed_AS", _kb(total - free)), ("VmallocTotal", 0),
        ("HugePages_Total", 0), ("Hugepagesize", 2048))).replace("HugePages_Total:        0 kB",
                                                                  "HugePages_Total:       0"))
    _write(os.path.join(root, "cpuinfo"), _cpuinfo())
    up = k.sched.clock_ns / 1e9 if k.virtual_time else _host_uptime()
    _write(os.path.join(root, "uptime"), f"{up:.2f} {up:.2f}\n")
    running = sum(1 for t in k.tasks.values() if t.state == "running")
    _write(os.path.join(root, "loadavg"), f"0.00 0.00 0.00 {running}/{len(k.tasks)} {k.next_pid - 1}\n")
    u = os.uname()
    _write(os.path.join(root, "version"), f"Linux version {u.release} (fork-emu kernel model) {u.version}\n")
    _write(os.path.join(root, "filesystems"), "nodev\tproc\nnodev\ttmpfs\nnodev\tpipefs\n\text4\n")
    _write(os.path.join(root, "mounts"), _MOUNTS)
    ticks = (k.sched.clock_ns // 10**7)
    _write(os.path.join(root, "stat"), f"cpu  {ticks} 0 0 0 0 0 0 0 0 0\ncpu0 {ticks} 0 0 0 0 0 0 0 0 0\n"
                                       f"processes {k.next_pid - 1}\nprocs_running {running}\nprocs_blocked 0\n")
    cfg = os.path.join(root, "config.gz")
    if getattr(k, "show_config", False) and not os.path.lexists(cfg) and _host_config() is not None:
        _write(cfg, _host_config())  # the kernel the model reports (uname's release) was built with this


_CONFIG: list = []


def _host_config() -> bytes | None:
    """The build configuration of the kernel whose release uname reports (the host's /proc/config.gz): LTP and
    other programs read it to decide what to test; the model implements a subset of what it enables."""
    if not _CONFIG:
        try:
            with open("/proc/config.gz", "rb") as f:
                _CONFIG.append(f.read())
        except OSError:
            _CONFIG.append(None)
    return _CONFIG[0]


_CPUINFO: str | None = None


def _cpuinfo() -> str:
    """One processor: this machine's first CPU as its /proc/cpuinfo describes it (the identity a native run
    sees), renumbered as the only one."""
    global _CPUINFO
    if _CPUINFO is None:
        try:
            with open("/proc/cpuinfo") as f:
                first = f.read().split("\n\n")[0]
        except OSError:
            first = "processor\t: 0\nvendor_id\t: GenuineIntel\nmodel name\t: i686"
        lines = []
        for line in first.splitlines():
            key = line.split(":")[0].strip()
            if key in ("siblings", "cpu cores"):
                line = f"{key}\t: 1"
            lines.append(line)
        _CPUINFO = "\n".join(lines) + "\n\n"
    return _CPUINFO


def _host_uptime() -> float:
    import time

    return time.clock_gettime(time.CLOCK_BOOTTIME)


def default_sysctls(k: Kernel) -> dict[str, str]:
    """The /proc/sys values a run starts with, as text: kernel.* and vm.* entries the model reads or shows.
    shmmax and shmall are as a 64-bit kernel holds them (ULONG_MAX - 2^24); IPC_INFO hands a 32-bit task the
    values clamped to INT_MAX, as the compat syscall does."""
    u = os.uname()
    return {
        "kernel/pid_max": str(PID_MAX), "kernel/ostype": "Linux", "kernel/osrelease": u.release,
        "kernel/tainted": "0", "kernel/shmmax": str((1 << 64) - 1 - (1 << 24)),
        "kernel/shmall": str((1 << 64) - 1 - (1 << 24)), "kernel/shmmni": str(ipc.SHMMNI),
        "kernel/msgmax": str(ipc.MSGMAX), "kernel/msgmnb": str(ipc.MSGMNB), "kernel/msgmni": str(ipc.MSGMNI),
        "kernel/sem": f"{ipc.SEMMSL}\t{ipc.SEMMNS}\t{ipc.SEMOPM}\t{ipc.SEMMNI}",
        "kernel/threads-max": str(k.max_tasks), "kernel/hostname": u.nodename,
        "vm/max_map_count": str(MAX_MAP_COUNT), "vm/overcommit_memory": "0", "vm/overcommit_ratio": "50",
        "vm/mmap_min_addr": "65536", "vm/drop_caches": "0", "kernel/core_pattern": "core",
        "fs/pipe-max-size": "1048576", "fs/pipe-user-pages-soft": "16384", "fs/pipe-user-pages-hard": "0",
        "fs/lease-break-time": "45", "net/core/somaxconn": str(net.SOMAXCONN),
        "net/core/wmem_max": str(net.WMEM_MAX), "net/core/rmem_max": str(net.RMEM_MAX),
        "net/core/wmem_default": str(net.WMEM_DEFAULT), "net/core/rmem_default": str(net.RMEM_DEFAULT),
        "net/unix/max_dgram_qlen": str(net.MAX_DGRAM_QLEN),
        "fs/inotify/max_queued_events": "16384", "fs/inotify/max_user_watches": "8192",
        "fs/inotify/max_user_instances": "128",
        "net/ipv4/ip_local_port_range": f"{net.EPHEMERAL_LOW}\t{net.EPHEMERAL_HIGH}",
    }


# Entries a guest may write (proc_dointvec and friends): name -> how many integers the value holds.
WRITABLE = {"kernel/shmmax": 1, "kernel/shmall": 1, "kernel/shmmni": 1, "kernel/msgmax": 1, "kernel/msgmnb": 1,
            "kernel/msgmni": 1, "kernel/sem": 4, "vm/max_map_count": 1, "vm/overcommit_memory": 1,
            "vm/overcommit_ratio": 1, "kernel/pid_max": 1, "kernel/threads-max": 1, "kernel/hostname": 0,
            "vm/drop_caches": 1, "kernel/core_pattern": 0, "fs/pipe-max-size": 1, "fs/pipe-user-pages-soft": 1,
            "fs/pipe-user-pages-hard": 1, "fs/lease-break-time": 1, "net/core/somaxconn": 1, "net/core/wmem_max": 1,
            "net/core/rmem_max": 1, "net/core/wmem_default": 1, "net/core/rmem_default": 1,
            "net/unix/max_dgram_qlen": 1, "net/ipv4/ip_local_port_range": 2, "fs/inotify/max_queued_events": 1,
            "fs/inotify/max_user_watches": 1, "fs/inotify/max_user_instances": 1}


def _sys(k: Kernel, root: str) -> None:
    for name, value in k.sysctl.items():
        path = os.path.join(root, "sys", name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        _write(path, value + "\n")
        os.chmod(path, 0o644 if name in WRITABLE else 0o444)


def sysctl_written(k: Kernel, host_path: str) -> None:
    """A guest wrote a /proc/sys file: its new value becomes the model's (proc_sys_write), EINVAL when it does
    not parse as that entry's integers."""
    name = os.path.relpath(host_path, os.path.join(k.proc_dir, "sys"))
    if name not in WRITABLE:
        raise KernelError(E.EACCES)
    with open(host_path) as f:
        text = f.read().strip()
    want = WRITABLE[name]
    if want:
        fields = text.split()
        if len(fields) != want or not all(x.lstrip("-").isdigit() for x in fields):
            _write(host_path, k.sysctl[name] + "\n")
            raise KernelError(E.EINVAL)
        text = "\t".join(fields)
    k.sysctl[name] = text


def _sysvipc(k: Kernel, root: str) -> None:
    """/proc/sysvipc/{shm,sem,msg}: a header, then one line per object (sysvipc_*_proc_show)."""
    d = os.path.join(root, "sysvipc")
    os.makedirs(d, exist_ok=True)
    ns = k.ipc
    shm = ["       key      shmid perms                  size  cpid  lpid nattch   uid   gid  cuid  cgid      "
           "atime      dtime      ctime                   rss                  swap\n"]
    for x in sorted(ns.shm.objects.values(), key=lambda o: o.perm.index):
        p = x.perm
        shm.append(f"{p.key:10d} {p.id:10d}  {p.mode & 0o1777:4o} {x.size:21d} {x.cpid:5d} {x.lpid:5d}  "
                   f"{x.nattch:5d} {p.uid:5d} {p.gid:5d} {p.cuid:5d} {p.cgid:5d} {x.atime:10d} {x.dtime:10d} "
                   f"{x.ctime:10d} {x.obj.resident() * PAGE_SIZE:21d} {0:21d}\n")
    _write(os.path.join(d, "shm"), "".join(shm))
    sem = ["       key      semid perms      nsems   uid   gid  cuid  cgid      otime      ctime\n"]
    for x in sorted(ns.sem.objects.values(), key=lambda o: o.perm.index):
        p = x.perm
        sem.append(f"{p.key:10d} {p.id:10d}  {p.mode & 0o777:4o} {len(x.values):10d} {p.uid:5d} {p.gid:5d} "
                   f"{p.cuid:5d} {p.cgid:5d} {x.otime:10d} {x.ctime:10d}\n")
    _write(os.path.join(d, "sem"), "".join(sem))
    msg = ["       key      msqid perms      cbytes       qnum lspid lrpid   uid   gid  cuid  cgid      stime      "
           "rtime      ctime\n"]
    for x in sorted(ns.msg.objects.values(), key=lambda o: o.perm.index):
        p = x.perm
        msg.append(f"{p.key:10d} {p.id:10d}  {p.mode & 0o777:4o}  {x.cbytes:10d} {len(x.messages):10d} "
                   f"{x.lspid:5d} {x.lrpid:5d} {p.uid:5d} {p.gid:5d} {p.cuid:5d} {p.cgid:5d} {x.stime:10d} "
                   f"{x.rtime:10d} {x.ctime:10d}\n")
    _write(os.path.join(d, "msg"), "".join(msg))


def _pids(k: Kernel, task: Task, root: str, parts: list[str]) -> None:
    """self, thread-self and the directories of live processes (a dead pid's directory is removed); of a
    process's directory only what the path names is written (all of it when the path ends there)."""
    live = {t.tgid for t in k.tasks.values() if t.group_leader is t}
    for name in os.listdir(root):
        if name.isdigit() and int(name) not in live:
            shutil.rmtree(os.path.join(root, name), ignore_errors=True)
    _link(os.path.join(root, "self"), str(task.tgid))
    _link(os.path.join(root, "thread-self"), f"{task.tgid}/task/{task.pid}")
    if not parts:  # listing /proc: the directories exist, their files are written when looked up
        for tgid in live:
            os.makedirs(os.path.join(root, str(tgid)), exist_ok=True)
        return
    first, rest = parts[0], parts[1:]
    if first == "self":
        tgid = task.tgid
    elif first == "thread-self":
        tgid, rest = task.tgid, ["task", str(task.pid), *rest]
    elif first.isdigit():
        tgid = int(first)
    else:
        return
    leader = k.tasks.get(tgid)
    if leader is None or leader.group_leader is not leader or leader.signal is None:
        return
    _task_dir(k, leader, os.path.join(root, str(tgid)), rest, False)


def _task_dir(k: Kernel, t: Task, d: str, rest: list[str], thread: bool) -> None:
    """/proc/PID (or /proc/PID/task/TID): the entry rest[0] names, or every entry when rest is empty."""
    os.makedirs(d, exist_ok=True)
    names = [rest[0]] if rest else list(PID_ENTRIES) + ([] if thread else ["task"])
    for name in names:
        if name == "task" and not thread:
            tdir = os.path.join(d, "task")
            os.makedirs(tdir, exist_ok=True)
            threads = {th.pid: th for th in t.signal.threads if th.is_alive() or th is t}
            for entry in os.listdir(tdir):
                if not entry.isdigit() or int(entry) not in threads:
                    shutil.rmtree(os.path.join(tdir, entry), ignore_errors=True)
            for tid in threads:
                os.makedirs(os.path.join(tdir, str(tid)), exist_ok=True)
            if len(rest) > 1 and rest[1].isdigit() and int(rest[1]) in threads:
                _task_dir(k, threads[int(rest[1])], os.path.join(tdir, rest[1]), rest[2:], True)
        elif name in PID_ENTRIES:
            PID_ENTRIES[name](k, t, d)


def _rss(mm) -> int:
    """Resident pages of an mm: its present PTEs."""
    return int(mm.present_ptes().size) if mm is not None else 0


def _state(t: Task) -> str:
    if t.signal is not None and t.signal.stopped:
        return "T"
    return STATE_LETTERS.get(t.state, "S")


def _status(k: Kernel, t: Task, d: str) -> None:
    """proc_pid_status."""
    mm = t.mm
    state = _state(t)
    vm_kb = mm.total_vm() // 1024 if mm is not None else 0
    rss_kb = _rss(mm) * PAGE_SIZE // 1024
    lck_kb = mm.locked_vm() // 1024 if mm is not None else 0
    pending = 0
    for s, _ in t.pending:
        pending |= 1 << (s - 1)
    c = k.cred(t)
    status = [
        ("Name", t.comm), ("Umask", f"{t.fs.umask:04o}" if t.fs is not None else "0022"),
        ("State", f"{state} ({ {'R': 'running', 'S': 'sleeping', 'Z': 'zombie', 'T': 'stopped'}.get(state, 'dead')})"),
        ("Tgid", t.tgid), ("Ngid", 0), ("Pid", t.pid), ("PPid", k.ppid_of(t)), ("TracerPid", 0),
        ("Uid", f"{c.uid}\t{c.euid}\t{c.suid}\t{c.fsuid}"), ("Gid", f"{c.gid}\t{c.egid}\t{c.sgid}\t{c.fsgid}"),
        ("FDSize", 64), ("Groups", " ".join(str(g) for g in c.groups)), ("VmPeak", f"{vm_kb:>8} kB"),
        ("VmSize", f"{vm_kb:>8} kB"), ("VmLck", f"{lck_kb:>8} kB"), ("VmRSS", f"{rss_kb:>8} kB"),
        ("Threads", len(t.signal.threads) if t.signal is not None else 1),
        ("SigPnd", f"{pending:016x}"), ("SigBlk", f"{t.blocked:016x}"),
        ("CapInh", f"{c.cap_inheritable:016x}"), ("CapPrm", f"{c.cap_permitted:016x}"),
        ("CapEff", f"{c.cap_effective:016x}"),
    ]
    _write(os.path.join(d, "status"), "".join(f"{a}:\t{b}\n" for a, b in status))


def _stat(k: Kernel, t: Task, d: str) -> None:
    """do_task_stat: the fields ps and top read."""
    mm = t.mm
    pgid = t.signal.pgid if t.signal is not None else t.tgid
    sid = t.signal.sid if t.signal is not None else t.tgid
    user_ns, sys_ns = k.times_of(t)  # the cycle model's, as getrusage reports them; in 100 Hz clock ticks
    vsize = mm.total_vm() if mm is not None else 0
    fields = [t.pid, f"({t.comm})", _state(t), k.ppid_of(t), pgid, sid, 0, -1, 0, 0, 0, 0, 0, user_ns // 10**7,
              sys_ns // 10**7, 0, 0, 20, 0,
              len(t.signal.threads) if t.signal is not None else 1, 0, 0, vsize, _rss(mm)]
    _write(os.path.join(d, "stat"), " ".join(str(x) for x in fields) + " 0" * 28 + "\n")


def _statm(k: Kernel, t: Task, d: str) -> None:
    vsize = t.mm.total_vm() if t.mm is not None else 0
    _write(os.path.join(d, "statm"), f"{vsize // PAGE_SIZE} {_rss(t.mm)} 0 0 0 0 0\n")


def _mm_file(fn):
    """An entry that only a task with an address space has."""
    def write(k: Kernel, t: Task, d: str) -> None:
        if t.mm is not None:
            fn(k, t, t.mm, d)
    return write


def _args(k: Kernel, t: Task, mm, d: str) -> None:
    for name, lo, hi in (("cmdline", mm.arg_start, mm.arg_end), ("environ", mm.env_start, mm.env_end)):
        try:
            data = mm.peek(lo, max(0, hi - lo))
        except Exception:
            data = b""
        _write(os.path.join(d, name), data)
    os.chmod(os.path.join(d, "environ"), 0o400)


def _exe(k: Kernel, t: Task, mm, d: str) -> None:
    try:
        _link(os.path.join(d, "exe"), k.guest_path(mm.exe_path))
    except ValueError:
        pass


def _auxv(k: Kernel, t: Task, mm, d: str) -> None:
    _write(os.path.join(d, "auxv"), mm.saved_auxv)
    os.chmod(os.path.join(d, "auxv"), 0o400)


def _fs_links(k: Kernel, t: Task, d: str) -> None:
    if t.fs is not None:
        _link(os.path.join(d, "cwd"), t.fs.cwd)
        _link(os.path.join(d, "root"), "/")


def _comm(k: Kernel, t: Task, d: str) -> None:
    _write(os.path.join(d, "comm"), t.comm + "\n")
    os.chmod(os.path.join(d, "comm"), 0o644)


def _oom(k: Kernel, t: Task, d: str) -> None:
    adj = t.signal.oom_score_adj if t.signal is not None else 0
    _write(os.path.join(d, "oom_score_adj"), f"{adj}\n")
    _write(os.path.join(d, "oom_adj"), f"{(adj * 17 // 1000) if adj != 1000 else 15}\n")
    _write(os.path.join(d, "oom_score"), f"{max(0, min(2000, 666 + adj * 2 // 3)) if adj > -1000 else 0}\n")
    for name in ("oom_score_adj", "oom_adj"):
        os.chmod(os.path.join(d, name), 0o644)


def _timerslack(k: Kernel, t: Task, d: str) -> None:
    path = os.path.join(d, "timerslack_ns")
    _write(path, f"{t.timer_slack_ns}\n")
    os.chmod(path, 0o666)


def _coredump_filter(k: Kernel, t: Task, d: str) -> None:
    path = os.path.join(d, "coredump_filter")
    _write(path, f"{getattr(t.mm, 'coredump_filter', 0x33) if t.mm else 0x33:08x}\n")
    os.chmod(path, 0o644)


def _placeholder(name: str, mode: int):
    """A file answered by special_open; the placeholder gives it a directory entry and a stat."""
    def write(k: Kernel, t: Task, d: str) -> None:
        path = os.path.join(d, name)
        if not os.path.exists(path):
            _write(path, b"")
        os.chmod(path, mode)
    return write


def _ns(k: Kernel, t: Task, d: str) -> None:
    ns = os.path.join(d, "ns")
    os.makedirs(ns, exist_ok=True)
    for name, ino in NAMESPACES:
        _link(os.path.join(ns, name), f"{name}:[{ino}]")


PID_ENTRIES = {
    "status": _status, "stat": _stat, "statm": _statm, "comm": _comm,
    "maps": _mm_file(lambda k, t, mm, d: _write(os.path.join(d, "maps"), _maps(mm))),
    "smaps": _mm_file(lambda k, t, mm, d: _write(os.path.join(d, "smaps"), _smaps(k, mm))),
    "cmdline": _mm_file(_args), "environ": _mm_file(_args), "exe": _mm_file(_exe), "auxv": _mm_file(_auxv),
    "mounts": lambda k, t, d: _write(os.path.join(d, "mounts"), _MOUNTS),
    "mountinfo": lambda k, t, d: _write(os.path.join(d, "mountinfo"), _MOUNTINFO),
    "cwd": _fs_links, "root": _fs_links, "oom_score_adj": _oom, "oom_adj": _oom, "oom_score": _oom,
    "mem": _placeholder("mem", 0o600), "pagemap": _placeholder("pagemap", 0o400),
    "limits": lambda k, t, d: _write(os.path.join(d, "limits"), _limits(t)),
    "fd": lambda k, t, d: _fd_dirs(k, t, d), "fdinfo": lambda k, t, d: _fd_dirs(k, t, d), "ns": _ns,
    "timerslack_ns": _timerslack, "coredump_filter": _coredump_filter,
}


# The one namespace of each kind the model has: inode numbers as Linux gives the initial ones (PROC_*_INIT_INO).
NAMESPACES = (("cgroup", 0xEFFFFFFB), ("ipc", 0xEFFFFFFF), ("mnt", 0xF0000000), ("net", 0xEFFFFFF8),
              ("pid", 0xEFFFFFFC), ("pid_for_children", 0xEFFFFFFC), ("time", 0xEFFFFFFA),
              ("time_for_children", 0xEFFFFFFA), ("user", 0xEFFFFFFD), ("uts", 0xEFFFFFFE))

_LIMITS = (("Max cpu time", "seconds"), ("Max file size", "bytes"), ("Max data size", "bytes"),
           ("Max stack size", "bytes"), ("Max core file size", "bytes"), ("Max resident set", "bytes"),
           ("Max processes", "processes"), ("Max open files", "files"), ("Max locked memory", "bytes"),
           ("Max address space", "bytes"), ("Max file locks", "locks"), ("Max pending signals", "signals"),
           ("Max msgqueue size", "bytes"), ("Max nice priority", ""), ("Max realtime priority", ""),
           ("Max realtime timeout", "us"))


def _limits(t: Task) -> str:
    """/proc/PID/limits (proc_pid_limits): each rlimit's soft and hard value, "unlimited" for infinity."""
    from .syscalls.common import rlimit

    def show(v: int) -> str:
        return "unlimited" if v >= (1 << 63) else str(v)

    out = [f"{'Limit':<26}{'Soft Limit':<21}{'Hard Limit':<21}{'Units':<10}\n"]
    for res, (name, unit) in enumerate(_LIMITS):
        soft, hard = rlimit(t, res) if t.signal is not None else (1 << 64, 1 << 64)
        if res in (13, 14) and t.signal is not None and res not in t.signal.rlimits:
            soft = hard = 0  # nice and realtime priorities: INIT_RLIMITS gives 0
        out.append(f"{name:<26}{show(soft):<21}{show(hard):<21}{unit:<10}\n")
    return "".join(out)


def fd_target(k: Kernel, f) -> str:
    """What /proc/PID/fd/N links to: the file's path in the guest, or "pipe:[ino]" and the like."""
    from .files import HostFile

    if isinstance(f, HostFile):
        name = f.name
        if name.startswith("<stdio"):
            try:
                name = os.readlink(f"/proc/self/fd/{f.fd}")  # the guest's stdio is the emulator's
            except OSError:
                return "/dev/null"
        if name.startswith("/"):
            try:
                return k.guest_path(name)
            except ValueError:
                return name
        return name
    return f.name


def _fd_dirs(k: Kernel, t: Task, d: str) -> None:
    """fd/ (one link per descriptor) and fdinfo/ (pos, flags, mnt_id, ino) of the task's files_struct."""
    fdd, infod = os.path.join(d, "fd"), os.path.join(d, "fdinfo")
    for sub in (fdd, infod):
        if os.path.isdir(sub):
            shutil.rmtree(sub)
        os.makedirs(sub)
    if t.files is None:
        return
    for fd, (f, cloexec) in sorted(t.files.fds.items()):
        _link(os.path.join(fdd, str(fd)), fd_target(k, f))
        try:
            pos = os.lseek(f.fd, 0, os.SEEK_CUR) if hasattr(f, "fd") and getattr(f, "regular", False) else 0
        except OSError:
            pos = 0
        try:
            ino = f.stat()["ino"]
        except Exception:
            ino = 0
        flags = f.flags | (0o2000000 if cloexec else 0)
        extra = f.fdinfo() if hasattr(f, "fdinfo") else ""  # the file kind's show_fdinfo
        _write(os.path.join(infod, str(fd)),
               f"pos:\t{pos}\nflags:\t0{flags:o}\nmnt_id:\t{21}\nino:\t{ino}\n{extra}")
    os.chmod(fdd, 0o500)


def _owner_of(k: Kernel, host_path: str) -> tuple[Task, str] | None:
    """(task, file name) for a path inside a /proc/PID or /proc/PID/task/TID directory."""
    rel = os.path.relpath(host_path, k.proc_dir).split(os.sep)
    if len(rel) >= 2 and rel[0].isdigit():
        tid = int(rel[0])
        rest = rel[1:]
        if len(rest) >= 3 and rest[0] == "task" and rest[1].isdigit():
            tid, rest = int(rest[1]), rest[2:]
        t = k.tasks.get(tid)
        if t is not None:
            return t, "/".join(rest)
    return None


def special_open(k: Kernel, task: Task, host_path: str, flags: int):
    """The File to open instead of the placeholder at host_path (mem, a magic fd link), or None."""
    if not host_path.startswith(k.proc_dir + os.sep):
        return None
    owner = _owner_of(k, host_path)
    if owner is None:
        return None
    t, name = owner
    if name in ("mem", "pagemap"):
        if t.mm is None:
            raise KernelError(E.EACCES)
        return (ProcMemFile if name == "mem" else PagemapFile)(k, t, flags)
    if name.startswith("fd/") and os.path.islink(host_path):
        fd = int(name[3:])
        if t.files is None or fd not in t.files.fds:
            raise KernelError(E.ENOENT)
        return reopen_file(t.files.get(fd), flags)
    return None


def magic_file(k: Kernel, host_path: str):
    """The open file a /proc/PID/fd/N magic link (one without a path) stands for, or None."""
    if not os.path.islink(host_path) or os.readlink(host_path).startswith("/"):
        return None
    owner = _owner_of(k, host_path)
    if owner is None or not owner[1].startswith("fd/") or owner[0].files is None:
        return None
    entry = owner[0].files.fds.get(int(owner[1][3:]))
    return entry[0] if entry is not None else None


def reopen_file(f, flags: int):
    """open() of /proc/PID/fd/N for a file without a path: a pipe end is a new open of the same pipe (the
    access mode chosen by flags, as opening a FIFO); anything else is the same open file (a dup)."""
    from .files import O_ACCMODE, O_RDONLY, PipeEnd

    if isinstance(f, PipeEnd):
        end = PipeEnd(f.pipe, (flags & O_ACCMODE) != O_RDONLY, flags & ~O_ACCMODE & 0o4000)
        end.wake = f.wake
        return end
    return f


def write_handler(k: Kernel, task: Task, host_path: str):
    """The model's handler for writes to a /proc file (proc_sys_write, comm_write, oom_score_adj_write), or
    None for files that are not writable."""
    if host_path.startswith(os.path.join(k.proc_dir, "sys") + os.sep):
        return lambda: sysctl_written(k, host_path)
    owner = _owner_of(k, host_path)
    if owner is None:
        return None
    t, name = owner

    def comm_written() -> None:
        with open(host_path, "rb") as f:
            t.comm = os.fsdecode(f.read().split(b"\n", 1)[0].split(b"\0", 1)[0])[:15]

    def oom_written() -> None:
        with open(host_path) as f:
            text = f.read().strip()
        lo, hi = (-17, 15) if name == "oom_adj" else (-1000, 1000)
        if not text.lstrip("-").isdigit() or not lo <= int(text) <= hi:
            raise KernelError(E.EINVAL)
        v = int(text)
        if name == "oom_adj":
            v = 1000 if v == 15 else v * 1000 // 17
        t.signal.oom_score_adj = v

    def timerslack_written() -> None:
        """timerslack_ns_write: a number of ns, 0 for the default; another task's needs CAP_SYS_NICE."""
        with open(host_path) as f:
            text = f.read().strip()
        if not text.isdigit():
            raise KernelError(E.EINVAL)
        if t is not task and not k.cred(task).capable(23):
            raise KernelError(E.EPERM)
        v = int(text)
        t.timer_slack_ns = v if v else getattr(t, "default_timer_slack_ns", 50_000)

    def coredump_filter_written() -> None:
        with open(host_path) as f:
            text = f.read().strip()
        try:
            v = int(text, 0)
        except ValueError:
            raise KernelError(E.EINVAL) from None
        if t.mm is not None:
            t.mm.coredump_filter = v & 0x1FF

    return {"comm": comm_written, "oom_score_adj": oom_written, "oom_adj": oom_written,
            "timerslack_ns": timerslack_written, "coredump_filter": coredump_filter_written}.get(name)


_MOUNTINFO = ("1 1 0:1 / / rw,relatime shared:1 - ext4 /dev/root rw\n"
              "2 1 0:2 / /proc rw,nosuid,nodev,noexec,relatime shared:2 - proc proc rw\n"
              "3 1 0:3 / /dev/shm rw,nosuid,nodev shared:3 - tmpfs tmpfs rw\n")
_MOUNTS = ("/dev/root / ext4 rw,relatime 0 0\nproc /proc proc rw,nosuid,nodev,noexec,relatime 0 0\n"
           "tmpfs /dev/shm tmpfs rw,nosuid,nodev 0 0\n")


def _smaps(k: Kernel, mm) -> str:
    """/proc/PID/smaps: each maps line, then its sizes from the page tables (show_smap): Rss counts present
    pages, Shared/Private by whether the frame has other references, Locked the resident pages of mlocked VMAs."""
    import numpy as np

    from .mm import PTE_D, PTE_FRAME

    out = []
    lines = _maps(mm).splitlines(keepends=True)
    for v, line in zip(mm.vmas, lines, strict=True):
        ptes = [view[(view & 1) != 0] for _, view in mm._table_slices(v.start, v.end)]
        present = np.concatenate(ptes) if ptes else np.zeros(0, np.uint32)
        frames = (present & np.uint32(PTE_FRAME)) >> 12
        shared = k.pool.refcount[frames.astype(np.int64)] > 1 if present.size else np.zeros(0, bool)
        dirty = (present & np.uint32(PTE_D)) != 0
        kb = PAGE_SIZE // 1024
        rss = int(present.size) * kb
        fields = [("Size", (v.end - v.start) // 1024), ("KernelPageSize", 4), ("MMUPageSize", 4), ("Rss", rss),
                  ("Pss", rss), ("Shared_Clean", int((shared & ~dirty).sum()) * kb),
                  ("Shared_Dirty", int((shared & dirty).sum()) * kb),
                  ("Private_Clean", int((~shared & ~dirty).sum()) * kb),
                  ("Private_Dirty", int((~shared & dirty).sum()) * kb), ("Referenced", rss),
                  ("Anonymous", rss if v.obj is None else 0), ("Swap", 0), ("Locked", rss if v.locked else 0)]
        out.append(line + "".join(f"{name + ':':<16}{value:>8} kB\n" for name, value in fields))
    return "".join(out)


def _maps(mm) -> str:
    """/proc/PID/maps: one line per VMA (show_map_vma)."""
    out = []
    for v in mm.vmas:
        perms = ("r" if v.prot & PROT_READ else "-") + ("w" if v.prot & PROT_WRITE else "-") + \
                ("x" if v.prot & PROT_EXEC else "-") + ("s" if v.shared else "p")
        off = v.pgoff * PAGE_SIZE if v.obj is not None else 0
        name = v.name
        out.append(f"{v.start:08x}-{v.end:08x} {perms} {off:08x} 00:00 0" + (f"{'':10}{name}" if name else "")
                   + "\n")
    return "".join(out)



class _AddressSpaceFile(File):
    """A /proc/PID file whose offsets are virtual addresses of the task's mm (mem, pagemap): its own position,
    moved with SEEK_SET and SEEK_CUR (mem_lseek), and the stat of its placeholder."""

    entry = ""

    def __init__(self, k: Kernel, t: Task, flags: int) -> None:
        super().__init__(f"/proc/{t.tgid}/{self.entry}", flags)
        self.k, self.task, self.mm = k, t, t.mm
        self.pos = 0
        self.regular = False

    def lseek(self, offset: int, whence: int) -> int:
        if whence == os.SEEK_SET:
            self.pos = offset
        elif whence == os.SEEK_CUR:
            self.pos += offset
        else:
            raise KernelError(E.EINVAL)
        return self.pos

    def stat(self) -> dict[str, int]:
        return stat_fields(os.stat(os.path.join(self.k.proc_dir, str(self.task.tgid), self.entry)))


class ProcMemFile(_AddressSpaceFile):
    """/proc/PID/mem: the task's address space at file offset = virtual address, read and written through the
    model's page tables (mem_rw / access_remote_vm: a read or write stops at the first inaccessible page, and is
    EIO when it could do nothing; once the process has gone, 0). Never the emulator's memory."""

    entry = "mem"

    def _access(self, n: int, offset: int, data: bytes | None) -> bytes | int:
        from .mm import SegFault

        if self.mm.users == 0 or offset >= 1 << 32:
            return b"" if data is None else 0
        n = min(n, (1 << 32) - offset, 1 << 20)
        got = bytearray()
        done = 0
        addr = offset
        while addr < offset + n:
            chunk = min(offset + n - addr, PAGE_SIZE - (addr & (PAGE_SIZE - 1)))
            try:
                if data is None:
                    got += self.mm.read(addr, chunk, self.task.acct)
                else:
                    self.mm.write(addr, data[addr - offset:addr - offset + chunk], self.task.acct)
                done += chunk
            except SegFault:
                break
            addr += chunk
        if n and not (got if data is None else done):
            raise KernelError(E.EIO)
        return bytes(got) if data is None else done

    def read(self, n: int) -> bytes:
        out = self._access(n, self.pos, None)
        self.pos += len(out)
        return out

    def pread(self, n: int, offset: int) -> bytes:
        return self._access(n, offset, None)

    def write(self, data: bytes) -> int:
        done = self._access(len(data), self.pos, data)
        self.pos += done
        return done

    def pwrite(self, data: bytes, offset: int) -> int:
        return self._access(len(data), offset, data)


PM_PRESENT, PM_FILE, PM_MMAP_EXCLUSIVE, PM_SOFT_DIRTY = 1 << 63, 1 << 61, 1 << 56, 1 << 55
PM_PFN_MASK = (1 << 55) - 1


class PagemapFile(_AddressSpaceFile):
    """/proc/PID/pagemap (fs/proc/task_mmu.c, pagemap_read): one 64-bit entry per virtual page, at file offset
    vpn * 8, from the model's page tables: bit 63 present, bits 0-54 the frame number (the caller is root, so
    it is shown), bit 61 a file page or shared anonymous page, bit 56 mapped by this process alone, bit 55
    soft-dirty (the page was written). Offsets and counts must be multiples of 8 (EINVAL)."""

    entry = "pagemap"

    def _entries(self, n: int, offset: int) -> bytes:
        from .mm import PTE_D, PTE_FRAME, PTE_P, TASK_SIZE

        if offset % 8 or n % 8:
            raise KernelError(E.EINVAL)
        end_vpn = TASK_SIZE // PAGE_SIZE
        first = offset // 8
        count = max(0, min(n // 8, end_vpn - first, 1 << 17))
        out = bytearray(count * 8)
        mm = self.mm
        if mm.users == 0:
            return b""
        refcount = self.k.pool.refcount
        for v in mm.vmas_in(first * PAGE_SIZE, (first + count) * PAGE_SIZE):
            lo, hi = max(v.start // PAGE_SIZE, first), min(v.end // PAGE_SIZE, first + count)
            file_like = v.obj is not None or v.shared
            for vpn in range(lo, hi):
                pte = mm.pte(vpn * PAGE_SIZE)
                if not pte & PTE_P:
                    continue
                frame = (pte & PTE_FRAME) >> 12
                e = PM_PRESENT | (frame & PM_PFN_MASK)
                if file_like:
                    e |= PM_FILE
                # mapped once (page_mapcount == 1): the references less the one a file or shmem object holds
                cached = v.obj is not None and v.obj.pages.get(v.page_index(vpn * PAGE_SIZE)) == frame
                if refcount[frame] - cached == 1:
                    e |= PM_MMAP_EXCLUSIVE
                if pte & PTE_D:
                    e |= PM_SOFT_DIRTY
                struct.pack_into("<Q", out, (vpn - first) * 8, e)
        return bytes(out)

    def read(self, n: int) -> bytes:
        out = self._entries(n, self.pos)
        self.pos += len(out)
        return out

    def pread(self, n: int, offset: int) -> bytes:
        return self._entries(n, offset)
