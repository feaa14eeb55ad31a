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
import stat as pystat
import struct
import sys

from kernel_model.abi import clone_flags_str, errno_name, signal_name, strerror
from kernel_model.mm import FAULT_NAMES, TASK_SIZE, SegFault
from kernel_model.ptregs import PT_REGS_FIELDS


MAX_STR = 32  # strace -s default
PATH_MAX = 4096
RESULT_COLUMN = 39  # strace pads `name(args)` to this column before " = "

# ---- trace classes (strace's TRACE_PROCESS / TRACE_MEMORY / TRACE_FILE flags, src/linux/i386/syscallent.h,
# restricted to the syscalls the kernel model implements) -----------------------------------------------------

CLASSES: dict[str, frozenset[str]] = {
    "process": frozenset({"exit", "fork", "waitpid", "execve", "kill", "wait4", "clone", "vfork", "tkill",
                          "exit_group", "tgkill", "waitid", "clone3"}),
    "memory": frozenset({"brk", "mmap", "munmap", "mprotect", "mremap", "madvise", "mmap2"}),
    "file": frozenset({"open", "execve", "chdir", "access", "readlink", "getcwd", "stat64", "lstat64", "openat",
                       "fstatat64", "readlinkat", "faccessat", "faccessat2", "statx"}),
}


def parse_filter(exprs: list[str]) -> tuple[frozenset[str] | None, bool]:
    """-e expressions to (syscall names to show or None for all, show faults).

    Accepts `trace=NAME,%class,...` (also `file` for `%file`, `all`, `none`, a leading `!` to negate),
    `fault` on its own or inside a trace= list, and a bare list of names as strace does (`-e open,read`).
    """
    from kernel_model.abi import SYSCALL_NAMES

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
            elif item.lstrip("%") in CLASSES:
                chosen |= CLASSES[item.lstrip("%")]
            elif item.startswith("%"):
                raise ValueError(f"unknown syscall class {item!r} (known: %process, %memory, %file)")
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


# ---- value formatting -----------------------------------------------------------------------------------


def s32(v: int) -> int:
    """A register as a signed 32-bit int."""
    v &= 0xFFFFFFFF
    return v - (1 << 32) if v & 0x80000000 else v


def ptr(v: int) -> str:
    """A pointer as strace prints it."""
    return "NULL" if v == 0 else f"{v:#x}"


def quote(data: bytes, cut: bool) -> str:
    """strace's string_quote: C escapes, or all \\xHH when a byte is neither printable nor whitespace."""
    usehex = any(c > 0x7E or (c < 0x20 and not 9 <= c <= 13) for c in data)
    out = ['"']
    for c in data:
        if usehex:
            out.append(f"\\x{c:02x}")
        elif c in (0x22, 0x5C):
            out.append("\\" + chr(c))
        elif 9 <= c <= 13:
            out.append("\\" + "tnvfr"[c - 9])
        else:
            out.append(chr(c))
    out.append('"')
    if cut:
        out.append("...")
    return "".join(out)


def flags_str(value: int, table: list[tuple[int, str]], zero: str = "0") -> str:
    """Known bits by name, leftover bits in hex, joined with |."""
    if value == 0:
        return zero
    parts = []
    for bit, name in table:
        if bit and value & bit == bit:
            parts.append(name)
            value &= ~bit
    if value:
        parts.append(f"{value:#x}")
    return "|".join(parts)


def xlat(value: int, table: dict[int, str], unknown: str = "???") -> str:
    """A value by name, or hex with strace's /* X_??? */ comment."""
    name = table.get(value)
    return name if name is not None else f"{value:#x} /* {unknown} */"


O_FLAGS = [(0o100, "O_CREAT"), (0o200, "O_EXCL"), (0o400, "O_NOCTTY"), (0o1000, "O_TRUNC"), (0o2000, "O_APPEND"),
           (0o4000, "O_NONBLOCK"), (0o10000, "O_DSYNC"), (0o20000, "O_ASYNC"), (0o40000, "O_DIRECT"),
           (0o100000, "O_LARGEFILE"), (0o200000, "O_DIRECTORY"), (0o400000, "O_NOFOLLOW"), (0o1000000, "O_NOATIME"),
           (0o2000000, "O_CLOEXEC"), (0o4010000, "O_SYNC"), (0o10000000, "O_PATH"), (0o20200000, "O_TMPFILE")]
O_FLAGS.sort(key=lambda bn: -bin(bn[0]).count("1"))  # multi-bit flags (O_SYNC, O_TMPFILE) first


def open_flags(v: int) -> str:
    """O_RDONLY|O_CLOEXEC style."""
    acc = ("O_RDONLY", "O_WRONLY", "O_RDWR", "O_ACCMODE")[v & 3]
    rest = flags_str(v & ~3, O_FLAGS, "")
    return acc + ("|" + rest if rest else "")


PROT = [(1, "PROT_READ"), (2, "PROT_WRITE"), (4, "PROT_EXEC"), (0x01000000, "PROT_GROWSDOWN"),
        (0x02000000, "PROT_GROWSUP")]
MAP_TYPE = {1: "MAP_SHARED", 2: "MAP_PRIVATE", 3: "MAP_SHARED_VALIDATE"}
MAP_FLAGS = [(0x10, "MAP_FIXED"), (0x20, "MAP_ANONYMOUS"), (0x40, "MAP_32BIT"), (0x100, "MAP_GROWSDOWN"),
             (0x800, "MAP_DENYWRITE"), (0x1000, "MAP_EXECUTABLE"), (0x2000, "MAP_LOCKED"), (0x4000, "MAP_NORESERVE"),
             (0x8000, "MAP_POPULATE"), (0x10000, "MAP_NONBLOCK"), (0x20000, "MAP_STACK"), (0x40000, "MAP_HUGETLB"),
             (0x80000, "MAP_SYNC"), (0x100000, "MAP_FIXED_NOREPLACE"), (0x4000000, "MAP_UNINITIALIZED")]
