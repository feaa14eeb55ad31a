"""i386 Linux ABI constants: syscall numbers, errno values, signals and clone flags.

Pure data plus a few tiny formatting helpers; standard library only, no host lookups at run time.

Sources:

* ``SYSCALL_NAMES``, ``SYSCALL_NUMBERS`` and ``NR`` are parsed once from ``syscall_32.tbl`` beside this file, the
  data form of Linux ``arch/x86/entry/syscalls/syscall_32.tbl`` (its header says where each range comes from);
  nothing else in the project lists syscall numbers or names.

The literal tables below were generated once from these and pasted in:

* ``ERRNO*``: Linux ``include/uapi/asm-generic/errno-base.h`` / ``errno.h`` values 1..133, with glibc's
  ``strerror`` messages (glibc 2.36).
* ``SIGNALS``: ``arch/x86/include/uapi/asm/signal.h``.
* ``CLONE_*``: ``include/uapi/linux/sched.h``.  ``clone_flags_str`` reproduces strace's rendering.
"""

from __future__ import annotations

import keyword

# ---------------------------------------------------------------------------------------------------
# System calls (i386 ABI, int 0x80 / sysenter: number in eax, args in ebx, ecx, edx, esi, edi, ebp)
# ---------------------------------------------------------------------------------------------------

def _parse_syscall_tbl() -> dict[int, str]:
    """number -> name from syscall_32.tbl beside this file (`<number> <abi> <name> ...` lines, # comments)."""
    import os

    table: dict[int, str] = {}
    with open(os.path.join(os.path.dirname(__file__), "syscall_32.tbl"), encoding="ascii") as f:
        for line in f:
            fields = line.split("#", 1)[0].split()
            if fields:
                table[int(fields[0])] = fields[2]
    return table


SYSCALL_NAMES: dict[int, str] = _parse_syscall_tbl()

SYSCALL_NUMBERS: dict[str, int] = {name: nr for nr, name in SYSCALL_NAMES.items()}

#: Highest syscall number in ``SYSCALL_NAMES``.
MAX_SYSCALL_NR: int = max(SYSCALL_NAMES)

#: i386 syscall numbers as attributes (``NR.fork == 2``), made from the same table; a name that is a Python
#: keyword gets a trailing underscore (``NR.break_``).
NR = type("NR", (), {name + "_" * keyword.iskeyword(name): nr for name, nr in SYSCALL_NUMBERS.items()})


def syscall_name(nr: int) -> str:
    """Name of i386 syscall ``nr``; unknown numbers are rendered like strace does (``syscall_0x1f4``)."""
    name = SYSCALL_NAMES.get(nr)
    if name is not None:
        return name
    return f"syscall_{nr & 0xFFFFFFFF:#x}"


# ---------------------------------------------------------------------------------------------------
# errno
# ---------------------------------------------------------------------------------------------------

