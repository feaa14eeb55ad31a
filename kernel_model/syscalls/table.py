"""The syscall table: i386 number -> (name, handler, signature), every number without a handler an explicit
-ENOSYS entry, in the manner of gVisor's sentry table and strace's `syscallent.h`.

Handlers take (kernel, task, ebx, ecx, edx, esi, edi, ebp) and return the value for eax, raise KernelError for
-errno, or are generators that sleep in the kernel (the scheduler resumes them when woken).

A handler registers with `@syscall(NAME..., sig=..., cls=...)`. The signature is the argument list in strace's
vocabulary, one `[out ]TYPE[(PARAM)] NAME` per argument, comma-separated:

* TYPE is one of `ARG_TYPES` below; `out` marks an argument the kernel writes, which a tracer decodes at exit.
* PARAM names another argument (or `ret`, the result) that the type depends on: a buffer's length, an iovec
  count, the flags that decide whether a mode is printed, the flag-set name of `flags(...)`/`enum(...)`.
* A type may take two registers (`loff`, a 64-bit offset split lo/hi; `loff_hi_lo`, split hi/lo as _llseek).

`cls` lists strace's trace classes (`-e trace=%desc`), `ret` how the result reads (`int`, `hex`, `octal`,
`none` for calls that never return, or a named decoder such as `fcntl`), `order`/`labelled` how strace lays the
arguments out when it does not print them in register order (clone).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from ..abi import SYSCALL_NAMES, E, syscall_name

#: strace's trace classes (its TRACE_* flags), as `-e trace=%NAME` names them.
CLASSES = frozenset({"process", "memory", "file", "signal", "desc", "ipc", "network", "creds", "clock", "pure",
                     "stat", "lstat", "fstat", "stat_like", "statfs", "fstatfs", "statfs_like"})

#: Argument types: name -> registers it takes. Each has a decoder in emu/strace_decode.py (a test checks it).
ARG_TYPES: dict[str, int] = {
    # integers
    "int": 1, "uint": 1, "hex": 1, "size": 1, "off": 1, "loff": 2, "loff_hi_lo": 2, "ptr": 1,
    # descriptors, ids and names
    "fd": 1, "dirfd": 1, "pid": 1, "uid": 1, "gid": 1, "uid16": 1, "gid16": 1, "signal": 1,
    # strings and buffers
    "path": 1, "str": 1, "buf": 1, "argv": 1, "envp": 1, "dirents": 1, "comm": 1,
    # modes and flag words
    "mode": 1, "umask": 1, "open_flags": 1, "open_mode": 1, "flags": 1, "enum": 1, "prot": 1, "mmap_flags": 1,
    "pgoff": 1, "clone_flags": 1, "fcntl_cmd": 1, "fcntl_arg": 1, "ioctl_cmd": 1, "ioctl_arg": 1,
    "futex_op": 1, "futex_timeout": 1, "futex_uaddr2": 1, "futex_val3": 1, "mremap_addr": 1,
    "prctl_option": 1, "prctl_arg": 1, "statx_flags": 1,
    # structures behind pointers
    "int_ptr": 1, "time_ptr": 1, "loff_ptr": 1, "loff_inout": 1, "off_inout": 1, "pipefds": 1, "timespec": 1,
    "timespec64": 1, "timeval": 1, "itimerval": 1, "utimens": 1, "utimens64": 1, "stat64": 1, "statx": 1, "rlimit": 1,
    "rlimit64": 1, "sigaction": 1, "old_sigaction": 1, "sigset": 1, "old_sigset": 1, "user_desc": 1,
    "tls": 1, "tid_ptr": 1, "utsname": 1, "iovec": 1, "pollfd": 1, "fd_set": 1, "sigaltstack": 1,
    "siginfo": 1, "rusage": 1, "wait_status": 1, "clone_args": 1, "mmap_args": 1, "sel_args": 1,
    "pselect_sig": 1, "sigframe": 1, "rt_sigframe": 1, "restart": 1, "sighandler": 1, "sigmask_val": 1,
    "mincore_vec": 1, "statfs": 1, "statfs64": 1, "cap_header": 1, "cap_data": 1,
    "ipc_key": 1, "ipc_flags": 1, "ipc_cmd": 1, "ipc_call": 1, "sembuf": 1, "msgbuf": 1, "rusage_full": 1,
    "tms": 1, "siginfo_user": 1, "cpu_mask": 1, "sysinfo": 1, "gid_list": 1, "mknod_mode": 1, "mknod_dev": 1,
    "itimerspec": 1, "itimerspec64": 1, "epoll_event": 1, "epoll_events": 1,
    "sock_type": 1, "sock_proto": 1, "sockaddr": 1, "sockaddr_out": 1, "socklen_ptr": 1, "sockpair": 1,
    "msghdr": 1, "msghdr_out": 1, "mmsghdr": 1, "sockopt_name": 1, "sockopt_val": 1, "sockopt_val_out": 1,
    "socketcall_call": 1, "socketcall_args": 1,
}

#: Result kinds that need no decoder of their own.
RESULT_KINDS = frozenset({"int", "hex", "octal", "none", "fcntl", "tls_entry", "handler", "poll", "select",
                          "prctl", "signo"})


@dataclass(frozen=True)
class Arg:
    """One argument of a signature: its name, type, type parameter, direction and first register index."""

    name: str
    type: str
    param: str | None
    out: bool
    reg: int


@dataclass(frozen=True)
class Signature:
    """What strace knows of a syscall: its arguments, classes and how the result reads."""

    args: tuple[Arg, ...]
    classes: frozenset[str]
    ret: str = "int"
    order: tuple[str, ...] | None = None
    labelled: bool = False

    def arg(self, name: str) -> Arg:
        """The argument called name."""
        for a in self.args:
            if a.name == name:
                return a
        raise KeyError(name)


def parse_signature(text: str, cls: str = "", ret: str = "int", order: str | None = None,
                    labelled: bool = False) -> Signature:
    """Parse `[out ]TYPE[(PARAM)] NAME, ...`; unknown types, classes or parameters raise ValueError."""
    args: list[Arg] = []
    reg = 0
    for item in filter(None, (s.strip() for s in text.split(","))):
        words = item.split()
        out = words[0] == "out"
        if out:
            words = words[1:]
        if len(words) != 2:
            raise ValueError(f"signature argument {item!r} is not `[out ]TYPE[(PARAM)] NAME`")
        typ, name = words
        param = None
        if "(" in typ:
            typ, _, param = typ.partition("(")
            param = param.rstrip(")")
        if typ not in ARG_TYPES:
            raise ValueError(f"unknown argument type {typ!r} in {text!r}")
        args.append(Arg(name, typ, param, out, reg))
        reg += ARG_TYPES[typ]
    if reg > 6:
        raise ValueError(f"{text!r} takes {reg} registers; i386 passes six")
    names = {a.name for a in args}
    for a in args:
        if a.param is not None and a.type not in ("flags", "enum", "ipc_cmd") and a.param not in names | {"ret"}:
            raise ValueError(f"{a.name}: parameter {a.param!r} names no argument of {text!r}")
    classes = frozenset(filter(None, cls.split(",")))
    if classes - CLASSES:
        raise ValueError(f"unknown trace classes {sorted(classes - CLASSES)}")
    if ret not in RESULT_KINDS:
        raise ValueError(f"unknown result kind {ret!r}")
    return Signature(tuple(args), classes, ret, tuple(order.split()) if order else None, labelled)


@dataclass(frozen=True)
class Syscall:
    """One table entry: the i386 number, the syscall_32.tbl name, the handler and (when implemented) its
    signature."""

    nr: int
    name: str
    fn: Callable
    sig: Signature | None = field(default=None, compare=False)


HANDLERS: dict[str, Callable] = {}
SIGNATURES: dict[str, Signature] = {}


def syscall(*names: str, sig: str, cls: str = "", ret: str = "int", order: str | None = None,
            labelled: bool = False):
    """Register a handler and its signature under one or more syscall_32.tbl names."""
    signature = parse_signature(sig, cls, ret, order, labelled)
    for n in names:
        if n not in _KNOWN_NAMES:
            raise ValueError(f"{n!r} is not a name in syscall_32.tbl")
        if n in HANDLERS:
            raise ValueError(f"{n!r} has two handlers")

    def deco(fn):
        for n in names:
            HANDLERS[n] = fn
            SIGNATURES[n] = signature
        return fn
    return deco


_KNOWN_NAMES = frozenset(SYSCALL_NAMES.values())

#: Calls i386 reaches only through a multiplexer (socketcall's accept, send, recv): name -> signature, so a
#: tracer decodes them as strace does.
SUBCALL_SIGNATURES: dict[str, Signature] = {}


def subcall(name: str, sig: str, cls: str = "", ret: str = "int"):
    """Give a multiplexed call without its own i386 number a signature (the handler is the multiplexer's)."""
    if name in _KNOWN_NAMES:
        raise ValueError(f"{name!r} has its own number; register it with @syscall")
    SUBCALL_SIGNATURES[name] = parse_signature(sig, cls, ret)

    def deco(fn):
        return fn
    return deco


def sys_ni_syscall(k, t, *args) -> int:
    """Not implemented: -ENOSYS, reported once per number (sys_ni_syscall)."""
    nr = t.regs.orig_ax
    name = SYSCALL_NAMES.get(nr, syscall_name(nr))
    k.stats.enosys[name] = k.stats.enosys.get(name, 0) + 1
    k.warn_once(f"nosys{nr}", f"unimplemented syscall {nr} ({name}) returns -ENOSYS")
    return -E.ENOSYS


def build_table() -> dict[int, Syscall]:
    """Number -> entry for every name in syscall_32.tbl; unimplemented ones get sys_ni_syscall."""
    table = {nr: Syscall(nr, name, HANDLERS.get(name, sys_ni_syscall), SIGNATURES.get(name))
             for nr, name in SYSCALL_NAMES.items()}
    table[-1] = Syscall(-1, "unknown", sys_ni_syscall)
    return table