MREMAP = [(1, "MREMAP_MAYMOVE"), (2, "MREMAP_FIXED"), (4, "MREMAP_DONTUNMAP")]
MADV = {0: "MADV_NORMAL", 1: "MADV_RANDOM", 2: "MADV_SEQUENTIAL", 3: "MADV_WILLNEED", 4: "MADV_DONTNEED",
        8: "MADV_FREE", 9: "MADV_REMOVE", 10: "MADV_DONTFORK", 11: "MADV_DOFORK", 12: "MADV_MERGEABLE",
        13: "MADV_UNMERGEABLE", 14: "MADV_HUGEPAGE", 15: "MADV_NOHUGEPAGE", 16: "MADV_DONTDUMP", 17: "MADV_DODUMP"}
AT_FLAGS = [(0x100, "AT_SYMLINK_NOFOLLOW"), (0x200, "AT_REMOVEDIR"), (0x400, "AT_SYMLINK_FOLLOW"),
            (0x800, "AT_NO_AUTOMOUNT"), (0x1000, "AT_EMPTY_PATH")]
STATX_SYNC = {0: "AT_STATX_SYNC_AS_STAT", 0x2000: "AT_STATX_FORCE_SYNC", 0x4000: "AT_STATX_DONT_SYNC"}
STATX_MASK = [(0x7FF, "STATX_BASIC_STATS"), (0x1, "STATX_TYPE"), (0x2, "STATX_MODE"), (0x4, "STATX_NLINK"),
              (0x8, "STATX_UID"), (0x10, "STATX_GID"), (0x20, "STATX_ATIME"), (0x40, "STATX_MTIME"),
              (0x80, "STATX_CTIME"), (0x100, "STATX_INO"), (0x200, "STATX_SIZE"), (0x400, "STATX_BLOCKS"),
              (0x800, "STATX_BTIME"), (0x1000, "STATX_MNT_ID"), (0x2000, "STATX_DIOALIGN")]
ACCESS = [(4, "R_OK"), (2, "W_OK"), (1, "X_OK")]
WAIT_OPTS = [(1, "WNOHANG"), (2, "WSTOPPED"), (4, "WEXITED"), (8, "WCONTINUED"), (0x01000000, "WNOWAIT"),
             (0x20000000, "__WNOTHREAD"), (0x40000000, "__WALL"), (0x80000000, "__WCLONE")]
IDTYPE = {0: "P_ALL", 1: "P_PID", 2: "P_PGID", 3: "P_PIDFD"}
SEEK = {0: "SEEK_SET", 1: "SEEK_CUR", 2: "SEEK_END", 3: "SEEK_DATA", 4: "SEEK_HOLE"}
RLIMITS = {0: "RLIMIT_CPU", 1: "RLIMIT_FSIZE", 2: "RLIMIT_DATA", 3: "RLIMIT_STACK", 4: "RLIMIT_CORE",
           5: "RLIMIT_RSS", 6: "RLIMIT_NPROC", 7: "RLIMIT_NOFILE", 8: "RLIMIT_MEMLOCK", 9: "RLIMIT_AS",
           10: "RLIMIT_LOCKS", 11: "RLIMIT_SIGPENDING", 12: "RLIMIT_MSGQUEUE", 13: "RLIMIT_NICE",
           14: "RLIMIT_RTPRIO", 15: "RLIMIT_RTTIME"}
GRND = [(1, "GRND_NONBLOCK"), (2, "GRND_RANDOM"), (4, "GRND_INSECURE")]
CLOCKS = {0: "CLOCK_REALTIME", 1: "CLOCK_MONOTONIC", 2: "CLOCK_PROCESS_CPUTIME_ID", 3: "CLOCK_THREAD_CPUTIME_ID",
          4: "CLOCK_MONOTONIC_RAW", 5: "CLOCK_REALTIME_COARSE", 6: "CLOCK_MONOTONIC_COARSE", 7: "CLOCK_BOOTTIME",
          8: "CLOCK_REALTIME_ALARM", 9: "CLOCK_BOOTTIME_ALARM", 11: "CLOCK_TAI"}
SIGPROCMASK_HOW = {0: "SIG_BLOCK", 1: "SIG_UNBLOCK", 2: "SIG_SETMASK"}
SA_FLAGS = [(0x04000000, "SA_RESTORER"), (0x08000000, "SA_ONSTACK"), (0x10000000, "SA_RESTART"),
            (0x40000000, "SA_NODEFER"), (0x80000000, "SA_RESETHAND"), (0x00000004, "SA_SIGINFO"),
            (0x00000001, "SA_NOCLDSTOP"), (0x00000002, "SA_NOCLDWAIT")]  # strace's xlat order
IOCTLS = {0x5401: "TCGETS", 0x5413: "TIOCGWINSZ", 0x540F: "TIOCGPGRP", 0x541B: "FIONREAD", 0x5402: "TCSETS"}
FCNTL = {0: "F_DUPFD", 1: "F_GETFD", 2: "F_SETFD", 3: "F_GETFL", 4: "F_SETFL", 5: "F_GETLK", 6: "F_SETLK",
         7: "F_SETLKW", 1030: "F_DUPFD_CLOEXEC", 12: "F_GETLK64", 13: "F_SETLK64", 14: "F_SETLKW64"}
FUTEX_CMDS = {0: "FUTEX_WAIT", 1: "FUTEX_WAKE", 2: "FUTEX_FD", 3: "FUTEX_REQUEUE", 4: "FUTEX_CMP_REQUEUE",
              5: "FUTEX_WAKE_OP", 6: "FUTEX_LOCK_PI", 7: "FUTEX_UNLOCK_PI", 8: "FUTEX_TRYLOCK_PI",
              9: "FUTEX_WAIT_BITSET", 10: "FUTEX_WAKE_BITSET", 11: "FUTEX_WAIT_REQUEUE_PI",
              12: "FUTEX_CMP_REQUEUE_PI", 13: "FUTEX_LOCK_PI2"}