#: errno value -> canonical kernel name (as strace prints it: EAGAIN, EDEADLK, EOPNOTSUPP).
#: 41 and 58 are unused on Linux.
ERRNO_NAMES: dict[int, str] = {
    1: "EPERM",
    2: "ENOENT",
    3: "ESRCH",
    4: "EINTR",
    5: "EIO",
    6: "ENXIO",
    7: "E2BIG",
    8: "ENOEXEC",
    9: "EBADF",
    10: "ECHILD",
    11: "EAGAIN",
    12: "ENOMEM",
    13: "EACCES",
    14: "EFAULT",
    15: "ENOTBLK",
    16: "EBUSY",
    17: "EEXIST",
    18: "EXDEV",
    19: "ENODEV",
    20: "ENOTDIR",
    21: "EISDIR",
    22: "EINVAL",
    23: "ENFILE",
    24: "EMFILE",
    25: "ENOTTY",
    26: "ETXTBSY",
    27: "EFBIG",
    28: "ENOSPC",
    29: "ESPIPE",
    30: "EROFS",
    31: "EMLINK",
    32: "EPIPE",
    33: "EDOM",
    34: "ERANGE",
    35: "EDEADLK",
    36: "ENAMETOOLONG",
    37: "ENOLCK",
    38: "ENOSYS",
    39: "ENOTEMPTY",
    40: "ELOOP",
    42: "ENOMSG",
    43: "EIDRM",
    44: "ECHRNG",
    45: "EL2NSYNC",
    46: "EL3HLT",
    47: "EL3RST",
    48: "ELNRNG",
    49: "EUNATCH",
    50: "ENOCSI",
    51: "EL2HLT",
    52: "EBADE",
    53: "EBADR",
    54: "EXFULL",
    55: "ENOANO",
    56: "EBADRQC",
    57: "EBADSLT",
    59: "EBFONT",
    60: "ENOSTR",
    61: "ENODATA",
    62: "ETIME",
    63: "ENOSR",
    64: "ENONET",
    65: "ENOPKG",
    66: "EREMOTE",
    67: "ENOLINK",
    68: "EADV",
    69: "ESRMNT",
    70: "ECOMM",
    71: "EPROTO",
    72: "EMULTIHOP",
    73: "EDOTDOT",
    74: "EBADMSG",
    75: "EOVERFLOW",
    76: "ENOTUNIQ",
    77: "EBADFD",
    78: "EREMCHG",
    79: "ELIBACC",
    80: "ELIBBAD",
    81: "ELIBSCN",
    82: "ELIBMAX",
    83: "ELIBEXEC",
    84: "EILSEQ",
    85: "ERESTART",
    86: "ESTRPIPE",
    87: "EUSERS",
    88: "ENOTSOCK",
    89: "EDESTADDRREQ",
    90: "EMSGSIZE",
    91: "EPROTOTYPE",
    92: "ENOPROTOOPT",
    93: "EPROTONOSUPPORT",
    94: "ESOCKTNOSUPPORT",
    95: "EOPNOTSUPP",
    96: "EPFNOSUPPORT",
    97: "EAFNOSUPPORT",
    98: "EADDRINUSE",
    99: "EADDRNOTAVAIL",
    100: "ENETDOWN",
    101: "ENETUNREACH",
    102: "ENETRESET",
    103: "ECONNABORTED",
    104: "ECONNRESET",
    105: "ENOBUFS",
    106: "EISCONN",
    107: "ENOTCONN",
    108: "ESHUTDOWN",
    109: "ETOOMANYREFS",
    110: "ETIMEDOUT",
    111: "ECONNREFUSED",
    112: "EHOSTDOWN",
    113: "EHOSTUNREACH",
    114: "EALREADY",
    115: "EINPROGRESS",
    116: "ESTALE",
    117: "EUCLEAN",
    118: "ENOTNAM",
    119: "ENAVAIL",
    120: "EISNAM",
    121: "EREMOTEIO",
    122: "EDQUOT",
    123: "ENOMEDIUM",
    124: "EMEDIUMTYPE",
    125: "ECANCELED",
    126: "ENOKEY",
    127: "EKEYEXPIRED",
    128: "EKEYREVOKED",
    129: "EKEYREJECTED",
    130: "EOWNERDEAD",
    131: "ENOTRECOVERABLE",
    132: "ERFKILL",
    133: "EHWPOISON",
}

