"""strace's decoding of syscall arguments, driven by the kernel model's signatures.

Each argument type of `kernel_model.syscalls.table.ARG_TYPES` has a decoder here; `build_spec` turns a syscall's
signature into the list the tracer walks at entry and exit, and `result_str` prints the result by the signature's
result kind. Formatting follows strace 6: strings quoted with C escapes and cut at 32 bytes (`-s`), flag words by
name with leftover bits in hex, modes as `0644`, structures as `{field=value, ...}`. Guest memory is read with
MM.peek only, so decoding never faults a page in or changes a statistic.
"""

from __future__ import annotations

import stat as pystat
import struct

from kernel_model.abi import _STRACE_CLONE_FLAGS, clone_flags_str, errno_name, signal_name, strerror
from kernel_model.mm import TASK_SIZE, SegFault
from kernel_model.signal import SIGCONTEXT, SIGCONTEXT_FIELDS

MAX_STR = 32  # strace -s default
PATH_MAX = 4096

# ---- value formatting -----------------------------------------------------------------------------------


def s32(v: int) -> int:
    """A register as a signed 32-bit int."""
    v &= 0xFFFFFFFF
    return v - (1 << 32) if v & 0x80000000 else v


def ptr(v: int) -> str:
    """A pointer as strace prints it."""
    return "NULL" if v == 0 else f"{v:#x}"


def quote(data: bytes, cut: bool) -> str:
    """strace's string_quote in its default style: C escapes for quote, backslash and whitespace, printable ASCII as
    is, every other byte in octal (three digits when an octal digit follows), so no byte a guest writes reaches the
    terminal as a control sequence."""
    out = ['"']
    n = len(data)
    for i, c in enumerate(data):
        if c in (0x22, 0x5C):
            out.append("\\" + chr(c))
        elif 9 <= c <= 13:
            out.append("\\" + "tnvfr"[c - 9])
        elif 0x20 <= c < 0x7F:
            out.append(chr(c))
        elif i + 1 < n and 0x30 <= data[i + 1] <= 0x37:
            out.append(f"\\{c:03o}")
        else:
            out.append(f"\\{c:o}")
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