ARCH_PRCTL = {0x1001: "ARCH_SET_GS", 0x1002: "ARCH_SET_FS", 0x1003: "ARCH_GET_FS", 0x1004: "ARCH_GET_GS",
              0x1011: "ARCH_GET_CPUID", 0x1012: "ARCH_SET_CPUID"}
S_IFMT = {pystat.S_IFREG: "S_IFREG", pystat.S_IFDIR: "S_IFDIR", pystat.S_IFCHR: "S_IFCHR",
          pystat.S_IFBLK: "S_IFBLK", pystat.S_IFIFO: "S_IFIFO", pystat.S_IFLNK: "S_IFLNK",
          pystat.S_IFSOCK: "S_IFSOCK"}
SEGV_CODES = {1: "SEGV_MAPERR", 2: "SEGV_ACCERR"}
CLD_CODES = {1: "CLD_EXITED", 2: "CLD_KILLED", 3: "CLD_DUMPED"}


def mode_str(mode: int) -> str:
    """st_mode as S_IFREG|0644."""
    kind = S_IFMT.get(pystat.S_IFMT(mode))
    perm = f"{mode & 0o7777:04o}"
    return f"{kind}|{perm}" if kind else perm


def signame_short(sig: int) -> str:
    """A signal name without SIG, as in strace's signal sets."""
    name = signal_name(sig)
    return name[3:] if name.startswith("SIG") else name


def sigset_str(mask: int, nsig: int = 64) -> str:
    """[CHLD USR1], or ~[...] when more than half the signals are set, as strace prints sigsets."""
    bits = [s for s in range(1, nsig + 1) if mask >> (s - 1) & 1]
    if len(bits) > nsig // 2:
        missing = [s for s in range(1, nsig + 1) if not mask >> (s - 1) & 1]
        return "~[" + " ".join(signame_short(s) for s in missing) + "]"
    return "[" + " ".join(signame_short(s) for s in bits) + "]"


def rlim_str(v: int, bits: int = 32) -> str:
    """An rlimit value: RLIM_INFINITY, N*1024 or N."""
    if v == (1 << bits) - 1:
        return "RLIM64_INFINITY" if bits == 64 else "RLIM_INFINITY"
    if v and v % 1024 == 0:
        return f"{v // 1024}*1024"
    return str(v)


def wait_status_str(st: int) -> str:
    """A wait status as strace decodes it."""
    sig = st & 0x7F
    if sig == 0:
        return f"{{WIFEXITED(s) && WEXITSTATUS(s) == {(st >> 8) & 0xFF}}}"
    if sig == 0x7F:
        return f"{{WIFSTOPPED(s) && WSTOPSIG(s) == {signal_name((st >> 8) & 0xFF)}}}"
    core = " && WCOREDUMP(s)" if st & 0x80 else ""
    return f"{{WIFSIGNALED(s) && WTERMSIG(s) == {signal_name(sig)}{core}}}"


def exit_line(status: int) -> str:
    """+++ exited with N +++ or +++ killed by SIG +++."""
    sig = status & 0x7F
    if sig == 0:
        return f"+++ exited with {(status >> 8) & 0xFF} +++"
    core = " (core dumped)" if status & 0x80 else ""
    return f"+++ killed by {signal_name(sig)}{core} +++"


# ---- reading guest memory (MM.peek only) ------------------------------------------------------------------


class Mem:
    """Side-effect-free reads of one task's memory."""

    def __init__(self, task) -> None:
        self.mm = task.mm

    def read(self, addr: int, n: int) -> bytes | None:
        """n bytes or None when any is unreadable."""
        if self.mm is None or addr <= 0 or addr + n > TASK_SIZE:
            return None
        try:
            return self.mm.peek(addr, n)
        except SegFault:
            return None

    def read_upto(self, addr: int, n: int) -> bytes:
        """As many of n bytes as are readable, page by page."""
        out = b""
        while len(out) < n:
            a = addr + len(out)
            chunk = min(n - len(out), 4096 - (a & 4095))
            got = self.read(a, chunk)
            if got is None:
                break
            out += got
        return out

    def cstring(self, addr: int, limit: int = MAX_STR) -> tuple[bytes, bool] | None:
        """(string, cut) of at most limit bytes, or None when unreadable."""
        if addr == 0:
            return None
        data = self.read_upto(addr, limit + 1)
        if not data:
            return None
        nul = data.find(b"\0")
        if nul >= 0:
            return data[:nul], False
        if len(data) <= limit:
            return None  # runs into unreadable memory without a NUL
        return data[:limit], True

    def u32(self, addr: int) -> int | None:
        """A 32-bit word."""
        raw = self.read(addr, 4)
        return None if raw is None else struct.unpack("<I", raw)[0]


def str_arg(mem: Mem, addr: int, limit: int = MAX_STR) -> str:
    """A NUL-terminated string argument."""
    got = mem.cstring(addr, limit)
    return ptr(addr) if got is None else quote(*got)


def buf_arg(mem: Mem, addr: int, n: int) -> str:
    """A buffer of known length, cut at 32 bytes."""
    if n <= 0:
        return '""' if addr else ptr(addr)
    data = mem.read(addr, min(n, MAX_STR))
    return ptr(addr) if data is None else quote(data, n > MAX_STR)


def struct_or_ptr(mem: Mem, addr: int, size: int, fmt_fn) -> str:
    """A struct decoded by fmt_fn(raw), or its address when unreadable."""
    raw = mem.read(addr, size) if addr else None
    return ptr(addr) if raw is None else fmt_fn(raw)


# ---- per-syscall decoders -----------------------------------------------------------------------------------
# A spec is a list of (phase, fn): phase "in" args are decoded at entry (before the kernel changes anything),
# "out" args at exit, fn(ctx) -> str. strace prints the in-args before the first out-arg at entry; the rest at
# exit (that split is what `<unfinished ...>` shows).