#: errno value -> glibc ``strerror`` message.
ERRNO_MESSAGES: dict[int, str] = {
    1: "Operation not permitted",
    2: "No such file or directory",
    3: "No such process",
    4: "Interrupted system call",
    5: "Input/output error",
    6: "No such device or address",
    7: "Argument list too long",
    8: "Exec format error",
    9: "Bad file descriptor",
    10: "No child processes",
    11: "Resource temporarily unavailable",
    12: "Cannot allocate memory",
    13: "Permission denied",
    14: "Bad address",
    15: "Block device required",
    16: "Device or resource busy",
    17: "File exists",
    18: "Invalid cross-device link",
    19: "No such device",
    20: "Not a directory",
    21: "Is a directory",
    22: "Invalid argument",
    23: "Too many open files in system",
    24: "Too many open files",
    25: "Inappropriate ioctl for device",
    26: "Text file busy",
    27: "File too large",
    28: "No space left on device",
    29: "Illegal seek",
    30: "Read-only file system",
    31: "Too many links",
    32: "Broken pipe",
    33: "Numerical argument out of domain",
    34: "Numerical result out of range",
    35: "Resource deadlock avoided",
    36: "File name too long",
    37: "No locks available",
    38: "Function not implemented",
    39: "Directory not empty",
    40: "Too many levels of symbolic links",
    42: "No message of desired type",
    43: "Identifier removed",
    44: "Channel number out of range",
    45: "Level 2 not synchronized",
    46: "Level 3 halted",
    47: "Level 3 reset",
    48: "Link number out of range",
    49: "Protocol driver not attached",
    50: "No CSI structure available",
    51: "Level 2 halted",
    52: "Invalid exchange",
    53: "Invalid request descriptor",
    54: "Exchange full",
    55: "No anode",
    56: "Invalid request code",
    57: "Invalid slot",
    59: "Bad font file format",
    60: "Device not a stream",
    61: "No data available",
    62: "Timer expired",
    63: "Out of streams resources",
    64: "Machine is not on the network",
    65: "Package not installed",
    66: "Object is remote",
    67: "Link has been severed",
    68: "Advertise error",
    69: "Srmount error",
    70: "Communication error on send",
    71: "Protocol error",
    72: "Multihop attempted",
    73: "RFS specific error",
    74: "Bad message",
    75: "Value too large for defined data type",
    76: "Name not unique on network",
    77: "File descriptor in bad state",
    78: "Remote address changed",
    79: "Can not access a needed shared library",
    80: "Accessing a corrupted shared library",
    81: ".lib section in a.out corrupted",
    82: "Attempting to link in too many shared libraries",
    83: "Cannot exec a shared library directly",
    84: "Invalid or incomplete multibyte or wide character",
    85: "Interrupted system call should be restarted",
    86: "Streams pipe error",
    87: "Too many users",
    88: "Socket operation on non-socket",
    89: "Destination address required",
    90: "Message too long",
    91: "Protocol wrong type for socket",
    92: "Protocol not available",
    93: "Protocol not supported",
    94: "Socket type not supported",
    95: "Operation not supported",
    96: "Protocol family not supported",
    97: "Address family not supported by protocol",
    98: "Address already in use",
    99: "Cannot assign requested address",
    100: "Network is down",
    101: "Network is unreachable",
    102: "Network dropped connection on reset",
    103: "Software caused connection abort",
    104: "Connection reset by peer",
    105: "No buffer space available",
    106: "Transport endpoint is already connected",
    107: "Transport endpoint is not connected",
    108: "Cannot send after transport endpoint shutdown",
    109: "Too many references: cannot splice",
    110: "Connection timed out",
    111: "Connection refused",
    112: "Host is down",
    113: "No route to host",
    114: "Operation already in progress",
    115: "Operation now in progress",
    116: "Stale file handle",
    117: "Structure needs cleaning",
    118: "Not a XENIX named type file",
    119: "No XENIX semaphores available",
    120: "Is a named type file",
    121: "Remote I/O error",
    122: "Disk quota exceeded",
    123: "No medium found",
    124: "Wrong medium type",
    125: "Operation canceled",
    126: "Required key not available",
    127: "Key has expired",
    128: "Key has been revoked",
    129: "Key was rejected by service",
    130: "Owner died",
    131: "State not recoverable",
    132: "Operation not possible due to RF-kill",
    133: "Memory page has hardware error",
}

#: Aliases sharing a value with a canonical name.
ERRNO_ALIASES: dict[str, int] = {
    "EWOULDBLOCK": 11,
    "EDEADLOCK": 35,
    "ENOTSUP": 95,
}

#: name -> errno value, canonical names plus aliases.
ERRNO: dict[str, int] = {**{name: nr for nr, name in ERRNO_NAMES.items()}, **ERRNO_ALIASES}

#: Kernel-internal restart codes (``include/linux/errno.h``).  A syscall implementation returns
#: ``-ERESTART*`` when interrupted by a signal; they never reach user space (the signal code turns
#: them into EINTR or a restart) but a tracer can observe them at syscall exit.
KERNEL_ERRNO: dict[str, int] = {
    "ERESTARTSYS": 512,
    "ERESTARTNOINTR": 513,
    "ERESTARTNOHAND": 514,
    "ENOIOCTLCMD": 515,
    "ERESTART_RESTARTBLOCK": 516,
}

#: Largest value the kernel returns as ``-errno`` (``MAX_ERRNO``); ``(unsigned)ret >= -4095`` is an error.
MAX_ERRNO: int = 4095