# strace's open_mode_flags order (xlat/open_mode_flags.in): multi-bit O_SYNC and O_TMPFILE before their parts.
O_FLAGS = [(0o100, "O_CREAT"), (0o200, "O_EXCL"), (0o400, "O_NOCTTY"), (0o1000, "O_TRUNC"), (0o2000, "O_APPEND"),
           (0o4000, "O_NONBLOCK"), (0o4010000, "O_SYNC"), (0o4000000, "__O_SYNC"), (0o10000, "O_DSYNC"),
           (0o40000, "O_DIRECT"), (0o100000, "O_LARGEFILE"), (0o400000, "O_NOFOLLOW"), (0o1000000, "O_NOATIME"),
           (0o2000000, "O_CLOEXEC"), (0o10000000, "O_PATH"), (0o20200000, "O_TMPFILE"), (0o20000000, "__O_TMPFILE"),
           (0o200000, "O_DIRECTORY"), (0o20000, "FASYNC")]


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
MADV = {18: "MADV_WIPEONFORK", 19: "MADV_KEEPONFORK", 20: "MADV_COLD", 21: "MADV_PAGEOUT",
        22: "MADV_POPULATE_READ", 23: "MADV_POPULATE_WRITE", 100: "MADV_HWPOISON", 101: "MADV_SOFT_OFFLINE",
        102: "MADV_GUARD_INSTALL", 103: "MADV_GUARD_REMOVE",
        0: "MADV_NORMAL", 1: "MADV_RANDOM", 2: "MADV_SEQUENTIAL", 3: "MADV_WILLNEED", 4: "MADV_DONTNEED",
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
IOCTLS = {0x5401: "TCGETS", 0x5402: "TCSETS", 0x5403: "TCSETSW", 0x5404: "TCSETSF", 0x5409: "TCSBRK",
          0x540A: "TCXONC", 0x540B: "TCFLSH", 0x540E: "TIOCSCTTY", 0x540F: "TIOCGPGRP", 0x5410: "TIOCSPGRP",
          0x5411: "TIOCOUTQ", 0x5413: "TIOCGWINSZ", 0x5414: "TIOCSWINSZ", 0x541B: "FIONREAD", 0x5421: "FIONBIO",
          0x5422: "TIOCNOTTY", 0x5429: "TIOCGSID"}
FCNTL = {0: "F_DUPFD", 1: "F_GETFD", 2: "F_SETFD", 3: "F_GETFL", 4: "F_SETFL", 5: "F_GETLK", 6: "F_SETLK",
         7: "F_SETLKW", 1030: "F_DUPFD_CLOEXEC", 12: "F_GETLK64", 13: "F_SETLK64", 14: "F_SETLKW64",
         1031: "F_SETPIPE_SZ", 1032: "F_GETPIPE_SZ", 36: "F_OFD_GETLK", 37: "F_OFD_SETLK", 38: "F_OFD_SETLKW",
         8: "F_SETOWN", 9: "F_GETOWN", 10: "F_SETSIG", 11: "F_GETSIG"}
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
CLD_CODES = {1: "CLD_EXITED", 2: "CLD_KILLED", 3: "CLD_DUMPED", 4: "CLD_TRAPPED", 5: "CLD_STOPPED", 6: "CLD_CONTINUED"}

POLL_EVENTS = [(0x1, "POLLIN"), (0x2, "POLLPRI"), (0x4, "POLLOUT"), (0x8, "POLLERR"), (0x10, "POLLHUP"),
               (0x20, "POLLNVAL"), (0x40, "POLLRDNORM"), (0x80, "POLLRDBAND"), (0x100, "POLLWRNORM"),
               (0x200, "POLLWRBAND"), (0x400, "POLLMSG"), (0x2000, "POLLRDHUP")]
PRCTL = {1: "PR_SET_PDEATHSIG", 2: "PR_GET_PDEATHSIG", 3: "PR_GET_DUMPABLE", 4: "PR_SET_DUMPABLE",
         7: "PR_GET_KEEPCAPS", 8: "PR_SET_KEEPCAPS", 15: "PR_SET_NAME", 16: "PR_GET_NAME", 21: "PR_GET_SECCOMP",
         22: "PR_SET_SECCOMP", 23: "PR_CAPBSET_READ", 36: "PR_SET_CHILD_SUBREAPER", 37: "PR_GET_CHILD_SUBREAPER",
         38: "PR_SET_NO_NEW_PRIVS", 39: "PR_GET_NO_NEW_PRIVS", 40: "PR_GET_TID_ADDRESS", 47: "PR_CAP_AMBIENT",
         0x59616D61: "PR_SET_PTRACER"}
DUMPABLE = {0: "SUID_DUMP_DISABLE", 1: "SUID_DUMP_USER", 2: "SUID_DUMP_ROOT"}
ITIMERS = {0: "ITIMER_REAL", 1: "ITIMER_VIRTUAL", 2: "ITIMER_PROF"}

# ---- sockets ------------------------------------------------------------------------------------------------

AF_NAMES = {0: "AF_UNSPEC", 1: "AF_UNIX", 2: "AF_INET", 3: "AF_AX25", 4: "AF_IPX", 5: "AF_APPLETALK",
            9: "AF_X25", 10: "AF_INET6", 16: "AF_NETLINK", 17: "AF_PACKET", 38: "AF_ALG", 40: "AF_VSOCK"}
SOCK_TYPES = {1: "SOCK_STREAM", 2: "SOCK_DGRAM", 3: "SOCK_RAW", 4: "SOCK_RDM", 5: "SOCK_SEQPACKET",
              6: "SOCK_DCCP", 10: "SOCK_PACKET"}
IPPROTOS = {0: "IPPROTO_IP", 1: "IPPROTO_ICMP", 6: "IPPROTO_TCP", 17: "IPPROTO_UDP", 41: "IPPROTO_IPV6",
            255: "IPPROTO_RAW"}
MSG_FLAGS = [(0x1, "MSG_OOB"), (0x2, "MSG_PEEK"), (0x4, "MSG_DONTROUTE"), (0x8, "MSG_CTRUNC"),
             (0x10, "MSG_PROXY"), (0x20, "MSG_TRUNC"), (0x40, "MSG_DONTWAIT"), (0x80, "MSG_EOR"),
             (0x100, "MSG_WAITALL"), (0x200, "MSG_FIN"), (0x400, "MSG_SYN"), (0x800, "MSG_CONFIRM"),
             (0x1000, "MSG_RST"), (0x2000, "MSG_ERRQUEUE"), (0x4000, "MSG_NOSIGNAL"), (0x8000, "MSG_MORE"),
             (0x10000, "MSG_WAITFORONE"), (0x20000000, "MSG_FASTOPEN"), (0x40000000, "MSG_CMSG_CLOEXEC")]
SOL_NAMES = {0: "SOL_IP", 1: "SOL_SOCKET", 6: "SOL_TCP", 17: "SOL_UDP", 41: "SOL_IPV6"}
SO_NAMES = {1: "SO_DEBUG", 2: "SO_REUSEADDR", 3: "SO_TYPE", 4: "SO_ERROR", 5: "SO_DONTROUTE", 6: "SO_BROADCAST",
            7: "SO_SNDBUF", 8: "SO_RCVBUF", 9: "SO_KEEPALIVE", 10: "SO_OOBINLINE", 11: "SO_NO_CHECK",
            12: "SO_PRIORITY", 13: "SO_LINGER", 14: "SO_BSDCOMPAT", 15: "SO_REUSEPORT", 16: "SO_PASSCRED",
            17: "SO_PEERCRED", 18: "SO_RCVLOWAT", 19: "SO_SNDLOWAT", 20: "SO_RCVTIMEO_OLD", 21: "SO_SNDTIMEO_OLD",
            30: "SO_ACCEPTCONN", 31: "SO_PEERSEC", 32: "SO_SNDBUFFORCE", 33: "SO_RCVBUFFORCE", 38: "SO_PROTOCOL",
            39: "SO_DOMAIN", 66: "SO_RCVTIMEO_NEW", 67: "SO_SNDTIMEO_NEW"}
TCP_OPTS = {1: "TCP_NODELAY", 2: "TCP_MAXSEG", 3: "TCP_CORK", 4: "TCP_KEEPIDLE", 5: "TCP_KEEPINTVL",
            6: "TCP_KEEPCNT", 9: "TCP_DEFER_ACCEPT", 12: "TCP_QUICKACK", 18: "TCP_USER_TIMEOUT"}
IP_OPTS = {1: "IP_TOS", 2: "IP_TTL", 3: "IP_HDRINCL", 8: "IP_RECVTTL", 10: "IP_MTU_DISCOVER", 11: "IP_RECVERR",
           32: "IP_MULTICAST_IF", 33: "IP_MULTICAST_TTL"}
IPV6_OPTS = {16: "IPV6_UNICAST_HOPS", 18: "IPV6_MULTICAST_HOPS", 19: "IPV6_MULTICAST_LOOP", 26: "IPV6_V6ONLY"}
SOCKETCALL_NAMES = {1: "SYS_SOCKET", 2: "SYS_BIND", 3: "SYS_CONNECT", 4: "SYS_LISTEN", 5: "SYS_ACCEPT",
                    6: "SYS_GETSOCKNAME", 7: "SYS_GETPEERNAME", 8: "SYS_SOCKETPAIR", 9: "SYS_SEND", 10: "SYS_RECV",
                    11: "SYS_SENDTO", 12: "SYS_RECVFROM", 13: "SYS_SHUTDOWN", 14: "SYS_SETSOCKOPT",
                    15: "SYS_GETSOCKOPT", 16: "SYS_SENDMSG", 17: "SYS_RECVMSG", 18: "SYS_ACCEPT4",
                    19: "SYS_RECVMMSG", 20: "SYS_SENDMMSG"}


def _sock_type(v: int) -> str:
    text = xlat(v & 0xF, SOCK_TYPES, "SOCK_???")
    for bit, name in ((0o2000000, "SOCK_CLOEXEC"), (0o4000, "SOCK_NONBLOCK")):
        if v & bit:
            text += "|" + name
    rest = v & ~0xF & ~0o2004000
    return text + (f"|{rest:#x}" if rest else "")


def _sock_proto(c: Ctx, arg) -> str:
    v = c.v(arg)
    if c.named(arg.param) in (2, 10):
        return xlat(v, IPPROTOS, "IPPROTO_???")
    return str(s32(v))


def sockaddr_str(raw: bytes) -> str:
    """A socket address as strace prints it: {sa_family=AF_UNIX, sun_path="..."} and the inet forms."""
    if len(raw) < 2:
        return "{sa_family=???}" if raw else "{}"
    fam = struct.unpack_from("<H", raw)[0]
    head = "sa_family=" + xlat(fam, AF_NAMES, "AF_???")
    if fam == 1:
        if len(raw) == 2:
            return "{" + head + "}"
        path = raw[2:]
        if path[:1] == b"\0":
            return "{%s, sun_path=@%s}" % (head, quote(path[1:], False))
        return "{%s, sun_path=%s}" % (head, quote(path.split(b"\0", 1)[0], False))
    if fam == 2 and len(raw) >= 8:
        port = struct.unpack_from(">H", raw, 2)[0]
        return '{%s, sin_port=htons(%d), sin_addr=inet_addr("%s")}' % (head, port, ".".join(map(str, raw[4:8])))
    if fam == 10 and len(raw) >= 24:
        import ipaddress

        port, flow = struct.unpack_from(">HI", raw, 2)
        addr = ipaddress.IPv6Address(bytes(raw[8:24]))
        scope = struct.unpack_from("<I", raw, 24)[0] if len(raw) >= 28 else 0
        return ('{%s, sin6_port=htons(%d), sin6_flowinfo=htonl(%d), inet_pton(AF_INET6, "%s", &sin6_addr), '
                'sin6_scope_id=%d}' % (head, port, flow, addr.compressed, scope))
    return "{%s, sa_data=%s}" % (head, quote(raw[2:], False))


def _sockaddr_in(c: Ctx, arg) -> str:
    p = c.v(arg)
    n = s32(c.named(arg.param))
    if not p:
        return "NULL"
    if n <= 0 or n > 128:
        return ptr(p)
    raw = c.mem.read(p, n)
    return ptr(p) if raw is None else sockaddr_str(raw)


def _capture_socklen(c: Ctx, arg) -> None:
    lenarg = c.sig.arg(arg.param) if arg.param else arg
    p = c.v(lenarg)
    c.saved["socklen"] = c.mem.u32(p) if p else None


def _sockaddr_out(c: Ctx, arg) -> str:
    p = c.v(arg)
    if not p:
        return "NULL"
    if c.failed:
        return ptr(p)
    lp = c.named(arg.param)
    given = c.saved.get("socklen")
    now = c.mem.u32(lp) if lp else None
    if given is None or now is None:
        return ptr(p)
    raw = c.mem.read(p, min(s32(given), now)) if min(s32(given), now) > 0 else b""
    return ptr(p) if raw is None else sockaddr_str(raw)


def _socklen_out(c: Ctx, arg) -> str:
    p = c.v(arg)
    if not p:
        return "NULL"
    given = c.saved.get("socklen")
    now = c.mem.u32(p)
    if c.failed or now is None:
        return ptr(p) if given is None else f"[{given}]"
    return f"[{now}]" if given in (None, now) else f"[{given} => {now}]"


def _sockpair(c: Ctx, arg, p) -> str:
    raw = c.mem.read(p, 8)
    return ptr(p) if raw is None else "[%d, %d]" % struct.unpack("<ii", raw)


def _msghdr_str(c: Ctx, p: int, out: bool, count: int | None) -> str:
    raw = c.mem.read(p, 28)
    if raw is None:
        return ptr(p)
    name, namelen, iov, iovlen, control, controllen, flags = struct.unpack("<7I", raw)
    parts = []
    if name and namelen:
        nraw = c.mem.read(name, min(namelen, 128))
        parts.append("msg_name=" + (sockaddr_str(nraw) if nraw is not None else ptr(name)))
    else:
        parts.append("msg_name=NULL" if not name else f"msg_name={ptr(name)}")
    parts.append(f"msg_namelen={namelen}")
    parts.append("msg_iov=" + iovec_str(c, iov, iovlen, count))
    parts.append(f"msg_iovlen={iovlen}")
    if control and controllen:
        parts.append("msg_control=" + _cmsgs_str(c, control, controllen))
    parts.append(f"msg_controllen={controllen}")
    parts.append("msg_flags=" + flags_str(flags, MSG_FLAGS))
    return "{" + ", ".join(parts) + "}"


def _cmsgs_str(c: Ctx, p: int, n: int) -> str:
    raw = c.mem.read(p, min(n, 4096))
    if raw is None:
        return ptr(p)
    out, off = [], 0
    while off + 12 <= len(raw):
        clen, level, ctype = struct.unpack_from("<Iii", raw, off)
        if clen < 12:
            break
        body = raw[off + 12:off + clen]
        lv = SOL_NAMES.get(level, str(level))
        if level == 1 and ctype == 1:
            data = "[" + ", ".join(str(v) for (v,) in struct.iter_unpack("<i", body[:len(body) // 4 * 4])) + "]"
            tname = "SCM_RIGHTS"
        elif level == 1 and ctype == 2 and len(body) >= 12:
            data = "{pid=%d, uid=%d, gid=%d}" % struct.unpack_from("<iII", body)
            tname = "SCM_CREDENTIALS"
        else:
            data, tname = quote(body, False), str(ctype)
        out.append(f"{{cmsg_len={clen}, cmsg_level={lv}, cmsg_type={tname}, cmsg_data={data}}}")
        off += (clen + 3) & ~3
    return "[" + ", ".join(out) + "]"


def _msghdr(c: Ctx, arg) -> str:
    p = c.v(arg)
    if arg.out:
        if c.failed or not p:
            return ptr(p)
        return _msghdr_str(c, p, True, c.res)
    return _msghdr_str(c, p, False, None)


def _mmsghdr(c: Ctx, arg) -> str:
    p = c.v(arg)
    n = c.named(arg.param)
    if arg.out and (c.failed or not p):
        return ptr(p)
    if arg.out:
        n = c.res
    items = []
    for i in range(min(n, 16)):
        hdr = p + 32 * i
        mlen = c.mem.u32(hdr + 28)
        items.append("{msg_hdr=%s, msg_len=%s}" % (_msghdr_str(c, hdr, arg.out, mlen if arg.out else None),
                                                   mlen if mlen is not None else "?"))
    return "[" + ", ".join(items) + ("...]" if n > 16 else "]")


def _sockopt_name(c: Ctx, arg) -> str:
    level = c.named(arg.param)
    table = {1: SO_NAMES, 6: TCP_OPTS, 0: IP_OPTS, 41: IPV6_OPTS}.get(level)
    v = c.v(arg)
    return xlat(v, table, "???") if table else str(v)


def _sockopt_value(c: Ctx, p: int, n: int) -> str:
    if n == 4:
        v = c.mem.u32(p)
        return ptr(p) if v is None else f"[{s32(v)}]"
    return buf_arg(c.mem, p, n)


def _sockopt_val(c: Ctx, arg) -> str:
    p = c.v(arg)
    if not p:
        return "NULL"
    return _sockopt_value(c, p, s32(c.named(arg.param)))


def _sockopt_val_out(c: Ctx, arg) -> str:
    p = c.v(arg)
    if c.failed or not p:
        return ptr(p)
    n = c.mem.u32(c.named(arg.param))
    if n == 12 and c.a[1] == 1 and c.a[2] == 17:  # SOL_SOCKET, SO_PEERCRED: a struct ucred
        raw = c.mem.read(p, 12)
        if raw is not None:
            return "{pid=%d, uid=%d, gid=%d}" % struct.unpack("<iII", raw)
    return ptr(p) if n is None else _sockopt_value(c, p, n)


def _socketcall_args(c: Ctx, arg) -> str:
    return ptr(c.v(arg))


#: `flags(NAME)` in a signature: NAME -> (bits in strace's order, text for 0).
FLAG_SETS: dict[str, tuple[list[tuple[int, str]], str]] = {
    "flock": ([(1, "LOCK_SH"), (2, "LOCK_EX"), (4, "LOCK_NB"), (8, "LOCK_UN")], "0"),
    "efd": ([(0o2000000, "EFD_CLOEXEC"), (0o4000, "EFD_NONBLOCK"), (1, "EFD_SEMAPHORE")], "0"),
    "tfd": ([(0o2000000, "TFD_CLOEXEC"), (0o4000, "TFD_NONBLOCK")], "0"),
    "tfd_settime": ([(1, "TFD_TIMER_ABSTIME"), (2, "TFD_TIMER_CANCEL_ON_SET")], "0"),
    "epoll_create": ([(0o2000000, "EPOLL_CLOEXEC")], "0"),
    "sfd": ([(0o2000000, "SFD_CLOEXEC"), (0o4000, "SFD_NONBLOCK")], "0"),
    "wait": (WAIT_OPTS, "0"),
    "mremap": (MREMAP, "0"),
    "at": (AT_FLAGS, "0"),
    "access": (ACCESS, "F_OK"),
    "statx_mask": (STATX_MASK, "0"),
    "cloexec": ([(0o2000000, "O_CLOEXEC")], "0"),
    "pipe": ([(0o4000, "O_NONBLOCK"), (0o40000, "O_DIRECT"), (0o2000000, "O_CLOEXEC")], "0"),
    "grnd": (GRND, "0"),
    "rename": ([(1, "RENAME_NOREPLACE"), (2, "RENAME_EXCHANGE"), (4, "RENAME_WHITEOUT")], "0"),
    "timer": ([(1, "TIMER_ABSTIME")], "0"),
    "msync": ([(1, "MS_ASYNC"), (2, "MS_INVALIDATE"), (4, "MS_SYNC")], "0"),
    "mlockall": ([(1, "MCL_CURRENT"), (2, "MCL_FUTURE"), (4, "MCL_ONFAULT")], "0"),
    "mlock2": ([(1, "MLOCK_ONFAULT")], "0"),
    "msg": (MSG_FLAGS, "0"),
    "close_range": ([(2, "CLOSE_RANGE_UNSHARE"), (4, "CLOSE_RANGE_CLOEXEC")], "0"),
    "xattr": ([(1, "XATTR_CREATE"), (2, "XATTR_REPLACE")], "0"),
    "pidfd": ([(0o4000, "PIDFD_NONBLOCK"), (0o200, "PIDFD_THREAD")], "0"),
    "inotify_init": ([(0o2000000, "IN_CLOEXEC"), (0o4000, "IN_NONBLOCK")], "0"),
    "inotify_mask": ([(0x1, "IN_ACCESS"), (0x2, "IN_MODIFY"), (0x4, "IN_ATTRIB"), (0x8, "IN_CLOSE_WRITE"),
                      (0x10, "IN_CLOSE_NOWRITE"), (0x20, "IN_OPEN"), (0x40, "IN_MOVED_FROM"), (0x80, "IN_MOVED_TO"),
                      (0x100, "IN_CREATE"), (0x200, "IN_DELETE"), (0x400, "IN_DELETE_SELF"),
                      (0x800, "IN_MOVE_SELF"), (0x01000000, "IN_ONLYDIR"), (0x02000000, "IN_DONT_FOLLOW"),
                      (0x04000000, "IN_EXCL_UNLINK"), (0x10000000, "IN_MASK_CREATE"), (0x20000000, "IN_MASK_ADD"),
                      (0x80000000, "IN_ONESHOT")], "0"),
    "sock": ([(0o2000000, "SOCK_CLOEXEC"), (0o4000, "SOCK_NONBLOCK")], "0"),
}

#: `enum(NAME)` in a signature: NAME -> (value -> name, strace's comment for an unknown value).
ENUM_SETS: dict[str, tuple[dict[int, str], str]] = {
    "idtype": (IDTYPE, "P_???"),
    "seek": (SEEK, "SEEK_???"),
    "madv": (MADV, "MADV_???"),
    "rlimit": (RLIMITS, "RLIMIT_???"),
    "clock": (CLOCKS, "CLOCK_???"),
    "sigprocmask": (SIGPROCMASK_HOW, "SIG_???"),
    "arch_prctl": (ARCH_PRCTL, "ARCH_???"),
    "itimer": (ITIMERS, "ITIMER_???"),
    "rusage_who": ({0: "RUSAGE_SELF", 0xFFFFFFFF: "RUSAGE_CHILDREN", 1: "RUSAGE_THREAD"}, "RUSAGE_???"),
    "prio_which": ({0: "PRIO_PROCESS", 1: "PRIO_PGRP", 2: "PRIO_USER"}, "PRIO_???"),
    "epoll_ctl": ({1: "EPOLL_CTL_ADD", 2: "EPOLL_CTL_DEL", 3: "EPOLL_CTL_MOD"}, "EPOLL_CTL_???"),
    "af": (AF_NAMES, "AF_???"),
    "fadvise": ({0: "POSIX_FADV_NORMAL", 1: "POSIX_FADV_RANDOM", 2: "POSIX_FADV_SEQUENTIAL", 3: "POSIX_FADV_WILLNEED",
                 4: "POSIX_FADV_DONTNEED", 5: "POSIX_FADV_NOREUSE"}, "POSIX_FADV_???"),
    "sol": (SOL_NAMES, "SOL_???"),
    "shutdown": ({0: "SHUT_RD", 1: "SHUT_WR", 2: "SHUT_RDWR"}, "SHUT_???"),
    "sched_policy": ({0: "SCHED_OTHER", 1: "SCHED_FIFO", 2: "SCHED_RR", 3: "SCHED_BATCH", 5: "SCHED_IDLE",
                      6: "SCHED_DEADLINE"}, "SCHED_???"),
}



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

    def __init__(self, task, strsize: int = MAX_STR) -> None:
        self.mm = task.mm
        self.strsize = strsize  # strace -s: how many bytes of a string or buffer are shown

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

    def cstring(self, addr: int, limit: int | None = None) -> tuple[bytes, bool] | None:
        """(string, cut) of at most limit bytes (default -s), or None when unreadable."""
        if addr == 0:
            return None
        if limit is None:
            limit = self.strsize
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


def str_arg(mem: Mem, addr: int, limit: int | None = None) -> str:
    """A NUL-terminated string argument."""
    got = mem.cstring(addr, limit)
    return ptr(addr) if got is None else quote(*got)


def buf_arg(mem: Mem, addr: int, n: int) -> str:
    """A buffer of known length, cut at -s bytes (32 by default)."""
    if n <= 0:
        return '""' if addr else ptr(addr)
    data = mem.read(addr, min(n, mem.strsize))
    return ptr(addr) if data is None else quote(data, n > mem.strsize)


def struct_or_ptr(mem: Mem, addr: int, size: int, fmt_fn) -> str:
    """A struct decoded by fmt_fn(raw), or its address when unreadable."""
    raw = mem.read(addr, size) if addr else None
    return ptr(addr) if raw is None else fmt_fn(raw)



# ---- the decoding context ------------------------------------------------------------------------------------


class Ctx:
    """What a decoder sees: the task's memory, the six argument registers, the signature, values saved at entry
    and (at exit) the result."""

    __slots__ = ("mem", "a", "res", "task", "tracer", "sig", "name", "saved")

    def __init__(self, tracer, task, args, sig=None, name: str = "") -> None:
        self.tracer = tracer
        self.task = task
        self.mem = Mem(task, getattr(tracer, "strsize", MAX_STR))
        self.a = args
        self.res: int | None = None
        self.sig = sig
        self.name = name
        self.saved: dict[str, object] = {}

    @property
    def failed(self) -> bool:
        return self.res is None or -4096 < self.res < 0

    def v(self, arg) -> int:
        """The raw value of an argument (two registers combined for the 64-bit types)."""
        lo = self.a[arg.reg]
        if arg.type == "loff":
            return lo | self.a[arg.reg + 1] << 32
        if arg.type == "loff_hi_lo":
            return self.a[arg.reg] << 32 | self.a[arg.reg + 1]
        return lo

    def named(self, name: str | None) -> int:
        """The value of the argument called name, or the result for `ret`."""
        if name == "ret":
            return self.res if self.res is not None else 0
        return self.v(self.sig.arg(name))


def _out(fn):
    """An output argument: its address when the call failed, else fn's decoding."""
    def dec(c, arg):
        p = c.v(arg)
        if c.failed or not p:
            return ptr(p)
        return fn(c, arg, p)
    return dec


def _in_struct(size, fmt_fn):
    return lambda c, arg: struct_or_ptr(c.mem, c.v(arg), size, fmt_fn)


def _out_struct(size, fmt_fn):
    return _out(lambda c, arg, p: struct_or_ptr(c.mem, p, size, fmt_fn))


# ---- struct formatters ----------------------------------------------------------------------------------------


def timespec(raw: bytes, time64: bool = False) -> str:
    sec, nsec = struct.unpack("<qq" if time64 else "<iI", raw)
    return f"{{tv_sec={sec}, tv_nsec={nsec}}}"


def timeval(raw: bytes) -> str:
    return "{tv_sec=%d, tv_usec=%d}" % struct.unpack("<iI", raw)


def itimerval(raw: bytes) -> str:
    isec, iusec, vsec, vusec = struct.unpack("<iiii", raw)
    return (f"{{it_interval={{tv_sec={isec}, tv_usec={iusec}}}, "
            f"it_value={{tv_sec={vsec}, tv_usec={vusec}}}}}")


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


def user_desc_str(raw: bytes) -> str:
    entry, base, limit, bits = struct.unpack("<iIII", raw)
    return (f"{{entry_number={entry}, base_addr={base:#x}, limit={limit:#08x}, seg_32bit={bits & 1}, "
            f"contents={(bits >> 1) & 3}, read_exec_only={(bits >> 3) & 1}, limit_in_pages={(bits >> 4) & 1}, "
            f"seg_not_present={(bits >> 5) & 1}, useable={(bits >> 6) & 1}}}")


def handler_str(handler: int) -> str:
    return {0: "SIG_DFL", 1: "SIG_IGN"}.get(handler, f"{handler:#x}")


def sigaction_str(raw: bytes, old_layout: bool = False) -> str:
    if old_layout:
        handler, mask, flags, restorer = struct.unpack("<IIII", raw)
    else:
        handler, flags, restorer, mask = struct.unpack("<IIIQ", raw)
    # strace on an x86-64 host (this project's oracle) neither names SA_RESTORER nor prints sa_restorer for an
    # i386 tracee, although glibc sets both; print what it prints.
    flags &= ~0x04000000
    return f"{{sa_handler={handler_str(handler)}, sa_mask={sigset_str(mask)}, sa_flags={flags_str(flags, SA_FLAGS)}}}"


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
    st = signal_name(status) if code in (2, 3, 4, 5, 6) else str(status)
    return (f"{{si_signo={signal_name(signo)}, si_code={CLD_CODES.get(code, code)}, si_pid={pid}, si_uid={uid}, "
            f"si_status={st}, si_utime=0, si_stime=0}}")


SI_CODES = {0: "SI_USER", 0x80: "SI_KERNEL", -1: "SI_QUEUE", -2: "SI_TIMER", -3: "SI_MESGQ", -4: "SI_ASYNCIO",
            -5: "SI_SIGIO", -6: "SI_TKILL"}


def siginfo_str(raw: bytes) -> str:
    """A siginfo_t of a signal sent by a process, as strace prints one (print_siginfo)."""
    signo, _errno, code, pid, uid, value = struct.unpack_from("<iiiiIi", raw)
    if signo == 0:
        return "{}"
    text = f"{{si_signo={signal_name(signo)}, si_code={SI_CODES.get(code, code)}"
    if code in (0, -1, -6) or code < 0:
        text += f", si_pid={pid}, si_uid={uid}"
    if code in (-1, -2, -3):
        text += f", si_int={value}, si_ptr={ptr(value & 0xFFFFFFFF)}"
    return text + "}"


def _itimerspec_str(wide: bool):
    fmt = "<qqqq" if wide else "<iIiI"

    def fmt_fn(r: bytes) -> str:
        a, b, v, w = struct.unpack(fmt, r)
        return f"{{it_interval={{tv_sec={a}, tv_nsec={b}}}, it_value={{tv_sec={v}, tv_nsec={w}}}}}"
    return fmt_fn


EPOLL_EVENTS = [(0x1, "EPOLLIN"), (0x2, "EPOLLPRI"), (0x4, "EPOLLOUT"), (0x8, "EPOLLERR"), (0x10, "EPOLLHUP"),
                (0x40, "EPOLLRDNORM"), (0x80, "EPOLLRDBAND"), (0x100, "EPOLLWRNORM"), (0x200, "EPOLLWRBAND"),
                (0x2000, "EPOLLRDHUP"), (1 << 28, "EPOLLEXCLUSIVE"), (1 << 29, "EPOLLWAKEUP"),
                (1 << 30, "EPOLLONESHOT"), (1 << 31, "EPOLLET")]


def _epoll_event_str(r: bytes) -> str:
    ev, data = struct.unpack("<IQ", r)
    return f"{{events={flags_str(ev, EPOLL_EVENTS, '0')}, data={{u32={data & 0xFFFFFFFF}, u64={data}}}}}"


def _epoll_events(c: Ctx, p: int, n) -> str:
    raw = c.mem.read(p, max(0, min(int(n or 0), 1024)) * 12)
    if raw is None:
        return ptr(p)
    return "[" + ", ".join(_epoll_event_str(raw[i:i + 12]) for i in range(0, len(raw), 12)) + "]"


def _gid_list(c: Ctx, p: int, n) -> str:
    """getgroups' list: [g1, g2] (16-bit gids for getgroups, 32-bit for getgroups32)."""
    size = 2 if c.name in ("getgroups", "setgroups") else 4
    raw = c.mem.read(p, max(0, min(int(n or 0), 65536)) * size)
    if raw is None:
        return ptr(p)
    return "[" + ", ".join(str(int.from_bytes(raw[i:i + size], "little")) for i in range(0, len(raw), size)) + "]"


def _cpu_mask(c: Ctx, p: int, n) -> str:
    """A CPU set as strace prints it: the numbers of the set bits, [0 1 ...]."""
    raw = c.mem.read(p, max(0, min(int(n or 0), 128)))
    if raw is None:
        return ptr(p)
    bits = int.from_bytes(raw, "little")
    return "[" + " ".join(str(i) for i in range(len(raw) * 8) if bits >> i & 1) + "]"


def _uname(raw: bytes) -> str:
    f = [raw[k * 65:(k + 1) * 65].split(b"\0")[0] for k in range(6)]
    return f"{{sysname={quote(f[0], False)}, nodename={quote(f[1], False)}, ...}}"


def _sigaltstack(raw: bytes) -> str:
    sp, flags, size = struct.unpack("<IiI", raw)
    fl = {0: "0", 1: "SS_ONSTACK", 2: "SS_DISABLE"}.get(flags, f"{flags:#x}")
    return f"{{ss_sp={ptr(sp)}, ss_flags={fl}, ss_size={size}}}"


def _rlimit(bits):
    fmt = "<II" if bits == 32 else "<QQ"
    return lambda r: "{rlim_cur=%s, rlim_max=%s}" % tuple(rlim_str(v, bits) for v in struct.unpack(fmt, r))


def _mmap_args(addr, length, prot, flags, fd, off) -> str:
    mtype = MAP_TYPE.get(flags & 3, f"{flags & 3:#x} /* MAP_??? */")
    rest = flags_str(flags & ~3, MAP_FLAGS, "")
    return (f"{ptr(addr)}, {length}, {flags_str(prot, PROT, 'PROT_NONE')}, {mtype}{'|' + rest if rest else ''}, "
            f"{s32(fd)}, {f'{off:#x}' if off else 0}")


FS_MAGIC = {0xEF53: "EXT2_SUPER_MAGIC", 0x01021994: "TMPFS_MAGIC", 0x794C7630: "OVERLAYFS_SUPER_MAGIC",
            0x9123683E: "BTRFS_SUPER_MAGIC", 0x58465342: "XFS_SUPER_MAGIC", 0x50495045: "PIPEFS_MAGIC",
            0x9FA0: "PROC_SUPER_MAGIC", 0x62656572: "SYSFS_MAGIC"}


def _statfs_str(raw: bytes, wide: bool) -> str:
    """strace's struct statfs / statfs64."""
    if wide:
        ftype, bsize, blocks, bfree, bavail, files, ffree, f0, f1, namelen, frsize, flags = \
            struct.unpack_from("<IIQQQQQiiIII", raw)
    else:
        ftype, bsize, blocks, bfree, bavail, files, ffree, f0, f1, namelen, frsize, flags = \
            struct.unpack_from("<IIIIIIIiiIII", raw)
    mnt = [(1, "ST_RDONLY"), (2, "ST_NOSUID"), (4, "ST_NODEV"), (8, "ST_NOEXEC"), (16, "ST_SYNCHRONOUS"),
           (32, "ST_VALID"), (64, "ST_MANDLOCK"), (1024, "ST_NOATIME"), (2048, "ST_NODIRATIME"),
           (4096, "ST_RELATIME")]
    return (f"{{f_type={FS_MAGIC.get(ftype, f'{ftype:#x}')}, f_bsize={bsize}, f_blocks={blocks}, f_bfree={bfree}, "
            f"f_bavail={bavail}, f_files={files}, f_ffree={ffree}, "
            f"f_fsid={{val=[{f0 & 0xFFFFFFFF:#x}, {f1 & 0xFFFFFFFF:#x}]}}, "
            f"f_namelen={namelen}, f_frsize={frsize}, f_flags={flags_str(flags, mnt)}}}")


CAP_NAMES = ("CHOWN", "DAC_OVERRIDE", "DAC_READ_SEARCH", "FOWNER", "FSETID", "KILL", "SETGID", "SETUID", "SETPCAP",
             "LINUX_IMMUTABLE", "NET_BIND_SERVICE", "NET_BROADCAST", "NET_ADMIN", "NET_RAW", "IPC_LOCK", "IPC_OWNER",
             "SYS_MODULE", "SYS_RAWIO", "SYS_CHROOT", "SYS_PTRACE", "SYS_PACCT", "SYS_ADMIN", "SYS_BOOT", "SYS_NICE",
             "SYS_RESOURCE", "SYS_TIME", "SYS_TTY_CONFIG", "MKNOD", "LEASE", "AUDIT_WRITE", "AUDIT_CONTROL",
             "SETFCAP", "MAC_OVERRIDE", "MAC_ADMIN", "SYSLOG", "WAKE_ALARM", "BLOCK_SUSPEND", "AUDIT_READ",
             "PERFMON", "BPF", "CHECKPOINT_RESTORE")
CAP_VERSIONS = {0x19980330: "_LINUX_CAPABILITY_VERSION_1", 0x20071026: "_LINUX_CAPABILITY_VERSION_2",
                0x20080522: "_LINUX_CAPABILITY_VERSION_3"}


def _capset_str(mask: int) -> str:
    """1<<CAP_CHOWN|1<<CAP_KILL|..., leftover bits in hex, as strace prints a capability set."""
    parts = [f"1<<CAP_{n}" for i, n in enumerate(CAP_NAMES) if mask >> i & 1]
    rest = mask & ~((1 << len(CAP_NAMES)) - 1)
    if rest:
        parts.append(f"{rest:#x}")
    return "|".join(parts) or "0"


def _cap_header(raw: bytes) -> str:
    version, pid = struct.unpack_from("<Ii", raw)
    name = CAP_VERSIONS.get(version, f"{version:#x} /* _LINUX_CAPABILITY_VERSION_??? */")
    return f"{{version={name}, pid={pid}}}"


def _cap_data(c: Ctx, arg) -> str:
    """strace's {effective=1<<CAP_CHOWN|..., permitted=..., inheritable=...} of the joined 32-bit words."""
    p = c.v(arg)
    raw = c.mem.read(p, 24) if p else None
    if raw is None:
        return ptr(p)
    e0, p0, i0, e1, p1, i1 = struct.unpack("<6I", raw)
    return (f"{{effective={_capset_str(e0 | e1 << 32)}, permitted={_capset_str(p0 | p1 << 32)}, "
            f"inheritable={_capset_str(i0 | i1 << 32)}}}")


IPC_CMDS = {"shm": {0: "IPC_RMID", 1: "IPC_SET", 2: "IPC_STAT", 3: "IPC_INFO", 11: "SHM_LOCK", 12: "SHM_UNLOCK",
                    13: "SHM_STAT", 14: "SHM_INFO", 15: "SHM_STAT_ANY"},
            "sem": {0: "IPC_RMID", 1: "IPC_SET", 2: "IPC_STAT", 3: "IPC_INFO", 11: "GETPID", 12: "GETVAL",
                    13: "GETALL", 14: "GETNCNT", 15: "GETZCNT", 16: "SETVAL", 17: "SETALL", 18: "SEM_STAT",
                    19: "SEM_INFO", 20: "SEM_STAT_ANY"},
            "msg": {0: "IPC_RMID", 1: "IPC_SET", 2: "IPC_STAT", 3: "IPC_INFO", 11: "MSG_STAT", 12: "MSG_INFO",
                    13: "MSG_STAT_ANY"}}
IPC_FLAGS = [(0o1000, "IPC_CREAT"), (0o2000, "IPC_EXCL"), (0o4000, "IPC_NOWAIT"), (0o10000, "SHM_RDONLY"),
             (0o20000, "SHM_RND"), (0o40000, "SHM_REMAP"), (0o100000, "SHM_EXEC")]
IPC_CALLS = {1: "SEMOP", 2: "SEMGET", 3: "SEMCTL", 4: "SEMTIMEDOP", 11: "MSGSND", 12: "MSGRCV", 13: "MSGGET",
             14: "MSGCTL", 21: "SHMAT", 22: "SHMDT", 23: "SHMGET", 24: "SHMCTL"}


def _ipc_flags(v: int) -> str:
    """IPC_CREAT|IPC_EXCL|0600: the flag bits by name, then the mode in octal."""
    named = flags_str(v & ~0o777, IPC_FLAGS, "")
    mode = f"{v & 0o777:#o}" if v & 0o777 else ""
    return "|".join(x for x in (named, mode) if x) or "0"


def _ipc_cmd(c: Ctx, arg) -> str:
    v = c.v(arg)
    name = IPC_CMDS[arg.param].get(v & ~0x100, f"{v & ~0x100:#x}")
    return ("IPC_64|" if v & 0x100 else "") + name


def _sembuf(c: Ctx, arg) -> str:
    p, n = c.v(arg), c.named(arg.param)
    raw = c.mem.read(p, 6 * n) if 0 < n <= 1024 else None
    if raw is None:
        return ptr(p)
    ops = []
    for i in range(n):
        num, op, flg = struct.unpack_from("<Hhh", raw, 6 * i)
        fl = flags_str(flg & 0xFFFF, [(0o4000, "IPC_NOWAIT"), (0o10000, "SEM_UNDO")])
        ops.append(f"{{sem_num={num}, sem_op={op}, sem_flg={fl}}}")
    return "[" + ", ".join(ops) + "]"


def _msgbuf(c: Ctx, arg) -> str:
    p, n = c.v(arg), c.named(arg.param)
    mtype = c.mem.u32(p) if p else None
    if mtype is None:
        return ptr(p)
    return f"{{mtype={s32(mtype)}, mtext={buf_arg(c.mem, p + 4, n)}}}"


def _utc_comment(sec: int, nsec: int) -> str:
    """strace's ` /* 1970-01-01T00:00:01.000000002+0000 */` after an absolute time."""
    import datetime

    try:
        when = datetime.datetime.fromtimestamp(sec, datetime.timezone.utc)
    except (OverflowError, OSError, ValueError):
        return ""
    return f" /* {when.strftime('%Y-%m-%dT%H:%M:%S')}.{nsec:09d}+0000 */"


def _utimens(time64: bool):
    fmt, size = ("<qq", 16) if time64 else ("<iI", 8)

    def fmt_fn(raw):
        parts = []
        for i in range(2):
            sec, nsec = struct.unpack_from(fmt, raw, i * size)
            if nsec == (1 << 30) - 1:
                parts.append("UTIME_NOW")
            elif nsec == (1 << 30) - 2:
                parts.append("UTIME_OMIT")
            else:
                parts.append(f"{{tv_sec={sec}, tv_nsec={nsec}}}{_utc_comment(sec, nsec)}")
        return "[" + ", ".join(parts) + "]"
    return lambda c, arg: struct_or_ptr(c.mem, c.v(arg), 2 * size, fmt_fn)


def _pollfds(c: Ctx, addr: int, n: int, revents: bool) -> str | None:
    raw = c.mem.read(addr, 8 * n) if 0 < n <= 1024 else None
    if raw is None:
        return None
    parts = []
    for i in range(n):
        fd, events, rev = struct.unpack_from("<ihh", raw, 8 * i)
        if revents:
            if rev:
                parts.append(f"{{fd={fd}, revents={flags_str(rev & 0xFFFF, POLL_EVENTS)}}}")
        elif fd < 0:
            parts.append(f"{{fd={fd}}}")  # strace leaves out the events of an ignored entry
        else:
            parts.append(f"{{fd={fd}, events={flags_str(events & 0xFFFF, POLL_EVENTS)}}}")
    return "[" + ", ".join(parts) + "]"


def _fd_set(c: Ctx, addr: int, n: int) -> str:
    if not addr:
        return "NULL"
    nbytes = ((n + 31) // 32) * 4
    raw = c.mem.read(addr, nbytes) if 0 <= n <= 1024 else None
    if raw is None:
        return ptr(addr)
    bits = int.from_bytes(raw, "little")
    return "[" + " ".join(str(fd) for fd in range(n) if bits >> fd & 1) + "]"


def _clone3_args(c: Ctx, arg) -> str:
    addr = c.v(arg)
    raw = c.mem.read(addr, 64)
    if raw is None:
        return ptr(addr)
    flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls = struct.unpack("<8Q", raw)
    parts = [f"flags={flags_str(flags, list(_STRACE_CLONE_FLAGS))}"]
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


def _argv(c: Ctx, arg) -> str:
    addr = c.v(arg)
    argv = []
    a = addr
    while a and len(argv) < 4096:
        v = c.mem.u32(a)
        if v is None:
            return ptr(addr)
        if v == 0:
            break
        argv.append(str_arg(c.mem, v))
        a += 4
    return ("[" + ", ".join(argv) + "]") if addr else "NULL"


def _envp(c: Ctx, arg) -> str:
    addr = c.v(arg)
    n = 0
    while addr:
        v = c.mem.u32(addr + 4 * n)
        if not v:
            break
        n += 1
    return f"{ptr(addr)} /* {n} var{'s' if n != 1 else ''} */" if addr else "NULL"


def _dirents(c: Ctx, arg, p) -> str:
    raw = c.mem.read(p, c.res) or b""
    n = pos = 0
    while pos + 19 <= len(raw):
        reclen = struct.unpack_from("<H", raw, pos + 16)[0]
        if reclen == 0:
            break
        n += 1
        pos += reclen
    return f"{ptr(p)} /* {n} entr{'ies' if n != 1 else 'y'} */"


def _futex_timeout(c: Ctx, arg) -> str | None:
    cmd = c.named(arg.param) & 0x7F
    v = c.v(arg)
    if cmd in (0, 9, 11):  # WAIT, WAIT_BITSET, WAIT_REQUEUE_PI: a timespec
        time64 = c.name.endswith("_time64")
        return struct_or_ptr(c.mem, v, 16 if time64 else 8, lambda r: timespec(r, time64))
    if cmd == 10:  # WAKE_BITSET: unused pointer
        return ptr(v)
    if cmd in (3, 4):  # REQUEUE, CMP_REQUEUE: the requeue count
        return str(s32(v))
    return None


def _futex_uaddr2(c: Ctx, arg) -> str | None:
    cmd = c.named(arg.param) & 0x7F
    return ptr(c.v(arg)) if cmd in (3, 4, 10) else None


def _futex_val3(c: Ctx, arg) -> str | None:
    cmd = c.named(arg.param) & 0x7F
    v = c.v(arg)
    if cmd in (9, 10):
        return "FUTEX_BITSET_MATCH_ANY" if v == 0xFFFFFFFF else f"{v:#x}"
    if cmd == 4:
        return str(s32(v))
    return None


def _futex_op(c: Ctx, arg) -> str:
    op = c.v(arg)
    cmd = op & 0x7F
    name = FUTEX_CMDS.get(cmd, f"{cmd:#x}")
    if op & 128:
        name += "_PRIVATE"
    if op & 256:
        name += "|FUTEX_CLOCK_REALTIME"
    return name


def _fcntl_arg(c: Ctx, arg) -> str | None:
    cmd, v = c.named(arg.param), c.v(arg)
    if cmd in (1, 3):  # F_GETFD, F_GETFL
        return None
    if cmd == 2:
        return "FD_CLOEXEC" if v == 1 else str(v)
    if cmd == 4:
        return open_flags(v)
    if cmd in (5, 6, 7, 12, 13, 14, 36, 37, 38):  # a struct flock (flock64 for fcntl64's 64-bit and OFD commands)
        wide = c.name == "fcntl64" and cmd not in (5, 6, 7)
        size, fmt = (24, "<hhqqi") if wide else (16, "<hhiii")
        return struct_or_ptr(c.mem, v, size, lambda r: _flock_str(struct.unpack(fmt, r), cmd in (36, 37, 38)))
    return str(s32(v))


def _flock_str(f, ofd: bool) -> str:
    type_, whence, start, length, pid = f
    text = (f"{{l_type={ {0: 'F_RDLCK', 1: 'F_WRLCK', 2: 'F_UNLCK'}.get(type_, str(type_))}, "
            f"l_whence={ {0: 'SEEK_SET', 1: 'SEEK_CUR', 2: 'SEEK_END'}.get(whence, str(whence))}, "
            f"l_start={start}, l_len={length}")
    return text + (f", l_pid={pid}}}" if ofd or pid else "}")


def _ioctl_arg(c: Ctx, arg) -> str:
    cmd, p = c.named(arg.param), c.v(arg)
    if not c.failed:
        if cmd == 0x5413:
            return struct_or_ptr(c.mem, p, 8, lambda r: "{ws_row=%d, ws_col=%d, ws_xpixel=%d, ws_ypixel=%d}"
                                 % struct.unpack("<4H", r))
        if cmd in (0x540F, 0x541B):
            v = c.mem.u32(p)
            return f"[{s32(v)}]" if v is not None else ptr(p)
    return ptr(p)


def _prctl_arg(c: Ctx, arg) -> str | None:
    option, v = c.named(arg.param), c.v(arg)
    if option == 3:  # PR_GET_DUMPABLE: no argument
        return None
    if option == 4:  # PR_SET_DUMPABLE
        return DUMPABLE.get(v, str(v))
    if option in (15, 16):  # PR_SET_NAME, PR_GET_NAME
        if option == 16 and c.failed:
            return ptr(v)
        return str_arg(c.mem, v, 15)
    if option == 1:  # PR_SET_PDEATHSIG
        return signal_name(v) if v else "0"
    if option == 2:  # PR_GET_PDEATHSIG
        if c.failed:
            return ptr(v)
        s = c.mem.u32(v)
        return ptr(v) if s is None else f"[{signal_name(s) if s else 0}]"
    return f"{v:#x}"


def _mremap_addr(c: Ctx, arg) -> str | None:
    return ptr(c.v(arg)) if c.named(arg.param) & 2 else None


def _open_mode(c: Ctx, arg) -> str | None:
    fl = c.named(arg.param)
    if fl & 0o100 or fl & 0o20200000 == 0o20200000:
        return octal(c.v(arg))
    return None


_FILE_TYPES = {0o010000: "S_IFIFO", 0o020000: "S_IFCHR", 0o060000: "S_IFBLK", 0o100000: "S_IFREG",
               0o140000: "S_IFSOCK"}


def _mknod_mode(c: Ctx, arg) -> str:
    """S_IFIFO|0644, as strace prints mknod's mode."""
    v = c.v(arg)
    kind = _FILE_TYPES.get(v & 0o170000)
    perm = octal(v & 0o7777)
    return f"{kind}|{perm}" if kind else perm


def _mknod_dev(c: Ctx, arg) -> str | None:
    """makedev(major, minor) for a device node; nothing for other kinds (strace leaves it out)."""
    if c.named(arg.param) & 0o170000 not in (0o020000, 0o060000):
        return None
    d = c.v(arg)
    return f"makedev({(d >> 8) & 0xFFF:#x}, {(d & 0xFF) | ((d >> 12) & 0xFFF00):#x})"


def _statx_flags(c: Ctx, arg) -> str:
    v = c.v(arg)
    return "|".join(filter(None, [STATX_SYNC.get(v & 0x6000, ""), flags_str(v & ~0x6000, AT_FLAGS, "")]))


def _tid_ptr(c: Ctx, arg) -> str | None:
    flags = c.named(arg.param)
    p = c.v(arg)
    if arg.name == "parent_tid":
        if not flags & 0x00100000:  # CLONE_PARENT_SETTID
            return None
        val = c.mem.u32(p) if not c.failed else None
        return f"[{val}]" if val is not None else ptr(p)
    return ptr(p) if flags & (0x01000000 | 0x00200000) else None  # CLONE_CHILD_SETTID | CLONE_CHILD_CLEARTID


def _tls(c: Ctx, arg) -> str | None:
    if not c.named(arg.param) & 0x00080000:  # CLONE_SETTLS
        return None
    return struct_or_ptr(c.mem, c.v(arg), 16, user_desc_str)


def _sel_args(c: Ctx, arg) -> str:
    raw = c.mem.read(c.v(arg), 20)
    if raw is None:
        return ptr(c.v(arg))
    n, inp, outp, exp, tvp = struct.unpack("<5I", raw)
    return ", ".join([str(s32(n)), _fd_set(c, inp, n), _fd_set(c, outp, n), _fd_set(c, exp, n),
                      struct_or_ptr(c.mem, tvp, 8, timeval)])


def _pselect_sig(c: Ctx, arg) -> str:
    p = c.v(arg)
    raw = c.mem.read(p, 8) if p else None
    if raw is None:
        return ptr(p)
    ss, size = struct.unpack("<II", raw)
    m = c.mem.read(ss, 8) if ss and size == 8 else None
    mask = ptr(ss) if m is None else sigset_str(struct.unpack("<Q", m)[0])
    return f"{{sigmask={mask}, sigsetsize={size}}}"


def _sigset(c: Ctx, arg, p=None) -> str:
    p = c.v(arg) if p is None else p
    size = c.named(arg.param) if arg.param else 4
    raw = c.mem.read(p, size) if p and 0 < size <= 8 else None
    if raw is None:
        return ptr(p)
    return sigset_str(int.from_bytes(raw, "little"), 8 * size)


def _sigframe(c: Ctx, arg, rt: bool) -> str:
    """The mask a sigreturn restores, read from the frame at the stack pointer as strace does."""
    sp = c.task.regs.sp if c.saved.get("sp") is None else c.saved["sp"]
    if rt:  # the rt_sigframe starts 4 below esp; its ucontext's uc_sigmask follows the sigcontext
        raw = c.mem.read(sp - 4 + 16 + 128 + 20 + SIGCONTEXT.size, 8)
        mask = None if raw is None else struct.unpack("<Q", raw)[0]
    else:  # the sigcontext starts at esp (sig popped); oldmask inside it, extramask right after it
        lo = c.mem.u32(sp + 4 * SIGCONTEXT_FIELDS.index("oldmask"))
        hi = c.mem.u32(sp + SIGCONTEXT.size)
        mask = None if lo is None or hi is None else lo | hi << 32
    return "{mask=%s}" % (sigset_str(mask) if mask is not None else "?")


def _capture_sp(c: Ctx, arg) -> None:
    c.saved["sp"] = c.task.regs.sp


def _inout_off(fmt: str):
    size = struct.calcsize(fmt)

    def capture(c, arg):
        raw = c.mem.read(c.v(arg), size) if c.v(arg) else None
        c.saved[arg.name] = None if raw is None else struct.unpack(fmt, raw)[0]

    def dec(c, arg):
        p = c.v(arg)
        if not p:
            return "NULL"
        before = c.saved.get(arg.name)
        if before is None:
            return ptr(p)
        out = f"[{before}]"
        if not c.failed:
            raw = c.mem.read(p, size)
            if raw is not None:
                out += f" => [{struct.unpack(fmt, raw)[0]}]"
        return out
    return dec, capture


def octal(v: int) -> str:
    """A mode as strace prints it, C's %#03o: 000, 022, 0644, 0100644."""
    return ("0%o" % v if v else "0").rjust(3, "0")


def _set_flags(c: Ctx, arg) -> str:
    table, zero = FLAG_SETS[arg.param]
    return flags_str(c.v(arg), table, zero)


def _set_enum(c: Ctx, arg) -> str:
    table, unknown = ENUM_SETS[arg.param]
    return xlat(c.v(arg), table, unknown)


def _buf(c: Ctx, arg) -> str:
    return buf_arg(c.mem, c.v(arg), c.named(arg.param))


def _outbuf(c: Ctx, arg, p) -> str:
    return buf_arg(c.mem, p, c.named(arg.param))


def _iovec(c: Ctx, arg) -> str:
    return iovec_str(c, c.v(arg), c.named(arg.param), None)


def _out_iovec(c: Ctx, arg, p) -> str:
    return iovec_str(c, p, c.named(arg.param), c.res)


def _uid(bits: int):
    def dec(c, arg):
        v = c.v(arg) & ((1 << bits) - 1)
        return "-1" if v == (1 << bits) - 1 else str(v)
    return dec


def _wait_status(c: Ctx, arg) -> str:
    p = c.v(arg)
    if c.failed or c.res == 0 or not p:
        return ptr(p)
    st = c.mem.u32(p)
    return ptr(p) if st is None else f"[{wait_status_str(st)}]"


def _rusage(c: Ctx, arg) -> str:
    p = c.v(arg)
    if c.failed or c.res == 0 or not p:
        return ptr(p)
    return "{ru_utime={tv_sec=0, tv_usec=0}, ru_stime={tv_sec=0, tv_usec=0}, ...}"


def _time_ptr(c: Ctx, arg, p) -> str:
    v = c.mem.u32(p)
    return ptr(p) if v is None else f"[{v}]"


def _loff_ptr(c: Ctx, arg, p) -> str:
    raw = c.mem.read(p, 8)
    return ptr(p) if raw is None else f"[{struct.unpack('<q', raw)[0]}]"


def _pipefds(c: Ctx, arg, p) -> str:
    raw = c.mem.read(p, 8)
    return ptr(p) if raw is None else "[%d, %d]" % struct.unpack("<ii", raw)


def _restart(c: Ctx, arg) -> str:
    return "<... resuming interrupted call ...>"


#: Argument type -> decoder(ctx, arg) -> text, or None when strace leaves the argument out; a pair is
#: (decoder, capture), the capture run at entry to save what an in/out argument held before the call.
DECODERS: dict = {
    "int": lambda c, arg: str(s32(c.v(arg))),
    "uint": lambda c, arg: str(c.v(arg) & 0xFFFFFFFF),
    "size": lambda c, arg: str(c.v(arg) & 0xFFFFFFFF),
    "hex": lambda c, arg: f"{c.v(arg):#x}",
    "off": lambda c, arg: str(s32(c.v(arg))),
    "loff": lambda c, arg: str(c.v(arg) - (1 << 64) if c.v(arg) >> 63 else c.v(arg)),
    "loff_hi_lo": lambda c, arg: str(c.v(arg) - (1 << 64) if c.v(arg) >> 63 else c.v(arg)),
    "ptr": lambda c, arg: ptr(c.v(arg)),
    "fd": lambda c, arg: str(s32(c.v(arg))),
    "dirfd": lambda c, arg: "AT_FDCWD" if s32(c.v(arg)) == -100 else str(s32(c.v(arg))),
    "pid": lambda c, arg: str(s32(c.v(arg))),
    "uid": _uid(32), "gid": _uid(32), "uid16": _uid(16), "gid16": _uid(16),
    "signal": lambda c, arg: signal_name(c.v(arg)),
    "path": lambda c, arg: (str_arg(c.mem, c.v(arg), PATH_MAX) if not arg.out else
                            _out(lambda c, arg, p: str_arg(c.mem, p, PATH_MAX))(c, arg)),
    "str": lambda c, arg: str_arg(c.mem, c.v(arg)),
    "comm": lambda c, arg: str_arg(c.mem, c.v(arg), 15),
    "buf": lambda c, arg: _buf(c, arg) if not arg.out else _out(_outbuf)(c, arg),
    "argv": _argv,
    "envp": _envp,
    "dirents": _out(_dirents),
    "mode": lambda c, arg: octal(c.v(arg)),
    "umask": lambda c, arg: octal(c.v(arg)),
    "open_flags": lambda c, arg: open_flags(c.v(arg)),
    "open_mode": _open_mode,
    "mknod_mode": _mknod_mode,
    "mknod_dev": _mknod_dev,
    "flags": _set_flags,
    "enum": _set_enum,
    "prot": lambda c, arg: flags_str(c.v(arg), PROT, "PROT_NONE"),
    "mmap_flags": lambda c, arg: (MAP_TYPE.get(c.v(arg) & 3, f"{c.v(arg) & 3:#x} /* MAP_??? */")
                                  + "".join("|" + f for f in [flags_str(c.v(arg) & ~3, MAP_FLAGS, "")] if f)),
    "pgoff": lambda c, arg: f"{c.v(arg) * 4096:#x}" if c.v(arg) else "0",
    "clone_flags": lambda c, arg: clone_flags_str(c.v(arg)),
    "fcntl_cmd": lambda c, arg: xlat(c.v(arg), FCNTL, "F_???"),
    "fcntl_arg": _fcntl_arg,
    "ioctl_cmd": lambda c, arg: xlat(c.v(arg), IOCTLS, "_IOC(???)"),
    "ioctl_arg": _ioctl_arg,
    "futex_op": _futex_op,
    "futex_timeout": _futex_timeout,
    "futex_uaddr2": _futex_uaddr2,
    "futex_val3": _futex_val3,
    "mremap_addr": _mremap_addr,
    "prctl_option": lambda c, arg: xlat(c.v(arg), PRCTL, "PR_???"),
    "prctl_arg": _prctl_arg,
    "statx_flags": _statx_flags,
    "int_ptr": _out(lambda c, arg, p: f"[{s32(c.mem.u32(p))}]" if c.mem.u32(p) is not None else ptr(p)),
    "time_ptr": _out(_time_ptr),
    "loff_ptr": _out(_loff_ptr),
    "loff_inout": _inout_off("<q"),
    "off_inout": _inout_off("<i"),
    "pipefds": _out(_pipefds),
    "timespec": lambda c, arg: (struct_or_ptr(c.mem, c.v(arg), 8, timespec) if not arg.out else
                                _out_struct(8, timespec)(c, arg)),
    "timespec64": lambda c, arg: (struct_or_ptr(c.mem, c.v(arg), 16, lambda r: timespec(r, True)) if not arg.out
                                  else _out_struct(16, lambda r: timespec(r, True))(c, arg)),
    "timeval": lambda c, arg: (struct_or_ptr(c.mem, c.v(arg), 8, timeval) if not arg.out else
                               _out_struct(8, timeval)(c, arg)),
    "itimerval": lambda c, arg: (struct_or_ptr(c.mem, c.v(arg), 16, itimerval) if not arg.out else
                                 _out_struct(16, itimerval)(c, arg)),
    "utimens": _utimens(False),
    "utimens64": _utimens(True),
    "stat64": _out_struct(96, stat64_str),
    "statx": _out_struct(256, statx_str),
    "rlimit": lambda c, arg: (_in_struct(8, _rlimit(32)) if not arg.out else _out_struct(8, _rlimit(32)))(c, arg),
    "rlimit64": lambda c, arg: (_in_struct(16, _rlimit(64)) if not arg.out else
                                _out_struct(16, _rlimit(64)))(c, arg),
    "sigaction": lambda c, arg: (_in_struct(20, sigaction_str) if not arg.out else
                                 _out_struct(20, sigaction_str))(c, arg),
    "old_sigaction": lambda c, arg: (_in_struct(16, lambda r: sigaction_str(r, True)) if not arg.out else
                                     _out_struct(16, lambda r: sigaction_str(r, True)))(c, arg),
    "sigset": lambda c, arg: _sigset(c, arg) if not arg.out else _out(lambda c, arg, p: _sigset(c, arg, p))(c, arg),
    "old_sigset": lambda c, arg: (_sigset(c, arg) if not arg.out else
                                  _out(lambda c, arg, p: _sigset(c, arg, p))(c, arg)),
    "sigmask_val": lambda c, arg: sigset_str(c.v(arg), 32),
    "sighandler": lambda c, arg: handler_str(c.v(arg)),
    "user_desc": lambda c, arg: (_in_struct(16, user_desc_str) if not arg.out else
                                 _out_struct(16, user_desc_str))(c, arg),
    "tls": _tls,
    "tid_ptr": _tid_ptr,
    "utsname": _out_struct(390, _uname),
    "iovec": lambda c, arg: _iovec(c, arg) if not arg.out else _out(_out_iovec)(c, arg),
    "pollfd": lambda c, arg: _pollfds(c, c.v(arg), c.named(arg.param), False) or ptr(c.v(arg)),
    "fd_set": lambda c, arg: _fd_set(c, c.v(arg), c.named(arg.param)),
    "sigaltstack": lambda c, arg: (_in_struct(12, _sigaltstack) if not arg.out else
                                   _out_struct(12, _sigaltstack))(c, arg),
    "siginfo": _out_struct(128, siginfo_chld_str),
    "siginfo_user": lambda c, arg: (_out_struct(128, siginfo_str) if arg.out else
                                    lambda c, arg: struct_or_ptr(c.mem, c.v(arg), 128, siginfo_str))(c, arg),
    "rusage": _rusage,
    "wait_status": _wait_status,
    "clone_args": _clone3_args,
    "mmap_args": lambda c, arg: struct_or_ptr(c.mem, c.v(arg), 24, lambda r: _mmap_args(*struct.unpack("<6I", r))),
    "sel_args": _sel_args,
    "pselect_sig": _pselect_sig,
    "sigframe": (lambda c, arg: _sigframe(c, arg, False), _capture_sp),
    "rt_sigframe": (lambda c, arg: _sigframe(c, arg, True), _capture_sp),
    "restart": _restart,
    "statfs": _out_struct(64, lambda r: _statfs_str(r, False)),
    "statfs64": _out_struct(84, lambda r: _statfs_str(r, True)),
    "cap_header": lambda c, arg: struct_or_ptr(c.mem, c.v(arg), 8, _cap_header),
    "cap_data": lambda c, arg: (_cap_data(c, arg) if not arg.out else
                                _out(lambda c, arg, p: _cap_data(c, arg))(c, arg)),
    "ipc_key": lambda c, arg: "IPC_PRIVATE" if c.v(arg) == 0 else f"{c.v(arg):#x}",
    "ipc_flags": lambda c, arg: _ipc_flags(c.v(arg)),
    "ipc_cmd": _ipc_cmd,
    "ipc_call": lambda c, arg: ((f"{c.v(arg) >> 16}<<16|" if c.v(arg) >> 16 else "")
                                + IPC_CALLS.get(c.v(arg) & 0xFFFF, f"{c.v(arg) & 0xFFFF:#x}")),
    "sembuf": _sembuf,
    "msgbuf": lambda c, arg: _msgbuf(c, arg) if not arg.out else _out(lambda c, arg, p: _msgbuf(c, arg))(c, arg),
    "rusage_full": _out_struct(72, lambda r: "{ru_utime={tv_sec=%d, tv_usec=%d}, ru_stime={tv_sec=%d, tv_usec=%d}, "
                               "..." % struct.unpack_from("<4i", r) + "}"),
    "gid_list": lambda c, arg: (_out(lambda c, arg, p: _gid_list(c, p, c.named(arg.param)))(c, arg) if arg.out
                                else _gid_list(c, c.v(arg), c.named(arg.param))),
    "cpu_mask": lambda c, arg: (_out(lambda c, arg, p: _cpu_mask(c, p, c.res))(c, arg) if arg.out
                                else _cpu_mask(c, c.v(arg), c.named(arg.param))),
    "sysinfo": _out_struct(64, lambda r: "{uptime=%d, loads=[%d, %d, %d], totalram=%d, freeram=%d, sharedram=%d, "
                           "bufferram=%d, totalswap=%d, freeswap=%d, procs=%d, totalhigh=%d, freehigh=%d, "
                           "mem_unit=%d}" % struct.unpack_from("<i3I6IH2x3I", r)),
    "itimerspec": lambda c, arg: (_out_struct(16, _itimerspec_str(False)) if arg.out
                                  else _in_struct(16, _itimerspec_str(False)))(c, arg),
    "itimerspec64": lambda c, arg: (_out_struct(32, _itimerspec_str(True)) if arg.out
                                    else _in_struct(32, _itimerspec_str(True)))(c, arg),
    "epoll_event": lambda c, arg: struct_or_ptr(c.mem, c.v(arg), 12, _epoll_event_str) if c.v(arg) else "NULL",
    "epoll_events": _out(lambda c, arg, p: _epoll_events(c, p, c.res)),
    "tms": _out_struct(16, lambda r: "{tms_utime=%d, tms_stime=%d, tms_cutime=%d, tms_cstime=%d}"
                       % struct.unpack_from("<4I", r)),
    "sock_type": lambda c, arg: _sock_type(c.v(arg)),
    "sock_proto": _sock_proto,
    "sockaddr": _sockaddr_in,
    "sockaddr_out": (_sockaddr_out, _capture_socklen),
    "socklen_ptr": (_socklen_out, _capture_socklen),
    "sockpair": _out(_sockpair),
    "msghdr": _msghdr,
    "msghdr_out": _msghdr,
    "mmsghdr": _mmsghdr,
    "sockopt_name": _sockopt_name,
    "sockopt_val": _sockopt_val,
    "sockopt_val_out": (_sockopt_val_out, _capture_socklen),
    "socketcall_call": lambda c, arg: xlat(c.v(arg), SOCKETCALL_NAMES, "SYS_???"),
    "socketcall_args": _socketcall_args,
    "mincore_vec": _out(lambda c, arg, p: (lambda raw: ptr(p) if raw is None else "[" + ", ".join(
        str(b & 1) for b in raw) + "]")(c.mem.read(p, (c.named(arg.param) + 4095) >> 12))),
}


# ---- results ----------------------------------------------------------------------------------------------------


def _poll_result(c: Ctx, res: int) -> str:
    if res == 0:
        return "0 (Timeout)"
    fds = c.sig.args[0]
    shown = _pollfds(c, c.v(fds), c.named(fds.param), True)
    if shown is None:
        return str(res)
    extra = ""
    if c.name.startswith("ppoll"):
        extra = _left(c, c.sig.args[2], c.name.endswith("_time64"))
    return f"{res} ({shown}{extra})"


def _left(c: Ctx, arg, time64: bool) -> str:
    p = c.v(arg)
    if not p:
        return ""
    raw = c.mem.read(p, 16 if time64 else 8)
    return "" if raw is None else f", left {timespec(raw, time64)}"


def _select_result(c: Ctx, res: int) -> str:
    if c.name == "select":
        raw = c.mem.read(c.a[0], 20)
        if raw is None:
            return str(res)
        n, *ptrs, tvp = struct.unpack("<5I", raw)
    else:
        n = c.a[0]
        ptrs = list(c.a[1:4])
        tvp = c.a[4]
    if res == 0:
        return "0 (Timeout)"
    parts = []
    for label, p in zip(("in", "out", "except"), ptrs, strict=True):
        if p:
            s = _fd_set(c, p, n)
            if s != "[]":
                parts.append(f"{label} {s}")
    if tvp:
        if c.name in ("select", "_newselect"):
            raw = c.mem.read(tvp, 8)
            if raw is not None:
                parts.append(f"left {timeval(raw)}")
        else:
            raw = c.mem.read(tvp, 16 if c.name.endswith("_time64") else 8)
            if raw is not None:
                parts.append(f"left {timespec(raw, c.name.endswith('_time64'))}")
    return f"{res} ({', '.join(parts)})" if parts else str(res)


def _fcntl_result(c: Ctx, res: int) -> str:
    cmd = c.a[1]
    if cmd == 1:
        return f"{res:#x} (flags FD_CLOEXEC)" if res else "0"
    if cmd == 3:
        return f"{res:#x} (flags {open_flags(res)})"
    return str(res)


def _tls_result(c: Ctx, res: int) -> str:
    if c.tracer is not None:
        entry = c.tracer.tls_entry.pop(c.task.pid, None)
        if entry is not None:
            return f"{res} (entry_number={entry})"
    return str(res)


def _handler_result(c: Ctx, res: int) -> str:
    v = res & 0xFFFFFFFF
    return {0: "0 (SIG_DFL)", 1: "0x1 (SIG_IGN)"}.get(v, f"{v:#x}")


def _prctl_result(c: Ctx, res: int) -> str:
    if c.a[0] == 3:  # PR_GET_DUMPABLE
        return f"{res} ({DUMPABLE[res]})" if res in DUMPABLE else str(res)
    return str(res)


def _signo_result(c: Ctx, res: int) -> str:
    return f"{res} ({signal_name(res)})"


RESULTS = {
    "signo": _signo_result,
    "int": lambda c, res: str(res),
    "none": lambda c, res: str(res),
    "hex": lambda c, res: f"{res & 0xFFFFFFFF:#x}",
    "octal": lambda c, res: octal(res),
    "fcntl": _fcntl_result,
    "tls_entry": _tls_result,
    "handler": _handler_result,
    "poll": _poll_result,
    "select": _select_result,
    "prctl": _prctl_result,
}


#: The kernel-internal restart codes, as strace prints a syscall that a signal interrupted.
RESTARTS = {512: "? ERESTARTSYS (To be restarted if SA_RESTART is set)", 513: "? ERESTARTNOINTR (To be restarted)",
            514: "? ERESTARTNOHAND (To be restarted if no handler)",
            516: "? ERESTART_RESTARTBLOCK (Interrupted by signal)"}


def result_str(res: int, ctx: Ctx) -> str:
    """` = value` as strace prints it for this syscall's result kind."""
    if res > 0x7FFFFFFF:
        res -= 1 << 32  # eax as the signed long strace reads (sigreturn hands back the restored eax)
    if -res in RESTARTS:
        return RESTARTS[-res]
    if -4096 < res < 0:
        e = -res
        return f"-1 {errno_name(e)} ({strerror(e)})"
    kind = ctx.sig.ret if ctx.sig is not None else "int"
    return RESULTS[kind](ctx, res)


# ---- from a signature to the tracer's spec --------------------------------------------------------------------


def build_spec(sig) -> list[tuple[str, object, object]]:
    """(phase, decode(ctx) -> text or None, capture or None) per argument, in the order strace prints them.

    Phase "in" arguments are decoded at entry (before the kernel changes anything), "out" ones at exit; strace
    prints the in-arguments before the first out-argument at entry and the rest at exit (that split is what
    `<unfinished ...>` shows)."""
    args = list(sig.args)
    if sig.order is not None:
        args = [sig.arg(n) for n in sig.order]
    spec = []
    for arg in args:
        dec = DECODERS[arg.type]
        capture = None
        if isinstance(dec, tuple):
            dec, capture = dec

        def fn(c, arg=arg, dec=dec):
            text = dec(c, arg)
            if text is None:
                return None
            return f"{arg.name}={text}" if sig.labelled else text
        spec.append(("out" if arg.out else "in", fn, None if capture is None else (lambda c, a=arg, f=capture:
                                                                                    f(c, a))))
    return spec