class Ctx:
    """What a decoder sees: the task's memory, the six arguments and (at exit) the result."""

    __slots__ = ("mem", "a", "res", "task", "tracer")

    def __init__(self, tracer, task, args) -> None:
        self.tracer = tracer
        self.task = task
        self.mem = Mem(task)
        self.a = args
        self.res: int | None = None

    @property
    def failed(self) -> bool:
        return self.res is None or -4096 < self.res < 0


def IN(fn):
    return ("in", fn)


def OUT(fn):
    return ("out", fn)


def d(i):
    return IN(lambda c: str(s32(c.a[i])))


def u(i):
    return IN(lambda c: str(c.a[i] & 0xFFFFFFFF))


def x(i):
    return IN(lambda c: f"{c.a[i]:#x}")


def p(i):
    return IN(lambda c: ptr(c.a[i]))


def path(i):
    """A path: strace prints it whole (up to PATH_MAX), not cut at -s."""
    return IN(lambda c: str_arg(c.mem, c.a[i], PATH_MAX))


def dirfd(i):
    return IN(lambda c: "AT_FDCWD" if s32(c.a[i]) == -100 else str(s32(c.a[i])))


def outbuf(i, string: bool = False):
    """An output buffer whose length is the result (read, readlink, getrandom)."""
    def fn(c):
        if c.failed:
            return ptr(c.a[i])
        return buf_arg(c.mem, c.a[i], c.res)
    return OUT(fn)


def timespec(raw: bytes, time64: bool = False) -> str:
    sec, nsec = struct.unpack("<qq" if time64 else "<iI", raw)
    return f"{{tv_sec={sec}, tv_nsec={nsec}}}"


def ts_in(i, time64=False):
    return IN(lambda c: struct_or_ptr(c.mem, c.a[i], 16 if time64 else 8, lambda r: timespec(r, time64)))


def ts_out(i, time64=False):
    return OUT(lambda c: ptr(c.a[i]) if c.failed or not c.a[i] else
               struct_or_ptr(c.mem, c.a[i], 16 if time64 else 8, lambda r: timespec(r, time64)))


def stat64_str(raw: bytes) -> str:
    mode = struct.unpack_from("<I", raw, 16)[0]
    rdev = struct.unpack_from("<Q", raw, 32)[0]
    size = struct.unpack_from("<q", raw, 44)[0]
    if pystat.S_ISCHR(mode) or pystat.S_ISBLK(mode):
        major, minor = (rdev >> 8) & 0xFFF, (rdev & 0xFF) | ((rdev >> 12) & 0xFFF00)
        return f"{{st_mode={mode_str(mode)}, st_rdev=makedev({major:#x}, {minor:#x}), ...}}"
    return f"{{st_mode={mode_str(mode)}, st_size={size}, ...}}"


def statx_str(raw: bytes) -> str:
    mask, attrs = struct.unpack_from("<I", raw, 0)[0], struct.unpack_from("<Q", raw, 8)[0]
    mode = struct.unpack_from("<H", raw, 28)[0]
    size = struct.unpack_from("<Q", raw, 40)[0]
    return (f"{{stx_mask={flags_str(mask, STATX_MASK)}, stx_attributes={attrs:#x}, stx_mode={mode_str(mode)}, "
            f"stx_size={size}, ...}}").replace("stx_attributes=0x0,", "stx_attributes=0,")


def stat_out(i, size=96, fn=stat64_str):
    return OUT(lambda c: ptr(c.a[i]) if c.failed else struct_or_ptr(c.mem, c.a[i], size, fn))


def user_desc_str(raw: bytes, entry_override: int | None = None) -> str:
    entry, base, limit, bits = struct.unpack("<iIII", raw)
    return (f"{{entry_number={entry}, base_addr={base:#x}, limit={limit:#08x}, seg_32bit={bits & 1}, "
            f"contents={(bits >> 1) & 3}, read_exec_only={(bits >> 3) & 1}, limit_in_pages={(bits >> 4) & 1}, "
            f"seg_not_present={(bits >> 5) & 1}, useable={(bits >> 6) & 1}}}")


def sigaction_str(raw: bytes, old_layout: bool = False) -> str:
    if old_layout:
        handler, mask, flags, restorer = struct.unpack("<IIII", raw)
    else:
        handler, flags, restorer, mask = struct.unpack("<IIIQ", raw)
    h = {0: "SIG_DFL", 1: "SIG_IGN"}.get(handler, f"{handler:#x}")
    out = f"{{sa_handler={h}, sa_mask={sigset_str(mask)}, sa_flags={flags_str(flags, SA_FLAGS)}"
    if flags & 0x04000000:
        out += f", sa_restorer={restorer:#x}"
    return out + "}"


def iovec_str(c: Ctx, addr: int, cnt: int, total: int | None) -> str:
    raw = c.mem.read(addr, 8 * cnt) if cnt <= 1024 else None
    if raw is None:
        return ptr(addr)
    parts = []
    left = total
    for k in range(cnt):
        base, n = struct.unpack_from("<II", raw, 8 * k)
        shown = n if left is None else max(0, min(n, left))
        if left is not None:
            left -= shown
        parts.append(f"{{iov_base={buf_arg(c.mem, base, shown) if shown or n == 0 else ptr(base)}, iov_len={n}}}")
    return "[" + ", ".join(parts) + "]"


def siginfo_chld_str(raw: bytes) -> str:
    signo, _errno, code, pid, uid, status = struct.unpack_from("<iiiiIi", raw)
    if signo == 0:
        return "{}"
    st = signal_name(status) if code in (2, 3) else str(status)
    return (f"{{si_signo={signal_name(signo)}, si_code={CLD_CODES.get(code, code)}, si_pid={pid}, si_uid={uid}, "
            f"si_status={st}, si_utime=0, si_stime=0}}")