class E:
    """errno values as attributes (``E.ENOENT == 2``), including aliases and kernel restart codes."""

    EPERM = 1
    ENOENT = 2
    ESRCH = 3
    EINTR = 4
    EIO = 5
    ENXIO = 6
    E2BIG = 7
    ENOEXEC = 8
    EBADF = 9
    ECHILD = 10
    EAGAIN = 11
    EWOULDBLOCK = 11  # alias of EAGAIN
    ENOMEM = 12
    EACCES = 13
    EFAULT = 14
    ENOTBLK = 15
    EBUSY = 16
    EEXIST = 17
    EXDEV = 18
    ENODEV = 19
    ENOTDIR = 20
    EISDIR = 21
    EINVAL = 22
    ENFILE = 23
    EMFILE = 24
    ENOTTY = 25
    ETXTBSY = 26
    EFBIG = 27
    ENOSPC = 28
    ESPIPE = 29
    EROFS = 30
    EMLINK = 31
    EPIPE = 32
    EDOM = 33
    ERANGE = 34
    EDEADLK = 35
    EDEADLOCK = 35  # alias of EDEADLK
    ENAMETOOLONG = 36
    ENOLCK = 37
    ENOSYS = 38
    ENOTEMPTY = 39
    ELOOP = 40
    ENOMSG = 42
    EIDRM = 43
    ECHRNG = 44
    EL2NSYNC = 45
    EL3HLT = 46
    EL3RST = 47
    ELNRNG = 48
    EUNATCH = 49
    ENOCSI = 50
    EL2HLT = 51
    EBADE = 52
    EBADR = 53
    EXFULL = 54
    ENOANO = 55
    EBADRQC = 56
    EBADSLT = 57
    EBFONT = 59
    ENOSTR = 60
    ENODATA = 61
    ETIME = 62
    ENOSR = 63
    ENONET = 64
    ENOPKG = 65
    EREMOTE = 66
    ENOLINK = 67
    EADV = 68
    ESRMNT = 69
    ECOMM = 70
    EPROTO = 71
    EMULTIHOP = 72
    EDOTDOT = 73
    EBADMSG = 74
    EOVERFLOW = 75
    ENOTUNIQ = 76
    EBADFD = 77
    EREMCHG = 78
    ELIBACC = 79
    ELIBBAD = 80
    ELIBSCN = 81
    ELIBMAX = 82
    ELIBEXEC = 83
    EILSEQ = 84
    ERESTART = 85
    ESTRPIPE = 86
    EUSERS = 87
    ENOTSOCK = 88
    EDESTADDRREQ = 89
    EMSGSIZE = 90
    EPROTOTYPE = 91
    ENOPROTOOPT = 92
    EPROTONOSUPPORT = 93
    ESOCKTNOSUPPORT = 94
    EOPNOTSUPP = 95
    ENOTSUP = 95  # alias of EOPNOTSUPP
    EPFNOSUPPORT = 96
    EAFNOSUPPORT = 97
    EADDRINUSE = 98
    EADDRNOTAVAIL = 99
    ENETDOWN = 100
    ENETUNREACH = 101
    ENETRESET = 102
    ECONNABORTED = 103
    ECONNRESET = 104
    ENOBUFS = 105
    EISCONN = 106
    ENOTCONN = 107
    ESHUTDOWN = 108
    ETOOMANYREFS = 109
    ETIMEDOUT = 110
    ECONNREFUSED = 111
    EHOSTDOWN = 112
    EHOSTUNREACH = 113
    EALREADY = 114
    EINPROGRESS = 115
    ESTALE = 116
    EUCLEAN = 117
    ENOTNAM = 118
    ENAVAIL = 119
    EISNAM = 120
    EREMOTEIO = 121
    EDQUOT = 122
    ENOMEDIUM = 123
    EMEDIUMTYPE = 124
    ECANCELED = 125
    ENOKEY = 126
    EKEYEXPIRED = 127
    EKEYREVOKED = 128
    EKEYREJECTED = 129
    EOWNERDEAD = 130
    ENOTRECOVERABLE = 131
    ERFKILL = 132
    EHWPOISON = 133

    ERESTARTSYS = 512  # kernel-internal
    ERESTARTNOINTR = 513  # kernel-internal
    ERESTARTNOHAND = 514  # kernel-internal
    ENOIOCTLCMD = 515  # kernel-internal
    ERESTART_RESTARTBLOCK = 516  # kernel-internal


def errno_name(err: int) -> str:
    """Canonical name of errno ``err`` (sign ignored), or its decimal value if unknown."""
    err = abs(err)
    name = ERRNO_NAMES.get(err)
    if name is not None:
        return name
    for kname, value in KERNEL_ERRNO.items():
        if value == err:
            return kname
    return str(err)