def _clone_args(c: Ctx) -> str:
    flags = c.a[0]
    out = [f"child_stack={ptr(c.a[1])}", f"flags={clone_flags_str(flags)}"]
    if flags & 0x00100000:  # CLONE_PARENT_SETTID
        v = c.mem.u32(c.a[2]) if not c.failed else None
        out.append(f"parent_tid=[{v}]" if v is not None else f"parent_tid={ptr(c.a[2])}")
    if flags & 0x00080000:  # CLONE_SETTLS
        out.append("tls=" + struct_or_ptr(c.mem, c.a[3], 16, user_desc_str))
    if flags & (0x01000000 | 0x00200000):  # CLONE_CHILD_SETTID | CLONE_CHILD_CLEARTID
        out.append(f"child_tidptr={ptr(c.a[4])}")
    return ", ".join(out)


def _clone3_args(c: Ctx) -> str:
    raw = c.mem.read(c.a[0], 64)
    if raw is None:
        return ptr(c.a[0])
    flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls = struct.unpack("<8Q", raw)
    parts = [f"flags={flags_str(flags, [(b, n) for b, n in _clone_table()])}"]
    if flags & 0x1000:  # CLONE_PIDFD
        parts.append(f"pidfd={ptr(pidfd)}")
    if flags & (0x01000000 | 0x00200000):
        parts.append(f"child_tid={ptr(child_tid)}")
    if flags & 0x00100000:
        parts.append(f"parent_tid={ptr(parent_tid)}")
    parts.append(f"exit_signal={signal_name(exit_signal) if exit_signal else 0}")
    parts.append(f"stack={ptr(stack)}")
    parts.append(f"stack_size={stack_size:#x}")
    if flags & 0x00080000:
        parts.append("tls=" + struct_or_ptr(c.mem, tls, 16, user_desc_str))
    out = "{" + ", ".join(parts) + "}"
    if not c.failed and flags & 0x00100000:
        v = c.mem.u32(parent_tid)
        if v is not None:
            out += f" => {{parent_tid=[{v}]}}"
    return out


def _clone_table():
    from kernel_model.abi import _STRACE_CLONE_FLAGS

    return _STRACE_CLONE_FLAGS


def _execve_args(c: Ctx) -> str:
    mem = c.mem
    argv = []
    addr = c.a[1]
    ok = True
    while addr and len(argv) < 4096:
        v = mem.u32(addr)
        if v is None:
            ok = False
            break
        if v == 0:
            break
        argv.append(str_arg(mem, v))
        addr += 4
    argv_s = ("[" + ", ".join(argv) + "]") if c.a[1] and ok else ptr(c.a[1])
    nenv = 0
    addr = c.a[2]
    while addr:
        v = mem.u32(addr)
        if not v:
            break
        nenv += 1
        addr += 4
    env_s = f"{ptr(c.a[2])} /* {nenv} var{'s' if nenv != 1 else ''} */" if c.a[2] else "NULL"
    return f"{str_arg(mem, c.a[0], PATH_MAX)}, {argv_s}, {env_s}"


def _mmap_args(addr, length, prot, flags, fd, off) -> str:
    mtype = MAP_TYPE.get(flags & 3, f"{flags & 3:#x} /* MAP_??? */")
    rest = flags_str(flags & ~3, MAP_FLAGS, "")
    return (f"{ptr(addr)}, {length}, {flags_str(prot, PROT, 'PROT_NONE')}, {mtype}{'|' + rest if rest else ''}, "
            f"{s32(fd)}, {off:#x}" if off else
            f"{ptr(addr)}, {length}, {flags_str(prot, PROT, 'PROT_NONE')}, {mtype}{'|' + rest if rest else ''}, "
            f"{s32(fd)}, 0")


def _old_mmap(c: Ctx) -> str:
    raw = c.mem.read(c.a[0], 24)
    if raw is None:
        return ptr(c.a[0])
    return _mmap_args(*struct.unpack("<6I", raw))


def _wait_status(i):
    def fn(c):
        if c.failed or c.res == 0 or not c.a[i]:
            return ptr(c.a[i])
        st = c.mem.u32(c.a[i])
        return ptr(c.a[i]) if st is None else f"[{wait_status_str(st)}]"
    return OUT(fn)


def _rusage(i):
    def fn(c):
        if c.failed or c.res == 0 or not c.a[i]:
            return ptr(c.a[i])
        return "{ru_utime={tv_sec=0, tv_usec=0}, ru_stime={tv_sec=0, tv_usec=0}, ...}"
    return OUT(fn)


def _futex(c: Ctx, time64: bool) -> str:
    uaddr, op, val, utime, uaddr2, val3 = c.a
    cmd = op & 0x7F
    name = FUTEX_CMDS.get(cmd, f"{cmd:#x}")
    if op & 128:
        name += "_PRIVATE"
    if op & 256:
        name += "|FUTEX_CLOCK_REALTIME"
    out = [ptr(uaddr), name, str(s32(val))]
    tsz = 16 if time64 else 8
    if cmd in (0, 9, 11):  # WAIT, WAIT_BITSET, WAIT_REQUEUE_PI
        out.append(struct_or_ptr(c.mem, utime, tsz, lambda r: timespec(r, time64)))
        if cmd == 9:
            out.append("FUTEX_BITSET_MATCH_ANY" if val3 == 0xFFFFFFFF else f"{val3:#x}")
    elif cmd == 10:
        out += [ptr(utime), ptr(uaddr2), "FUTEX_BITSET_MATCH_ANY" if val3 == 0xFFFFFFFF else f"{val3:#x}"]
    elif cmd in (3, 4):
        out += [str(s32(utime)), ptr(uaddr2)]
        if cmd == 4:
            out.append(str(s32(val3)))
    return ", ".join(out)


def _rlimit_out(i, bits=32):
    fmt = "<II" if bits == 32 else "<QQ"
    size = 8 if bits == 32 else 16

    def fn(c):
        if c.failed:
            return ptr(c.a[i])
        return struct_or_ptr(c.mem, c.a[i], size, lambda r: "{rlim_cur=%s, rlim_max=%s}" % tuple(
            rlim_str(v, bits) for v in struct.unpack(fmt, r)))
    return OUT(fn)


def _rlimit_in(i, bits=32):
    fmt = "<II" if bits == 32 else "<QQ"
    size = 8 if bits == 32 else 16
    return IN(lambda c: struct_or_ptr(c.mem, c.a[i], size, lambda r: "{rlim_cur=%s, rlim_max=%s}" % tuple(
        rlim_str(v, bits) for v in struct.unpack(fmt, r))))


def _ioctl_arg(c: Ctx) -> str:
    cmd, arg = c.a[1], c.a[2]
    if not c.failed:
        if cmd == 0x5413:
            return struct_or_ptr(c.mem, arg, 8, lambda r: "{ws_row=%d, ws_col=%d, ws_xpixel=%d, ws_ypixel=%d}"
                                 % struct.unpack("<4H", r))
        if cmd in (0x540F, 0x541B):
            v = c.mem.u32(arg)
            return f"[{s32(v)}]" if v is not None else ptr(arg)
    return ptr(arg)


def _uname(raw: bytes) -> str:
    f = [raw[k * 65:(k + 1) * 65].split(b"\0")[0] for k in range(6)]
    return f"{{sysname={quote(f[0], False)}, nodename={quote(f[1], False)}, ...}}"


def _sigaltstack(raw: bytes) -> str:
    sp, flags, size = struct.unpack("<IiI", raw)
    fl = {0: "0", 1: "SS_ONSTACK", 2: "SS_DISABLE"}.get(flags, f"{flags:#x}")
    return f"{{ss_sp={ptr(sp)}, ss_flags={fl}, ss_size={size}}}"


def _mode(i):
    return IN(lambda c: f"{c.a[i]:#03o}")


def _open_args(c: Ctx, fl: int, mode: int) -> list[str]:
    out = [open_flags(fl)]
    if fl & 0o100 or fl & 0o20200000 == 0o20200000:
        out.append(f"{mode:#03o}")
    return out