def strerror(err: int) -> str:
    """glibc ``strerror`` text for errno ``err`` (sign ignored)."""
    err = abs(err)
    return ERRNO_MESSAGES.get(err, f"Unknown error {err}")


# ---------------------------------------------------------------------------------------------------
# Signals (x86 numbering)
# ---------------------------------------------------------------------------------------------------

SIGNALS: dict[int, str] = {
    1: "SIGHUP",
    2: "SIGINT",
    3: "SIGQUIT",
    4: "SIGILL",
    5: "SIGTRAP",
    6: "SIGABRT",
    7: "SIGBUS",
    8: "SIGFPE",
    9: "SIGKILL",
    10: "SIGUSR1",
    11: "SIGSEGV",
    12: "SIGUSR2",
    13: "SIGPIPE",
    14: "SIGALRM",
    15: "SIGTERM",
    16: "SIGSTKFLT",
    17: "SIGCHLD",
    18: "SIGCONT",
    19: "SIGSTOP",
    20: "SIGTSTP",
    21: "SIGTTIN",
    22: "SIGTTOU",
    23: "SIGURG",
    24: "SIGXCPU",
    25: "SIGXFSZ",
    26: "SIGVTALRM",
    27: "SIGPROF",
    28: "SIGWINCH",
    29: "SIGIO",
    30: "SIGPWR",
    31: "SIGSYS",
}

#: Kernel real-time signal range: 32..64 (``_NSIG`` is 64).  glibc reserves 32 and 33 for itself, so
#: its ``SIGRTMIN`` macro evaluates to 34.
SIGRTMIN: int = 32
SIGRTMAX: int = 64
NSIG: int = 64

SIGNAL_NUMBERS: dict[str, int] = {
    **{name: nr for nr, name in SIGNALS.items()},
    "SIGIOT": 6,
    "SIGPOLL": 29,
    "SIGRTMIN": SIGRTMIN,
    "SIGRTMAX": SIGRTMAX,
}


class SIG:
    """Signal numbers as attributes (``SIG.SIGCHLD == 17``)."""

    SIGHUP = 1
    SIGINT = 2
    SIGQUIT = 3
    SIGILL = 4
    SIGTRAP = 5
    SIGABRT = 6
    SIGIOT = 6  # alias of SIGABRT
    SIGBUS = 7
    SIGFPE = 8
    SIGKILL = 9
    SIGUSR1 = 10
    SIGSEGV = 11
    SIGUSR2 = 12
    SIGPIPE = 13
    SIGALRM = 14
    SIGTERM = 15
    SIGSTKFLT = 16
    SIGCHLD = 17
    SIGCONT = 18
    SIGSTOP = 19
    SIGTSTP = 20
    SIGTTIN = 21
    SIGTTOU = 22
    SIGURG = 23
    SIGXCPU = 24
    SIGXFSZ = 25
    SIGVTALRM = 26
    SIGPROF = 27
    SIGWINCH = 28
    SIGIO = 29
    SIGPOLL = 29  # alias of SIGIO
    SIGPWR = 30
    SIGSYS = 31
    SIGRTMIN = 32
    SIGRTMAX = 64


def signal_name(sig: int) -> str:
    """Signal name as strace prints it: ``SIGCHLD``, ``SIGRTMIN`` (32), ``SIGRT_1`` .. ``SIGRT_32``
    (33..64), otherwise the decimal number (also for 0)."""
    name = SIGNALS.get(sig)
    if name is not None:
        return name
    if sig == SIGRTMIN:
        return "SIGRTMIN"
    if SIGRTMIN < sig <= SIGRTMAX:
        return f"SIGRT_{sig - SIGRTMIN}"
    return str(sig)


# ---------------------------------------------------------------------------------------------------
# clone flags (include/uapi/linux/sched.h)
# ---------------------------------------------------------------------------------------------------