SPECS: dict[str, list] = {
    "exit": [d(0)], "exit_group": [d(0)], "fork": [], "vfork": [],
    "clone": [OUT(_clone_args)], "clone3": [OUT(_clone3_args), u(1)],
    "execve": [IN(_execve_args)],
    "wait4": [d(0), _wait_status(1), IN(lambda c: flags_str(c.a[2], WAIT_OPTS)), _rusage(3)],
    "waitpid": [d(0), _wait_status(1), IN(lambda c: flags_str(c.a[2], WAIT_OPTS))],
    "waitid": [IN(lambda c: xlat(c.a[0], IDTYPE, "P_???")), d(1),
               OUT(lambda c: ptr(c.a[2]) if c.failed else struct_or_ptr(c.mem, c.a[2], 128, siginfo_chld_str)),
               IN(lambda c: flags_str(c.a[3], WAIT_OPTS)), _rusage(4)],
    "getpid": [], "gettid": [], "getppid": [], "getuid": [], "getuid32": [], "geteuid": [], "geteuid32": [],
    "getgid": [], "getgid32": [], "getegid": [], "getegid32": [], "getpgrp": [], "setsid": [], "sched_yield": [],
    "getpgid": [d(0)], "getsid": [d(0)], "setpgid": [d(0), d(1)],
    "set_tid_address": [p(0)], "set_robust_list": [p(0), u(1)],
    "rseq": [p(0), x(1), d(2), x(3)],
    "arch_prctl": [IN(lambda c: xlat(c.a[0], ARCH_PRCTL, "ARCH_???")), p(1)],
    "set_thread_area": [IN(lambda c: struct_or_ptr(c.mem, c.a[0], 16, user_desc_str))],
    "get_thread_area": [OUT(lambda c: ptr(c.a[0]) if c.failed else
                            struct_or_ptr(c.mem, c.a[0], 16, user_desc_str))],
    "uname": [OUT(lambda c: ptr(c.a[0]) if c.failed else struct_or_ptr(c.mem, c.a[0], 390, _uname))],
    "brk": [p(0)],
    "mmap2": [IN(lambda c: _mmap_args(*c.a[:5], c.a[5] * 4096))],
    "mmap": [IN(_old_mmap)],
    "munmap": [p(0), u(1)],
    "mprotect": [p(0), u(1), IN(lambda c: flags_str(c.a[2], PROT, "PROT_NONE"))],
    "madvise": [p(0), u(1), IN(lambda c: xlat(c.a[2], MADV, "MADV_???"))],
    "mremap": [IN(lambda c: ", ".join([ptr(c.a[0]), str(c.a[1]), str(c.a[2]), flags_str(c.a[3], MREMAP)]
                                      + ([ptr(c.a[4])] if c.a[3] & 2 else [])))],
    "read": [d(0), outbuf(1), u(2)],
    "write": [d(0), IN(lambda c: buf_arg(c.mem, c.a[1], c.a[2])), u(2)],
    "pread64": [d(0), outbuf(1), u(2), IN(lambda c: str(c.a[3] | c.a[4] << 32))],
    "readv": [d(0), OUT(lambda c: ptr(c.a[1]) if c.failed else iovec_str(c, c.a[1], c.a[2], c.res)), u(2)],
    "writev": [d(0), IN(lambda c: iovec_str(c, c.a[1], c.a[2], None)), u(2)],
    "open": [path(0), IN(lambda c: ", ".join(_open_args(c, c.a[1], c.a[2])))],
    "openat": [dirfd(0), path(1), IN(lambda c: ", ".join(_open_args(c, c.a[2], c.a[3])))],
    "close": [d(0)],
    "lseek": [d(0), d(1), IN(lambda c: xlat(c.a[2], SEEK, "SEEK_???"))],
    "_llseek": [d(0), IN(lambda c: str(s32(c.a[1]) << 32 | c.a[2])),
                OUT(lambda c: ptr(c.a[3]) if c.failed else struct_or_ptr(
                    c.mem, c.a[3], 8, lambda r: f"[{struct.unpack('<q', r)[0]}]")),
                IN(lambda c: xlat(c.a[4], SEEK, "SEEK_???"))],
    "dup": [d(0)], "dup2": [d(0), d(1)],
    "dup3": [d(0), d(1), IN(lambda c: flags_str(c.a[2], [(0o2000000, "O_CLOEXEC")]))],
    "fcntl": None, "fcntl64": None,  # filled below
    "fstat64": [d(0), stat_out(1)],
    "stat64": [path(0), stat_out(1)],
    "lstat64": [path(0), stat_out(1)],
    "fstatat64": [dirfd(0), path(1), stat_out(2), IN(lambda c: flags_str(c.a[3], AT_FLAGS))],
    "statx": [dirfd(0), path(1),
              IN(lambda c: "|".join(filter(None, [STATX_SYNC.get(c.a[2] & 0x6000, ""),
                                                  flags_str(c.a[2] & ~0x6000, AT_FLAGS, "")]))),
              IN(lambda c: flags_str(c.a[3], STATX_MASK)), stat_out(4, 256, statx_str)],
    "access": [path(0), IN(lambda c: flags_str(c.a[1], ACCESS, "F_OK"))],
    "faccessat": [dirfd(0), path(1), IN(lambda c: flags_str(c.a[2], ACCESS, "F_OK"))],
    "faccessat2": [dirfd(0), path(1), IN(lambda c: flags_str(c.a[2], ACCESS, "F_OK")),
                   IN(lambda c: flags_str(c.a[3], AT_FLAGS))],
    "readlink": [path(0), outbuf(1), u(2)],
    "readlinkat": [dirfd(0), path(1), outbuf(2), u(3)],
    "getcwd": [OUT(lambda c: ptr(c.a[0]) if c.failed else buf_arg(c.mem, c.a[0], max(0, c.res - 1))), u(1)],
    "chdir": [path(0)],
    "umask": [_mode(0)],
    "ioctl": [d(0), IN(lambda c: xlat(c.a[1], IOCTLS, "_IOC(???)")), OUT(_ioctl_arg)],
    "clock_gettime": [IN(lambda c: xlat(c.a[0], CLOCKS, "CLOCK_???")), ts_out(1)],
    "clock_gettime64": [IN(lambda c: xlat(c.a[0], CLOCKS, "CLOCK_???")), ts_out(1, True)],
    "clock_getres": [IN(lambda c: xlat(c.a[0], CLOCKS, "CLOCK_???")), ts_out(1)],
    "clock_getres_time64": [IN(lambda c: xlat(c.a[0], CLOCKS, "CLOCK_???")), ts_out(1, True)],
    "gettimeofday": [OUT(lambda c: ptr(c.a[0]) if c.failed else struct_or_ptr(
        c.mem, c.a[0], 8, lambda r: "{tv_sec=%d, tv_usec=%d}" % struct.unpack("<iI", r))), p(1)],
    "time": [OUT(lambda c: ptr(c.a[0]) if c.failed or not c.a[0] else f"[{c.mem.u32(c.a[0])}]")],
    "nanosleep": [ts_in(0), p(1)],
    "clock_nanosleep": [IN(lambda c: xlat(c.a[0], CLOCKS, "CLOCK_???")),
                        IN(lambda c: "TIMER_ABSTIME" if c.a[1] == 1 else str(c.a[1])), ts_in(2), p(3)],
    "clock_nanosleep_time64": [IN(lambda c: xlat(c.a[0], CLOCKS, "CLOCK_???")),
                               IN(lambda c: "TIMER_ABSTIME" if c.a[1] == 1 else str(c.a[1])), ts_in(2, True), p(3)],
    "prlimit64": [d(0), IN(lambda c: xlat(c.a[1], RLIMITS, "RLIMIT_???")), _rlimit_in(2, 64), _rlimit_out(3, 64)],
    "ugetrlimit": [IN(lambda c: xlat(c.a[0], RLIMITS, "RLIMIT_???")), _rlimit_out(1)],
    "getrlimit": [IN(lambda c: xlat(c.a[0], RLIMITS, "RLIMIT_???")), _rlimit_out(1)],
    "setrlimit": [IN(lambda c: xlat(c.a[0], RLIMITS, "RLIMIT_???")), _rlimit_in(1)],
    "getrandom": [outbuf(0), u(1), IN(lambda c: flags_str(c.a[2], GRND))],
    "rt_sigaction": [IN(lambda c: signal_name(c.a[0])),
                     IN(lambda c: struct_or_ptr(c.mem, c.a[1], 20, sigaction_str)),
                     OUT(lambda c: ptr(c.a[2]) if c.failed else struct_or_ptr(c.mem, c.a[2], 20, sigaction_str)),
                     u(3)],
    "sigaction": [IN(lambda c: signal_name(c.a[0])),
                  IN(lambda c: struct_or_ptr(c.mem, c.a[1], 16, lambda r: sigaction_str(r, True))),
                  OUT(lambda c: ptr(c.a[2]) if c.failed else struct_or_ptr(
                      c.mem, c.a[2], 16, lambda r: sigaction_str(r, True)))],
    "rt_sigprocmask": [IN(lambda c: xlat(c.a[0], SIGPROCMASK_HOW, "SIG_???")),
                       IN(lambda c: struct_or_ptr(c.mem, c.a[1], 8, lambda r: sigset_str(struct.unpack("<Q", r)[0]))),
                       OUT(lambda c: ptr(c.a[2]) if c.failed else struct_or_ptr(
                           c.mem, c.a[2], 8, lambda r: sigset_str(struct.unpack("<Q", r)[0]))), u(3)],
    "sigaltstack": [IN(lambda c: struct_or_ptr(c.mem, c.a[0], 12, _sigaltstack)),
                    OUT(lambda c: ptr(c.a[1]) if c.failed else struct_or_ptr(c.mem, c.a[1], 12, _sigaltstack))],
    "kill": [d(0), IN(lambda c: signal_name(c.a[1]))],
    "tkill": [d(0), IN(lambda c: signal_name(c.a[1]))],
    "tgkill": [d(0), d(1), IN(lambda c: signal_name(c.a[2]))],
    "futex": [IN(lambda c: _futex(c, False))],
    "futex_time64": [IN(lambda c: _futex(c, True))],
}


def _fcntl(c: Ctx) -> str:
    fd, cmd, arg = s32(c.a[0]), c.a[1], c.a[2]
    name = xlat(cmd, FCNTL, "F_???")
    if cmd in (1, 3):
        return f"{fd}, {name}"
    if cmd == 2:
        return f"{fd}, {name}, {'FD_CLOEXEC' if arg == 1 else arg}"
    if cmd == 4:
        return f"{fd}, {name}, {open_flags(arg)}"
    return f"{fd}, {name}, {s32(arg)}"


SPECS["fcntl"] = SPECS["fcntl64"] = [IN(_fcntl)]

HEX_RESULT = {"brk", "mmap", "mmap2", "mremap"}
NO_RETURN = {"exit", "exit_group"}


def result_str(name: str, res: int, ctx: Ctx | None) -> str:
    """` = value` as strace prints it."""
    if -4096 < res < 0:
        e = -res
        return f"-1 {errno_name(e)} ({strerror(e)})"
    if name in HEX_RESULT:
        return f"{res & 0xFFFFFFFF:#x}"
    if name == "umask":
        return f"{res:#03o}"
    if name in ("fcntl", "fcntl64") and ctx is not None:
        if ctx.a[1] == 1:
            return f"{res:#x} (flags FD_CLOEXEC)" if res else "0"
        if ctx.a[1] == 3:
            return f"{res:#x} (flags {open_flags(res)})"
    if name == "set_thread_area" and ctx is not None and ctx.tracer is not None:
        entry = ctx.tracer.tls_entry.pop(ctx.task.pid, None)
        if entry is not None:
            return f"{res} (entry_number={entry})"
    return str(res)


# ---- the tracer -------------------------------------------------------------------------------------------


class Pending:
    """A syscall between entry and exit."""

    __slots__ = ("nr", "name", "ctx", "spec", "entry_parts", "prefix", "shown", "started", "interrupted",
                 "blocked")

    def __init__(self, nr, name, ctx, spec, shown) -> None:
        self.nr = nr
        self.name = name
        self.ctx = ctx
        self.spec = spec
        self.entry_parts: list[str] = []
        self.prefix = ""
        self.shown = shown
        self.started = False  # the entry part has been written (the call slept)
        self.interrupted = False  # another line came between entry and exit: print `<... resumed>`
        self.blocked = False


class Tracer:
    """Turns a Machine's observer events into strace -f output."""

    def __init__(self, machine, out, names: frozenset[str] | None = None, faults: bool = False,
                 regs: bool = False, disasm: int = 0, pids: str = "guest", file_mode: bool = False,
                 argv: list[str] | None = None) -> None:
        self.m = machine
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
        mem = Mem(task)
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

    def on_enter(self, task, nr, name) -> None:
        r = task.regs
        spec = SPECS.get(name)
        shown = self.names is None or name in self.names
        ctx = Ctx(self, task, (r.bx, r.cx, r.dx, r.si, r.di, r.bp))
        pend = Pending(nr, name, ctx, spec, shown)
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
        for phase, fn in spec:
            if phase == "out":
                break
            pend.entry_parts.append(fn(ctx))
        return None

    def _entry_text(self, pend: Pending) -> str:
        n_in = len(pend.entry_parts)
        all_in = pend.spec is None or n_in == len(pend.spec)
        text = f"{pend.name}(" + ", ".join(pend.entry_parts)
        if not all_in and n_in:
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
        rest = [fn(pend.ctx) for _, fn in pend.spec[len(pend.entry_parts):]]
        return ", ".join(rest)

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
            res_text = "?" if dead and name in NO_RETURN else result_str(name, result, pend.ctx)
            rest = self._rest_text(pend)
            if pend.started and self.open is pend:
                self.open = None
                self._write(rest + ")")
            elif pend.started:
                self._close_open()
                self._write(self.prefix(task) + f"<... {name} resumed>" + rest + ")")
            else:
                self._close_open()
                text = self._entry_text(pend) + rest + ")"
                self._write(pend.prefix + text)
            self._pad_result(res_text)
            if self.regs and not (dead and name in NO_RETURN):
                self.line(task, self.regs_text("exit", nr, name, task.regs))
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
        if sig in (9, 17) or (how == "kill" and "addr" in info):  # SIGKILL never stops a tracee for strace
            return
        name = signal_name(sig)
        code = info.get("code", 0)
        if "addr" in info:
            code_s = {11: SEGV_CODES.get(code, str(code)), 4: "ILL_ILLOPN", 8: "FPE_INTDIV"}.get(sig, str(code))
            fields = f"si_code={code_s}, si_addr={ptr(info['addr'])}"
        else:
            code_s = {0: "SI_USER", 0x80: "SI_KERNEL", -6: "SI_TKILL", -1: "SI_QUEUE", -2: "SI_TIMER"}.get(code,
                                                                                                 str(code))
            fields = f"si_code={code_s}"
            if code in (0, -6, -1):
                fields += f", si_pid={info.get('pid', 0)}, si_uid={info.get('uid', self.k.uid)}"
        self.emit(task, f"--- {name} {{si_signo={name}, {fields}}} ---")

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
                f"si_pid={self.pid_of(leader)}, si_uid={self.k.uid}, si_status={st}, si_utime=0, si_stime=0}} ---")
        self.sigchld.setdefault(parent.pid, []).append(text)

    # ---- faults ----------------------------------------------------------------------------------------------

    def on_fault(self, task, rec) -> None:
        if task.in_syscall is not None:
            # The kernel took it while copying user memory: shown after the syscall's own line.
            self.kernel_faults.setdefault(task.pid, []).append(rec)
            return
        from unicorn.x86_const import UC_X86_REG_EIP

        eip = self.m.cpu.uc.reg_read(UC_X86_REG_EIP)
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


__all__ = ["Tracer", "parse_filter", "CLASSES", "quote", "disasm_before", "SPECS", "open_output"]