CSIGNAL = 0x000000FF  # exit signal sent to the parent when the child exits
CLONE_VM = 0x00000100
CLONE_FS = 0x00000200
CLONE_FILES = 0x00000400
CLONE_SIGHAND = 0x00000800
CLONE_PIDFD = 0x00001000
CLONE_PTRACE = 0x00002000
CLONE_VFORK = 0x00004000
CLONE_PARENT = 0x00008000
CLONE_THREAD = 0x00010000
CLONE_NEWNS = 0x00020000
CLONE_SYSVSEM = 0x00040000
CLONE_SETTLS = 0x00080000
CLONE_PARENT_SETTID = 0x00100000
CLONE_CHILD_CLEARTID = 0x00200000
CLONE_DETACHED = 0x00400000  # unused, ignored by the kernel
CLONE_UNTRACED = 0x00800000
CLONE_CHILD_SETTID = 0x01000000
CLONE_NEWCGROUP = 0x02000000
CLONE_NEWUTS = 0x04000000
CLONE_NEWIPC = 0x08000000
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000
CLONE_IO = 0x80000000
# Only valid with clone3() (and unshare() for CLONE_NEWTIME, which overlaps CSIGNAL):
CLONE_NEWTIME = 0x00000080
CLONE_CLEAR_SIGHAND = 0x100000000
CLONE_INTO_CGROUP = 0x200000000

#: bit -> name for every flag of the legacy clone() flag word (above CSIGNAL), ascending.
CLONE_FLAGS: dict[int, str] = {
    CLONE_VM: "CLONE_VM",
    CLONE_FS: "CLONE_FS",
    CLONE_FILES: "CLONE_FILES",
    CLONE_SIGHAND: "CLONE_SIGHAND",
    CLONE_PIDFD: "CLONE_PIDFD",
    CLONE_PTRACE: "CLONE_PTRACE",
    CLONE_VFORK: "CLONE_VFORK",
    CLONE_PARENT: "CLONE_PARENT",
    CLONE_THREAD: "CLONE_THREAD",
    CLONE_NEWNS: "CLONE_NEWNS",
    CLONE_SYSVSEM: "CLONE_SYSVSEM",
    CLONE_SETTLS: "CLONE_SETTLS",
    CLONE_PARENT_SETTID: "CLONE_PARENT_SETTID",
    CLONE_CHILD_CLEARTID: "CLONE_CHILD_CLEARTID",
    CLONE_DETACHED: "CLONE_DETACHED",
    CLONE_UNTRACED: "CLONE_UNTRACED",
    CLONE_CHILD_SETTID: "CLONE_CHILD_SETTID",
    CLONE_NEWCGROUP: "CLONE_NEWCGROUP",
    CLONE_NEWUTS: "CLONE_NEWUTS",
    CLONE_NEWIPC: "CLONE_NEWIPC",
    CLONE_NEWUSER: "CLONE_NEWUSER",
    CLONE_NEWPID: "CLONE_NEWPID",
    CLONE_NEWNET: "CLONE_NEWNET",
    CLONE_IO: "CLONE_IO",
}

#: Flags only clone3() accepts (bit -> name).
CLONE3_FLAGS: dict[int, str] = {
    CLONE_NEWTIME: "CLONE_NEWTIME",
    CLONE_CLEAR_SIGHAND: "CLONE_CLEAR_SIGHAND",
    CLONE_INTO_CGROUP: "CLONE_INTO_CGROUP",
}

# strace's clone_flags xlat deliberately omits CLONE_DETACHED ("ignored by kernel"), so strace shows
# that bit as a bare hex number; clone_flags_str does the same.
_STRACE_CLONE_FLAGS: tuple[tuple[int, str], ...] = tuple(
    (bit, name) for bit, name in CLONE_FLAGS.items() if bit != CLONE_DETACHED
)


def clone_flags_str(flags: int) -> str:
    """Render a legacy clone() flag word the way strace prints ``flags=``.

    Known flags in ascending bit order joined by ``|``, then leftover unknown bits as one hex number,
    then the exit signal (``flags & CSIGNAL``) by name if nonzero.  Unknown bits with no known flag
    get strace's ``/* CLONE_??? */`` comment.  ``0`` renders as ``"0"``.

    >>> clone_flags_str(0x01200011)
    'CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID|SIGCHLD'
    """
    flags &= 0xFFFFFFFF
    sig = flags & CSIGNAL
    rest = flags & ~CSIGNAL
    if not rest:
        return signal_name(sig)
    parts = []
    for bit, name in _STRACE_CLONE_FLAGS:
        if rest & bit:
            parts.append(name)
            rest &= ~bit
    if rest:
        parts.append(f"{rest:#x}" if parts else f"{rest:#x} /* CLONE_??? */")
    if sig:
        parts.append(signal_name(sig))
    return "|".join(parts)
