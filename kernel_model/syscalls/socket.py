"""The socket calls (net/socket.c): socket, socketpair, bind, listen, connect, accept4, the send and receive
family with their message headers and ancillary data (net/core/scm.c), shutdown, the socket options, and the
i386 multiplexer socketcall. The sockets themselves, AF_UNIX and the loopback's TCP and UDP, are in
kernel_model.net."""

from __future__ import annotations

import os
import stat as pystat
import struct

from ..abi import NR, SIG, E
from ..files import O_CLOEXEC, O_NONBLOCK, O_PATH, POLLIN, POLLOUT, KernelError, _fput
from .. import net
from ..net import (AF_INET, AF_INET6, AF_UNIX, AF_UNSPEC, CONNECTED, CONNECTING, LISTENING, MSG_CMSG_CLOEXEC,
                   MSG_CTRUNC, MSG_DONTWAIT, MSG_NOSIGNAL, MSG_PEEK, MSG_TRUNC, MSG_WAITALL, MSG_WAITFORONE,
                   RCV_SHUTDOWN, SCM_CREDENTIALS, SCM_MAX_FD, SCM_RIGHTS, SEND_SHUTDOWN, SOCK_DGRAM, SOCK_RAW,
                   SOCK_SEQPACKET, SOCK_STREAM, SOL_SOCKET, UNCONNECTED, RecvResult, Socket, sock_cred)
from .. import signal as sigmod
from .table import subcall, syscall
from .common import RLIMIT_NOFILE, host_call, install_pair, rlimit, s32
from .read_write import CHUNK, write_from

SOCK_NONBLOCK, SOCK_CLOEXEC = O_NONBLOCK, O_CLOEXEC
SOCKADDR_MAX = 128  # sizeof(struct sockaddr_storage)
CAP_NET_BIND_SERVICE, CAP_NET_RAW, CAP_SETUID, CAP_SETGID, CAP_SYS_ADMIN, CAP_NET_ADMIN = 10, 13, 7, 6, 21, 12
PROT_SOCK = 1024
IPPROTO_UDPLITE = 136
UIO_MAXIOV = 1024


# ---- arguments ---------------------------------------------------------------------------------------------


def sockfd_lookup(t, fd: int) -> Socket:
    """The socket at fd: EBADF for no descriptor, ENOTSOCK for another kind of file (sockfd_lookup)."""
    f = t.files.get(fd)
    if f.flags & O_PATH:
        raise KernelError(E.EBADF)  # an O_PATH descriptor is not usable for I/O (fdget)
    if not isinstance(f, Socket):
        raise KernelError(E.ENOTSOCK)
    return f


def move_addr_to_kernel(k, t, ptr: int, alen: int) -> bytes:
    """A user sockaddr: EINVAL for a length outside 0..sizeof(sockaddr_storage), EFAULT for a bad pointer."""
    alen = s32(alen)
    if alen < 0 or alen > SOCKADDR_MAX:
        raise KernelError(E.EINVAL)
    return k.get_bytes(t, ptr, alen) if alen else b""


def move_addr_to_user(k, t, raw: bytes, ptr: int, lenptr: int) -> None:
    """Copy a name out truncated to the caller's length, and store its full length (move_addr_to_user)."""
    ulen = s32(k.get_u32(t, lenptr))
    if ulen < 0:
        raise KernelError(E.EINVAL)
    n = min(ulen, len(raw))
    if n:
        k.put_bytes(t, ptr, raw[:n])
    k.put_u32(t, lenptr, len(raw))


def _install(k, t, sock: Socket, flags: int) -> int:
    try:
        return t.files.install(sock, cloexec=bool(flags & SOCK_CLOEXEC), limit=rlimit(t, RLIMIT_NOFILE)[0])
    except KernelError:
        sock.release()
        raise


# ---- names of each family ------------------------------------------------------------------------------------


def unix_name(raw: bytes) -> bytes:
    """Validate a sockaddr_un (unix_validate_addr) and return it as the kernel keeps it: a path name ends at its
    first NUL and gains one (unix_mkname_bsd); an abstract name is every byte given; b"" asks for autobind."""
    if len(raw) < net.SUN_PATH_OFFSET or struct.unpack_from("<H", raw)[0] != AF_UNIX:
        raise KernelError(E.EINVAL)
    if len(raw) > net.SUN_PATH_OFFSET + net.UNIX_PATH_MAX:
        raise KernelError(E.EINVAL)
    if len(raw) == net.SUN_PATH_OFFSET:
        return b""
    if raw[2] == 0:
        return raw
    path = raw[2:].split(b"\0", 1)[0]
    return raw[:2] + path + b"\0"


def _unix_host_path(k, t, name: bytes, create: bool) -> str:
    return k.resolve_path(t, os.fsdecode(name[2:-1]), create=create)


def unix_find_other(k, t, sock: Socket, name: bytes) -> Socket:
    """The socket bound to name (unix_find_bsd / unix_find_abstract): a path needs write permission on the
    socket node (EACCES), a name nobody is bound to ECONNREFUSED, a socket of another type EPROTOTYPE."""
    if name[2] == 0:
        other = k.net.unix_abstract.get(name)
        if other is None:
            raise KernelError(E.ECONNREFUSED)
    else:
        path = _unix_host_path(k, t, name, create=False)
        try:
            st = os.stat(path)
        except OSError as e:
            raise KernelError(e.errno or E.ENOENT) from None
        from ..cred import MAY_WRITE, check_file

        check_file(k.cred(t), path, MAY_WRITE)
        if not pystat.S_ISSOCK(st.st_mode):
            raise KernelError(E.ECONNREFUSED)
        other = k.net.unix_inodes.get((st.st_dev, st.st_ino))
        if other is None:
            raise KernelError(E.ECONNREFUSED)
    if other.type != sock.type:
        raise KernelError(E.EPROTOTYPE)
    return other


def unix_bind(k, t, sock: Socket, raw: bytes) -> None:
    """Bind a name (unix_bind): autobind for a bare family, an abstract name once in the namespace, a path by
    making its socket node (EADDRINUSE when the name exists)."""
    name = unix_name(raw)
    if sock.addr is not None:
        raise KernelError(E.EINVAL)
    if not name:
        k.net.unix_autobind(sock)
        return
    if name[2] == 0:
        if name in k.net.unix_abstract:
            raise KernelError(E.EADDRINUSE)
        k.net.unix_abstract[name] = sock
        sock.addr, sock.bound_key = name, ("abstract", name)
        return
    path = _unix_host_path(k, t, name, create=True)
    from ..cred import check_create, own_new_file

    cred = k.cred(t)
    if os.path.lexists(path):
        raise KernelError(E.EADDRINUSE)
    check_create(cred, path)
    old = os.umask(0)
    try:
        host_call(os.mknod, path, pystat.S_IFSOCK | (0o777 & ~t.fs.umask))
    finally:
        os.umask(old)
    own_new_file(cred, path)
    st = os.stat(path)
    key = (st.st_dev, st.st_ino)
    k.net.unix_inodes[key] = sock
    sock.addr, sock.bound_key = name, ("inode", key)


LOOPBACK4 = bytes((127, 0, 0, 1))
LOOPBACK6 = bytes(15) + b"\1"
V4MAPPED = bytes(10) + b"\xff\xff"


def _is_local(family: int, host: bytes) -> bool:
    if family == AF_INET:
        return host == bytes(4) or host[0] == 127
    return host in (bytes(16), LOOPBACK6) or (host[:12] == V4MAPPED and host[12] in (0, 127))


def inet_name(family: int, raw: bytes, for_bind: bool) -> tuple[bytes, int] | None:
    """(host, port) of a sockaddr_in/sockaddr_in6 (inet_bind / inet6_bind / __ip4_datagram_connect's checks);
    None for AF_UNSPEC where it means disconnect."""
    size = 16 if family == AF_INET else 24
    if len(raw) < 2:
        raise KernelError(E.EINVAL)
    fam = struct.unpack_from("<H", raw)[0]
    if fam == AF_UNSPEC and not for_bind:
        return None
    if len(raw) < size:
        raise KernelError(E.EINVAL)
    if fam != family:
        if for_bind and family == AF_INET and fam == AF_UNSPEC and raw[4:8] == bytes(4):
            pass  # inet_bind accepts AF_UNSPEC with INADDR_ANY, for compatibility
        else:
            raise KernelError(E.EAFNOSUPPORT)
    port = struct.unpack_from(">H", raw, 2)[0]
    host = raw[4:8] if family == AF_INET else raw[8:24]
    return host, port


def inet_sockaddr(family: int, name) -> bytes:
    """The sockaddr_in or sockaddr_in6 for (host, port)."""
    host, port = name
    if family == AF_INET:
        return struct.pack("<H", AF_INET) + struct.pack(">H", port) + host + bytes(8)
    return struct.pack("<H", AF_INET6) + struct.pack(">H", port) + bytes(4) + host + bytes(4)


def _note_inet(k) -> None:
    if not k.net.noted_inet:
        k.net.noted_inet = True
        k.warn_once("inet", "AF_INET/AF_INET6 sockets are modelled on a loopback-only network "
                    "(127.0.0.0/8 and ::1); other addresses are unreachable")


def inet_bind(k, t, sock: Socket, name) -> None:
    """Bind to a local address and port (inet_bind / inet_csk_get_port / udp_lib_get_port): EADDRNOTAVAIL for
    a host that is not the loopback's, EACCES for a port below 1024 without CAP_NET_BIND_SERVICE, EADDRINUSE
    for a port in use unless SO_REUSEADDR allows sharing it."""
    host, port = name
    if sock.addr is not None:
        raise KernelError(E.EINVAL)
    if not _is_local(sock.family, host):
        raise KernelError(E.EADDRNOTAVAIL)
    if port and port < PROT_SOCK and not k.cred(t).capable(CAP_NET_BIND_SERVICE):
        raise KernelError(E.EACCES)
    if port == 0:
        port = k.net.ephemeral_port(sock.protocol)
    key = (sock.protocol, port)
    users = k.net.ports.get(key, [])
    for other in users:
        if not _same_host(other.addr[0], host):
            continue
        reuse = sock.opts.get((SOL_SOCKET, net.SO_REUSEADDR)) and other.opts.get((SOL_SOCKET, net.SO_REUSEADDR))
        if not reuse or (sock.type == SOCK_STREAM and other.state == LISTENING):
            raise KernelError(E.EADDRINUSE)
    k.net.ports.setdefault(key, []).append(sock)
    sock.addr, sock.bound_key = (host, port), ("port", key)


def _wild(host: bytes) -> bool:
    return host in (bytes(4), bytes(16))


def _same_host(a: bytes, b: bytes) -> bool:
    return _wild(a) or _wild(b) or _v4(a) == _v4(b)


def _v4(host: bytes) -> bytes:
    return host[12:] if len(host) == 16 and host[:12] == V4MAPPED else host


def inet_lookup(k, sock: Socket, name, listening: bool) -> Socket | None:
    """The socket a packet to (host, port) reaches: a listener for TCP, a bound UDP socket, else None."""
    host, port = name
    best = None
    for other in k.net.ports.get((sock.protocol, port), []):
        if other.dead or (listening and other.state != LISTENING):
            continue
        if other.family == AF_INET and sock.family == AF_INET6 and host[:12] != V4MAPPED and not _wild(host):
            continue
        if _v4(other.addr[0]) == _v4(host):
            return other
        if _wild(other.addr[0]):
            best = best or other
    return best


def _source_host(family: int, dest: bytes) -> bytes:
    if family == AF_INET:
        return LOOPBACK4
    return V4MAPPED + LOOPBACK4 if dest[:12] == V4MAPPED else LOOPBACK6


def _as_family(family: int, host: bytes) -> bytes:
    """An address as a socket of family names it (IPv4 in IPv6 sockets as ::ffff:a.b.c.d)."""
    if family == AF_INET6 and len(host) == 4:
        return V4MAPPED + host
    return _v4(host) if family == AF_INET else host


def _dest_host(family: int, host: bytes) -> bytes:
    """connect/sendto to the wildcard reach the local host (ip_route_connect), any other non-loopback address
    has no route."""
    if _wild(host):
        return LOOPBACK4 if family == AF_INET else LOOPBACK6
    if not _is_local(family, host):
        raise KernelError(E.ENETUNREACH)
    return host


def inet_autobind(k, t, sock: Socket, dest_host: bytes | None = None) -> None:
    if sock.addr is None:
        host = _source_host(sock.family, dest_host) if dest_host is not None else bytes(
            4 if sock.family == AF_INET else 16)
        inet_bind(k, t, sock, (host, 0))


# ---- socket, socketpair, bind, listen, connect, accept -------------------------------------------------------


def sock_create(k, t, family: int, type_: int, protocol: int) -> Socket:
    """A new socket (__sock_create + the family's create): EAFNOSUPPORT for a family the model lacks, EINVAL
    for a bad type, EPROTONOSUPPORT for a protocol the type does not carry, ESOCKTNOSUPPORT for a type the
    family lacks."""
    flags = type_ & ~net.SOCK_TYPE_MASK
    kind = type_ & net.SOCK_TYPE_MASK
    if flags & ~(SOCK_CLOEXEC | SOCK_NONBLOCK):
        raise KernelError(E.EINVAL)
    if family < 0 or family >= net.AF_MAX:
        raise KernelError(E.EAFNOSUPPORT)
    if kind > net.SOCK_PACKET:
        raise KernelError(E.EINVAL)  # __sock_create: type >= SOCK_MAX; a type the family lacks is the family's call
    if family == AF_UNIX:
        if protocol and protocol != AF_UNIX:
            raise KernelError(E.EPROTONOSUPPORT)
        if kind == SOCK_RAW:
            kind = SOCK_DGRAM  # unix_create: "Believe it or not BSD has AF_UNIX, SOCK_RAW though"
        if kind not in (SOCK_STREAM, SOCK_DGRAM, SOCK_SEQPACKET):
            raise KernelError(E.ESOCKTNOSUPPORT)
    elif family in (AF_INET, AF_INET6):
        if not 0 <= protocol < 263:
            raise KernelError(E.EINVAL)  # inet_create: protocol outside 0..IPPROTO_MAX-1, before the type
        wanted = {SOCK_STREAM: net.IPPROTO_TCP, SOCK_DGRAM: net.IPPROTO_UDP}
        if kind == SOCK_RAW:
            if protocol == 0 or protocol > 255:
                raise KernelError(E.EPROTONOSUPPORT)  # inet_create: a raw socket names its protocol
            if not k.cred(t).capable(CAP_NET_RAW):
                raise KernelError(E.EPERM)
            _note_inet(k)
            return Socket(k, family, kind, protocol, flags & SOCK_NONBLOCK)
        if kind not in wanted:
            raise KernelError(E.ESOCKTNOSUPPORT if kind != SOCK_SEQPACKET else E.EPROTONOSUPPORT)
        if protocol not in (0, wanted[kind]) and not (kind == SOCK_DGRAM and protocol == IPPROTO_UDPLITE):
            raise KernelError(E.EPROTONOSUPPORT)
        protocol = protocol or wanted[kind]  # UDP-Lite is UDP on the loopback (no partial checksums to apply)
        _note_inet(k)
    else:
        k.warn_once(f"af{family}", f"socket family {family} is not modelled (-EAFNOSUPPORT)")
        raise KernelError(E.EAFNOSUPPORT)
    sock = Socket(k, family, kind, protocol, flags & SOCK_NONBLOCK)
    cred = k.cred(t)
    sock.owner = (cred.fsuid, cred.fsgid)
    return sock


@syscall("socket", sig="enum(af) domain, sock_type type, sock_proto(domain) protocol", cls="network")
def sys_socket(k, t, family, type_, protocol, *_):
    """A socket of a family the model has: AF_UNIX, and AF_INET/AF_INET6 on the loopback."""
    sock = sock_create(k, t, s32(family), s32(type_), s32(protocol))
    return _install(k, t, sock, type_)


def unix_pair(k, t, a: Socket, b: Socket) -> None:
    """Connect two new sockets to each other (unix_socketpair)."""
    a.peer, b.peer = b, a
    a.state = b.state = CONNECTED
    a.peercred = b.peercred = sock_cred(k, t)
    a.peer_addr, b.peer_addr = b.addr, a.addr


@syscall("socketpair", sig="enum(af) domain, sock_type type, sock_proto(domain) protocol, out sockpair sv",
         cls="network")
def sys_socketpair(k, t, family, type_, protocol, sv, *_):
    """A pair of connected AF_UNIX sockets; other families EOPNOTSUPP (their sockets have no pair)."""
    family, type_, protocol = s32(family), s32(type_), s32(protocol)
    if type_ & ~0xF & ~(SOCK_CLOEXEC | SOCK_NONBLOCK):
        raise KernelError(E.EINVAL)
    if t.mm.accessible(sv, 8, True) < 8:
        raise KernelError(E.EFAULT)  # __sys_socketpair stores the descriptors before it creates the sockets
    a = sock_create(k, t, family, type_, protocol)
    if family != AF_UNIX:
        a.release()
        raise KernelError(E.EOPNOTSUPP)
    b = sock_create(k, t, family, type_, protocol)
    unix_pair(k, t, a, b)
    try:
        k.put_bytes(t, sv, bytes(8))  # the descriptors exist only once the array is writable
    except KernelError:
        a.release()
        b.release()
        raise
    return install_pair(k, t, a, b, bool(type_ & SOCK_CLOEXEC), sv)


@syscall("bind", sig="fd sockfd, sockaddr(addrlen) addr, int addrlen", cls="network")
def sys_bind(k, t, fd, addr, addrlen, *_):
    """Give a socket its name (a path, an abstract name, or a loopback address and port)."""
    sock = sockfd_lookup(t, fd)
    raw = move_addr_to_kernel(k, t, addr, addrlen)
    if sock.family == AF_UNIX:
        unix_bind(k, t, sock, raw)
    else:
        name = inet_name(sock.family, raw, for_bind=True)
        if sock.family == AF_INET6 and name[0][:12] == V4MAPPED and sock.opts.get((net.IPPROTO_IPV6, 26)):
            raise KernelError(E.EINVAL)  # IPV6_V6ONLY
        inet_bind(k, t, sock, name)
        sock.bind_locked = True  # SOCK_BINDPORT_LOCK: a disconnect keeps the port
    return 0


@syscall("listen", sig="fd sockfd, int backlog", cls="network")
def sys_listen(k, t, fd, backlog, *_):
    """Accept connections, up to backlog waiting (capped at net.core.somaxconn) (unix_listen / inet_listen):
    EOPNOTSUPP for datagram sockets, EINVAL for an unbound AF_UNIX or a connected socket."""
    sock = sockfd_lookup(t, fd)
    backlog = s32(backlog)
    somax = k.sysctl_int("net/core/somaxconn")
    if backlog < 0 or backlog > somax:
        backlog = somax
    if sock.type not in (SOCK_STREAM, SOCK_SEQPACKET):
        raise KernelError(E.EOPNOTSUPP)
    if sock.state not in (UNCONNECTED, LISTENING):
        raise KernelError(E.EINVAL)
    if sock.unix:
        if sock.addr is None:
            raise KernelError(E.EINVAL)
    else:
        inet_autobind(k, t, sock)
    old = sock.backlog
    sock.backlog = backlog
    if sock.state != LISTENING:
        sock.state = LISTENING
        sock.peercred = sock_cred(k, t)
    elif backlog > old:
        k.sched.wake_up(sock.wq, key=POLLOUT)  # connectors waiting for room
    return 0


def _backlog_full(listener: Socket) -> bool:
    return len(listener.acceptq) > listener.backlog


def _timeo(sock: Socket, flags: int, send: bool) -> int | None:
    """How long a call may sleep: 0 for non-blocking, None for forever, else the SO_*TIMEO in ns."""
    if flags & MSG_DONTWAIT or sock.flags & O_NONBLOCK:
        return 0
    v = sock.sndtimeo if send else sock.rcvtimeo
    return v or None


def sock_wait(k, t, sock: Socket, timeo, deadline, wq=None):
    """Sleep on the socket's queue once (sk_wait_event): EAGAIN when the time is up (or non-blocking), EINTR or
    a restart for a signal (sock_intr_errno: -ERESTARTSYS only for an infinite timeout)."""
    if timeo == 0:
        raise KernelError(E.EAGAIN)
    if k.signal_pending(t):
        raise KernelError(sigmod.ERESTARTSYS if timeo is None else E.EINTR)
    left = None
    if deadline is not None:
        left = deadline - k.sched.now()
        if left <= 0:
            raise KernelError(E.EAGAIN)
    k.sched.sleep_on(t, wq or sock.wq, left)
    yield


def _deadline(k, timeo):
    return None if not timeo else k.sched.now() + timeo


def unix_stream_connect(k, t, sock: Socket, raw: bytes, flags: int):
    """Connect to a listening socket (unix_stream_connect): the new server-side socket joins the listener's
    queue, and the connector is connected at once; a full backlog makes it wait (or EAGAIN)."""
    name = unix_name(raw)
    if not name:
        raise KernelError(E.EINVAL)
    if sock.state == CONNECTED:
        raise KernelError(E.EISCONN)
    if sock.state == LISTENING:
        raise KernelError(E.EINVAL)
    if sock.addr is None and sock.passcred:
        k.net.unix_autobind(sock)
    timeo = _timeo(sock, flags, send=True)
    deadline = _deadline(k, timeo)
    while True:
        other = unix_find_other(k, t, sock, name)
        if other.state != LISTENING or other.dead:
            raise KernelError(E.ECONNREFUSED)
        if not _backlog_full(other):
            break
        if timeo == 0:
            raise KernelError(E.EAGAIN)
        yield from sock_wait(k, t, sock, timeo, deadline, other.wq)
        if sock.state == CONNECTED:
            raise KernelError(E.EISCONN)
    embryo = Socket(k, AF_UNIX, sock.type, 0, 0)
    embryo.owner = other.owner
    embryo.addr = other.addr
    embryo.peer, sock.peer = sock, embryo
    embryo.state = sock.state = CONNECTED
    embryo.peercred = sock_cred(k, t)
    sock.peercred = other.peercred
    embryo.passcred = other.passcred
    embryo.peer_addr, sock.peer_addr = sock.addr, other.addr
    embryo.listener = other
    embryo.refs = 0
    other.acceptq.append(embryo)
    k.sched.wake_up(other.wq, key=POLLIN)
    return 0


def unix_dgram_connect(k, t, sock: Socket, raw: bytes):
    """Set the default peer of a datagram socket, or drop it for AF_UNSPEC (unix_dgram_connect)."""
    if len(raw) >= 2 and struct.unpack_from("<H", raw)[0] == AF_UNSPEC:
        sock.peer, sock.peer_addr, sock.state = None, None, UNCONNECTED
        return 0
    name = unix_name(raw)
    if not name:
        raise KernelError(E.EINVAL)
    if sock.addr is None and sock.passcred:
        k.net.unix_autobind(sock)
    other = unix_find_other(k, t, sock, name)
    if other.peer is not None and other.peer is not sock and other is not sock:
        if not other.peer.dead:
            raise KernelError(E.EPERM)
    sock.peer, sock.peer_addr, sock.state = other, other.addr, CONNECTED
    return 0


def inet_connect(k, t, sock: Socket, raw: bytes, flags: int):
    """TCP: reach a listener on the loopback (ECONNREFUSED without one; EINPROGRESS when non-blocking, as the
    handshake is asynchronous); UDP: set the default destination (AF_UNSPEC drops it)."""
    name = inet_name(sock.family, raw, for_bind=False)
    if sock.type != SOCK_STREAM:
        if name is None:
            sock.peer, sock.peer_addr, sock.state = None, None, UNCONNECTED
            return 0
        host = _dest_host(sock.family, name[0])
        inet_autobind(k, t, sock, host)
        sock.peer_addr = (host, name[1])
        sock.peer = inet_lookup(k, sock, sock.peer_addr, listening=False)
        sock.state = CONNECTED
        return 0
    if name is None:
        if sock.state == CONNECTED and sock.peer is not None:
            sock.release_connection()
        sock.state = UNCONNECTED
        if not getattr(sock, "bind_locked", False):  # tcp_disconnect: a port bind() did not ask for goes
            k.net.unbind(sock)
            sock.addr = None
        return 0
    if sock.state == CONNECTED:
        raise KernelError(E.EISCONN)
    if sock.state == CONNECTING:
        raise KernelError(E.EALREADY)
    if sock.state == LISTENING:
        raise KernelError(E.EINVAL)
    host = _dest_host(sock.family, name[0])
    if sock.family == AF_INET6 and host[:12] == V4MAPPED and sock.opts.get((net.IPPROTO_IPV6, 26)):
        raise KernelError(E.ENETUNREACH)
    inet_autobind(k, t, sock, host)
    dest = (host, name[1])
    other = inet_lookup(k, sock, dest, listening=True)
    nonblock = _timeo(sock, flags, send=True) == 0
    if other is None or _backlog_full(other):
        if nonblock:
            sock.state = UNCONNECTED
            sock.err = E.ECONNREFUSED
            k.sched.wake_up(sock.wq, key=POLLOUT)
            raise KernelError(E.EINPROGRESS)
        raise KernelError(E.ECONNREFUSED)
    embryo = Socket(k, other.family, SOCK_STREAM, net.IPPROTO_TCP, 0)
    embryo.owner = other.owner
    embryo.addr = (_as_family(other.family, host), name[1])
    embryo.peer, sock.peer = sock, embryo
    embryo.state = sock.state = CONNECTED
    embryo.peer_addr = (_as_family(other.family, sock.addr[0]), sock.addr[1])
    sock.peer_addr = dest
    embryo.sndbuf, embryo.rcvbuf = other.sndbuf, other.rcvbuf
    embryo.listener = other
    embryo.opts = {key: v for key, v in other.opts.items()}
    other.acceptq.append(embryo)
    k.sched.wake_up(other.wq, key=POLLIN)
    if nonblock:
        k.sched.wake_up(sock.wq, key=POLLOUT)
        raise KernelError(E.EINPROGRESS)
    return 0


@syscall("connect", sig="fd sockfd, sockaddr(addrlen) addr, int addrlen", cls="network")
def sys_connect(k, t, fd, addr, addrlen, *_):
    """Connect to a named socket (__sys_connect)."""
    sock = sockfd_lookup(t, fd)
    raw = move_addr_to_kernel(k, t, addr, addrlen)
    if sock.unix:
        if sock.type == SOCK_DGRAM:
            return unix_dgram_connect(k, t, sock, raw)
        return (yield from unix_stream_connect(k, t, sock, raw, 0))
    return inet_connect(k, t, sock, raw, 0)


def do_accept(k, t, fd, addr, lenptr, flags):
    """Take the first queued connection (unix_accept / inet_csk_accept): EOPNOTSUPP for datagram sockets, EINVAL
    for one not listening; it waits for a connection unless non-blocking (EAGAIN)."""
    if flags & ~(SOCK_CLOEXEC | SOCK_NONBLOCK):
        raise KernelError(E.EINVAL)
    sock = sockfd_lookup(t, fd)
    if sock.type not in (SOCK_STREAM, SOCK_SEQPACKET):
        raise KernelError(E.EOPNOTSUPP)
    if sock.state != LISTENING:
        raise KernelError(E.EINVAL)
    if addr and lenptr:
        if s32(k.get_u32(t, lenptr)) < 0:
            raise KernelError(E.EINVAL)
    timeo = _timeo(sock, 0, send=False)
    deadline = _deadline(k, timeo)
    while not sock.acceptq:
        yield from sock_wait(k, t, sock, timeo, deadline)
        if sock.state != LISTENING:
            raise KernelError(E.EINVAL)
    new = sock.acceptq.popleft()
    new.listener = None
    new.flags = (new.flags & ~O_NONBLOCK) | (flags & SOCK_NONBLOCK)
    if new.peer is not None and not new.peer.dead:
        k.sched.wake_up(sock.wq, key=POLLOUT)  # a connector waiting for room in the backlog
    if addr:
        try:
            move_addr_to_user(k, t, sockname(new.peer_addr, new.family), addr, lenptr)
        except KernelError:
            sock.acceptq.appendleft(new)
            raise
    return _install(k, t, new, flags)


@syscall("accept4", sig="fd sockfd, out sockaddr_out(addrlen) addr, out socklen_ptr addrlen, flags(sock) flags",
         cls="network")
def sys_accept4(k, t, fd, addr, lenptr, flags, *_):
    """accept with SOCK_NONBLOCK and SOCK_CLOEXEC for the new descriptor."""
    return (yield from do_accept(k, t, fd, addr, lenptr, s32(flags)))


@subcall("accept", sig="fd sockfd, out sockaddr_out(addrlen) addr, out socklen_ptr addrlen", cls="network")
def sys_accept(k, t, fd, addr, lenptr, *_):
    """accept(2), the socketcall-only entry: accept4 with no flags."""
    return (yield from do_accept(k, t, fd, addr, lenptr, 0))


def sockname(name, family: int) -> bytes:
    """The sockaddr for a kept name: AF_UNIX's as bound (the bare family when unbound), inet's packed."""
    if family == AF_UNIX:
        return name if name else struct.pack("<H", AF_UNIX)
    if name is None:
        name = (bytes(4 if family == AF_INET else 16), 0)
    return inet_sockaddr(family, name)


@syscall("getsockname", sig="fd sockfd, out sockaddr_out(addrlen) addr, out socklen_ptr addrlen", cls="network")
def sys_getsockname(k, t, fd, addr, lenptr, *_):
    """The socket's own name."""
    sock = sockfd_lookup(t, fd)
    move_addr_to_user(k, t, sockname(sock.addr, sock.family), addr, lenptr)
    return 0


@syscall("getpeername", sig="fd sockfd, out sockaddr_out(addrlen) addr, out socklen_ptr addrlen", cls="network")
def sys_getpeername(k, t, fd, addr, lenptr, *_):
    """The connected peer's name, ENOTCONN when there is none."""
    sock = sockfd_lookup(t, fd)
    name = sock.peer_name()
    if name is None and not (sock.unix and sock.peer is not None):
        raise KernelError(E.ENOTCONN)
    move_addr_to_user(k, t, sockname(name, sock.family), addr, lenptr)
    return 0


# ---- send and receive ------------------------------------------------------------------------------------


def _resolve_dest(k, t, sock: Socket, raw: bytes):
    """A datagram's destination socket and name, from sendto's or msg_name's address."""
    if sock.unix:
        if sock.connection_based:
            raise KernelError(E.EISCONN if sock.state == CONNECTED else E.EOPNOTSUPP)
        name = unix_name(raw)
        if not name:
            raise KernelError(E.EINVAL)
        if sock.addr is None and sock.passcred:
            k.net.unix_autobind(sock)
        return unix_find_other(k, t, sock, name)
    if sock.type == SOCK_STREAM:
        return None  # TCP ignores a destination (tcp_sendmsg)
    name = inet_name(sock.family, raw, for_bind=False)
    if name is None:
        return None
    host = _dest_host(sock.family, name[0])
    inet_autobind(k, t, sock, host)
    other = inet_lookup(k, sock, (host, name[1]), listening=False)
    return other if other is not None else False


def scm_send(k, t, sock: Socket, control: bytes):
    """Parse SOL_SOCKET control messages (__scm_send): SCM_RIGHTS descriptors (EBADF, EINVAL past SCM_MAX_FD)
    and SCM_CREDENTIALS (EPERM for ids the sender may not claim); anything else EINVAL."""
    files, cred = [], None
    off = 0
    while off + 12 <= len(control):
        clen, level, ctype = struct.unpack_from("<Iii", control, off)
        if clen < 12 or off + clen > len(control):
            raise KernelError(E.EINVAL)
        body = control[off + 12:off + clen]
        if level != SOL_SOCKET:
            if sock.unix:
                raise KernelError(E.EINVAL)
        elif ctype == SCM_RIGHTS and sock.unix:
            n = len(body) // 4
            if n == 0:
                pass
            elif len(files) + n > SCM_MAX_FD:
                raise KernelError(E.EINVAL)
            for (fd,) in struct.iter_unpack("<i", body[:4 * n]):
                files.append(t.files.get(fd) if fd >= 0 else t.files.get(-1))
        elif ctype == SCM_CREDENTIALS and sock.unix:
            if len(body) != 12:
                raise KernelError(E.EINVAL)
            pid, uid, gid = struct.unpack("<iII", body)
            c = k.cred(t)
            if pid != t.tgid and not c.capable(CAP_SYS_ADMIN):
                raise KernelError(E.EPERM)
            if uid not in (c.uid, c.euid, c.suid) and not c.capable(CAP_SETUID):
                raise KernelError(E.EPERM)
            if gid not in (c.gid, c.egid, c.sgid) and not c.capable(CAP_SETGID):
                raise KernelError(E.EPERM)
            cred = (pid, uid, gid)
        else:
            raise KernelError(E.EINVAL)
        off += (clen + 3) & ~3
    return files, cred


def do_sendmsg(k, t, sock: Socket, data: bytes, raw_addr: bytes | None, control: bytes, flags: int):
    """Send one message, sleeping for room (sock_sendmsg): a stream takes as much as it can and then waits for
    the rest; EPIPE raises SIGPIPE unless MSG_NOSIGNAL. On the loopback MSG_MORE holds the data back (the cork)
    until a send without it; a datagram to a named AF_UNIX socket looks the name up again after each wait, as
    the receiver may have gone and another bound it (unix_dgram_sendmsg's restart)."""
    if flags & net.MSG_OOB and sock.type != SOCK_STREAM:
        raise KernelError(E.EOPNOTSUPP)
    dest = None
    if raw_addr:
        dest = _resolve_dest(k, t, sock, raw_addr)
    elif sock.unix and sock.type == SOCK_DGRAM and sock.peer is None:
        raise KernelError(E.ENOTCONN)
    files, cred = scm_send(k, t, sock, control) if control else ([], None)
    if sock.unix:
        cred = cred or sock_cred(k, t)  # scm_send: a message always carries its sender's credentials
        other = dest or sock.peer
        if sock.addr is None and (sock.passcred or (other is not None and other.passcred)):
            k.net.unix_autobind(sock)  # unix_dgram_sendmsg/unix_stream_sendmsg: a receiver wants a name
    else:
        sock.check_send(flags)
        if sock.type == SOCK_DGRAM and len(sock.cork) + len(data) > net.MAX_UDP_PAYLOAD:
            raise KernelError(E.EMSGSIZE)
        if flags & net.MSG_MORE:
            if sock.type == SOCK_STREAM and sock.state != CONNECTED:
                raise KernelError(E.EPIPE)
            sock.cork += data  # udp_sendmsg's corked datagram, tcp_sendmsg's unpushed segment
            return len(data)
        if sock.cork:
            corked = len(sock.cork)
            data, sock.cork = bytes(sock.cork) + data, bytearray()
            res = yield from _send_data(k, t, sock, data, dest, files, cred, flags, raw_addr)
            return max(res - corked, 0)  # the call reports its own bytes, not the corked ones
    return (yield from _send_data(k, t, sock, data, dest, files, cred, flags, raw_addr))


def _send_data(k, t, sock: Socket, data: bytes, dest, files, cred, flags: int, raw_addr):
    """The sending half of do_sendmsg: queue data, sleeping for room."""
    if dest is False:
        return len(data)  # a UDP datagram to a port nobody has: dropped on the loopback
    timeo = _timeo(sock, flags, send=True)
    deadline = _deadline(k, timeo)
    for f in files:
        f.refs += 1  # the message holds the files until a receiver installs them (scm_fp_dup)
    redo_lookup = bool(raw_addr) and sock.unix and sock.type == SOCK_DGRAM
    sent = 0
    try:
        while True:
            try:
                if redo_lookup and sent == 0 and (dest is None or dest.dead):
                    dest = _resolve_dest(k, t, sock, raw_addr)
                n = sock.send_once(data[sent:], dest, None, files or None, flags, cred)
            except KernelError as e:
                if e.errno == E.EPIPE and not flags & MSG_NOSIGNAL:
                    k.send_signal(t, SIG.SIGPIPE, {"signo": SIG.SIGPIPE, "code": sigmod.SI_USER, "pid": t.tgid})
                if sent:
                    return sent
                raise
            if n is not None:
                if n or not data:
                    files = []
                sent += n
                if sent >= len(data) or sock.type != SOCK_STREAM:
                    return sent
            wq, sock.wait_on = sock.wait_on, None
            try:
                yield from sock_wait(k, t, sock, timeo, deadline, wq)
            except KernelError:
                if sent:
                    return sent
                raise
    finally:
        for f in files:
            _fput(f)


def _iovecs(k, t, iov: int, iovcnt: int):
    if iovcnt > UIO_MAXIOV:
        raise KernelError(E.EMSGSIZE)
    raw = k.get_bytes(t, iov, 8 * iovcnt)
    vecs = [struct.unpack_from("<II", raw, 8 * i) for i in range(iovcnt)]
    total = 0
    for _, n in vecs:
        if n > 0x7FFFFFFF:
            raise KernelError(E.EINVAL)
        total += n
    return vecs, min(total, 0x7FFFF000)


SOCK_OPTMEM_MAX = 131072  # net.core.optmem_max on this host: sock_kmalloc refuses a bigger control buffer
MSGHDR = "<IIIIIII"  # name, namelen, iov, iovlen, control, controllen, flags (the i386 struct msghdr)


def _read_msghdr(k, t, ptr: int):
    return struct.unpack(MSGHDR, k.get_bytes(t, ptr, 28))


def sendmsg_one(k, t, sock: Socket, hdr_ptr: int, flags: int):
    name, namelen, iov, iovlen, control, controllen, _ = _read_msghdr(k, t, hdr_ptr)
    raw_addr = move_addr_to_kernel(k, t, name, namelen) if name else None
    vecs, total = _iovecs(k, t, iov, iovlen)
    if s32(controllen) < 0 or controllen > SOCK_OPTMEM_MAX:
        raise KernelError(E.EINVAL if s32(controllen) < 0 else E.ENOBUFS)
    ctl = k.get_bytes(t, control, controllen) if controllen else b""
    return (yield from _send_vecs(k, t, sock, vecs, total, raw_addr, ctl, flags))


@syscall("sendto", sig="fd sockfd, buf(len) buf, size len, flags(msg) flags, sockaddr(addrlen) dest_addr, "
         "int addrlen", cls="network")
def sys_sendto(k, t, fd, buf, length, flags, addr, addrlen, *_):
    """Send bytes, to an address for datagrams."""
    sock = sockfd_lookup(t, fd)
    length = min(length, 0x7FFFF000)
    raw_addr = move_addr_to_kernel(k, t, addr, addrlen) if addr else None
    return (yield from _send_vecs(k, t, sock, [(buf, length)], length, raw_addr, b"", flags))


def _send_vecs(k, t, sock: Socket, vecs, total: int, raw_addr, ctl: bytes, flags: int):
    """Send the user buffers vecs: a stream a chunk at a time (the emulator never holds more than one chunk), a
    datagram as one message, EMSGSIZE before any copy when it is bigger than any socket's buffer could take."""
    if sock.type != SOCK_STREAM or total <= CHUNK:
        if total > CHUNK:
            raise KernelError(E.EMSGSIZE)
        data = b"".join(k.get_bytes(t, base, n) for base, n in vecs if n)
        return (yield from do_sendmsg(k, t, sock, data, raw_addr, ctl, flags))
    first = [True]

    def send(data):
        control, first[0] = ctl if first[0] else b"", False  # the control message rides on the first chunk
        return do_sendmsg(k, t, sock, data, raw_addr, control, flags)
    return (yield from write_from(k, t, vecs, total, send))


@subcall("send", sig="fd sockfd, buf(len) buf, size len, flags(msg) flags", cls="network")
def sys_send(k, t, fd, buf, length, flags, *_):
    """send(2), the socketcall-only entry: sendto without an address."""
    return (yield from sys_sendto(k, t, fd, buf, length, flags, 0, 0))


@syscall("sendmsg", sig="fd sockfd, msghdr msg, flags(msg) flags", cls="network")
def sys_sendmsg(k, t, fd, msg, flags, *_):
    """Send a message gathered from an iovec, with a name and control messages."""
    sock = sockfd_lookup(t, fd)
    return (yield from sendmsg_one(k, t, sock, msg, flags))


def do_recvmsg(k, t, sock: Socket, n: int, flags: int):
    """Receive one message or a stream's bytes, sleeping while nothing is there (sock_recvmsg): MSG_WAITALL waits
    for all n bytes of a stream, MSG_PEEK leaves them queued."""
    timeo = _timeo(sock, flags, send=False)
    deadline = _deadline(k, timeo)
    stream = sock.type == SOCK_STREAM
    res = RecvResult()
    while True:
        got = sock.recv_once(n, flags, res if stream else None)
        if got is not None:
            res = got
            if not (stream and flags & MSG_WAITALL and not flags & MSG_PEEK and len(res.data) < n
                    and not res.files and not sock.shut & RCV_SHUTDOWN):
                return res
            continue  # MSG_WAITALL: wait for the rest
        try:
            yield from sock_wait(k, t, sock, timeo, deadline)
        except KernelError:
            if res.data:
                return res
            raise


def _recv_name(res: RecvResult, sock: Socket) -> bytes | None:
    """The sender's name a receive reports: an AF_UNIX sender's as bound (none when unbound), a UDP sender's;
    TCP reports none."""
    if sock.unix:
        return res.addr or None
    if sock.type == SOCK_STREAM or not res.addr:
        return None
    return inet_sockaddr(sock.family, res.addr)


def _put_cmsgs(k, t, sock: Socket, res: RecvResult, control: int, controllen: int, flags: int):
    """Write SCM_CREDENTIALS (with SO_PASSCRED) then SCM_RIGHTS, installing the passed files (scm_recv +
    scm_detach_fds); what does not fit sets MSG_CTRUNC, and files left out are closed."""
    out = bytearray()
    mflags = 0
    if sock.unix and sock.passcred and res.cred is not None and (res.data or res.files or sock.type != SOCK_STREAM):
        msg = struct.pack("<Iii", 24, SOL_SOCKET, SCM_CREDENTIALS) + struct.pack("<iII", *res.cred)
        if controllen - len(out) >= 24:
            out += msg
        else:
            mflags |= MSG_CTRUNC
    files = res.files or []
    if files:
        room = (controllen - len(out) - 12) // 4 if controllen - len(out) >= 16 else 0
        take = min(room, len(files))
        fds = []
        for f in files[:take]:
            try:
                fds.append(t.files.install(f, cloexec=bool(flags & MSG_CMSG_CLOEXEC),
                                           limit=rlimit(t, RLIMIT_NOFILE)[0]))
            except KernelError:
                mflags |= MSG_CTRUNC
                break
        if fds:
            out += struct.pack("<Iii", 12 + 4 * len(fds), SOL_SOCKET, SCM_RIGHTS) + struct.pack(
                f"<{len(fds)}i", *fds)
        if len(fds) < len(files):
            mflags |= MSG_CTRUNC
        for f in files:
            _fput(f)  # the in-flight reference; installed ones hold their own
    if out:
        k.put_bytes(t, control, bytes(out))
    return len(out), mflags


def recvmsg_one(k, t, sock: Socket, hdr_ptr: int, flags: int):
    name, namelen, iov, iovlen, control, controllen, _ = _read_msghdr(k, t, hdr_ptr)
    vecs, total = _iovecs(k, t, iov, iovlen)
    if s32(namelen) < 0:
        raise KernelError(E.EINVAL)
    res = yield from do_recvmsg(k, t, sock, total, flags)
    pos = 0
    for base, n in vecs:
        part = res.data[pos:pos + n]
        if part:
            k.put_bytes(t, base, bytes(part))
        pos += len(part)
    raw = _recv_name(res, sock)
    if name and raw is not None:
        k.put_bytes(t, name, raw[:namelen])
        k.put_u32(t, hdr_ptr + 4, len(raw))
    else:
        k.put_u32(t, hdr_ptr + 4, 0)
    clen, mflags = _put_cmsgs(k, t, sock, res, control, s32(controllen), flags) if (
        res.files or sock.passcred) else (0, 0)
    k.put_u32(t, hdr_ptr + 20, clen)
    k.put_u32(t, hdr_ptr + 24, res.flags | mflags)
    if flags & MSG_TRUNC and sock.type != SOCK_STREAM:
        return res.full_len
    return len(res.data)


@syscall("recvfrom", sig="fd sockfd, out buf(ret) buf, size len, flags(msg) flags, out sockaddr_out(addrlen) "
         "src_addr, out socklen_ptr addrlen", cls="network")
def sys_recvfrom(k, t, fd, buf, length, flags, addr, lenptr, *_):
    """Receive bytes and, for datagrams, the sender's name."""
    sock = sockfd_lookup(t, fd)
    length = min(length, 0x7FFFF000)
    k.get_bytes(t, buf, 0)
    res = yield from do_recvmsg(k, t, sock, length, flags)
    if res.data:
        k.put_bytes(t, buf, bytes(res.data))
    for f in res.files or ():
        _fput(f)  # recv without a control buffer closes passed descriptors
    if addr:
        move_addr_to_user(k, t, _recv_name(res, sock) or b"", addr, lenptr)
    if flags & MSG_TRUNC and sock.type != SOCK_STREAM:
        return res.full_len
    return len(res.data)


@subcall("recv", sig="fd sockfd, out buf(ret) buf, size len, flags(msg) flags", cls="network")
def sys_recv(k, t, fd, buf, length, flags, *_):
    """recv(2), the socketcall-only entry: recvfrom without an address."""
    return (yield from sys_recvfrom(k, t, fd, buf, length, flags, 0, 0))


@syscall("recvmsg", sig="fd sockfd, out msghdr_out msg, flags(msg) flags", cls="network")
def sys_recvmsg(k, t, fd, msg, flags, *_):
    """Receive into an iovec, with the sender's name and control messages."""
    sock = sockfd_lookup(t, fd)
    return (yield from recvmsg_one(k, t, sock, msg, flags))


@syscall("sendmmsg", sig="fd sockfd, mmsghdr(vlen) msgvec, uint vlen, flags(msg) flags", cls="network")
def sys_sendmmsg(k, t, fd, vec, vlen, flags, *_):
    """Send up to vlen messages (UIO_MAXIOV at most); each one's count goes to its msg_len (__sys_sendmmsg)."""
    sock = sockfd_lookup(t, fd)
    vlen = min(vlen, UIO_MAXIOV)
    done = 0
    for i in range(vlen):
        hdr = vec + 32 * i
        try:
            n = yield from sendmsg_one(k, t, sock, hdr, flags)
        except KernelError:
            if done:
                return done
            raise
        k.put_u32(t, hdr + 28, n)
        done += 1
    return done


@syscall("recvmmsg", sig="fd sockfd, out mmsghdr(vlen) msgvec, uint vlen, flags(msg) flags, timespec timeout",
         cls="network")
@syscall("recvmmsg_time64", sig="fd sockfd, out mmsghdr(vlen) msgvec, uint vlen, flags(msg) flags, "
         "timespec64 timeout", cls="network")
def sys_recvmmsg(k, t, fd, vec, vlen, flags, timeout, *_):
    """Receive up to vlen messages; MSG_WAITFORONE makes all after the first non-blocking (do_recvmmsg)."""
    from .common import timespec_arg

    sock = sockfd_lookup(t, fd)
    tmo = timespec_arg(k, t, timeout, t.regs.orig_ax == NR.recvmmsg_time64) if timeout else None
    end = None if tmo is None else k.sched.now() + tmo
    vlen = min(vlen, UIO_MAXIOV)
    done = 0
    for i in range(vlen):
        hdr = vec + 32 * i
        fl = flags | (MSG_DONTWAIT if done and flags & MSG_WAITFORONE else 0)
        try:
            n = yield from recvmsg_one(k, t, sock, hdr, fl)
        except KernelError as e:
            if done:
                if e.errno not in (E.EAGAIN, sigmod.ERESTARTSYS, E.EINTR):
                    sock.err = e.errno
                return done
            raise
        k.put_u32(t, hdr + 28, n)
        done += 1
        if end is not None and k.sched.now() >= end:
            break
    return done


@syscall("shutdown", sig="fd sockfd, enum(shutdown) how", cls="network")
def sys_shutdown(k, t, fd, how, *_):
    """Shut down reading, writing or both (unix_shutdown / inet_shutdown): a connected AF_UNIX peer sees the
    mirror image (its reads end, its writes fail); EINVAL for a bad how, ENOTCONN when not connected."""
    sock = sockfd_lookup(t, fd)
    how = s32(how)
    if how not in (0, 1, 2):
        raise KernelError(E.EINVAL)
    mode = how + 1  # SHUT_RD -> RCV_SHUTDOWN, SHUT_WR -> SEND_SHUTDOWN, SHUT_RDWR -> both
    if not sock.unix:
        if sock.state == LISTENING:
            if mode & RCV_SHUTDOWN:
                sock.state = UNCONNECTED  # inet_shutdown of a listener stops it
                k.sched.wake_up(sock.wq)
            return 0
        if sock.state != CONNECTED:
            raise KernelError(E.ENOTCONN)  # unix_shutdown has no such check
    sock.shut |= mode
    other = sock.peer
    if other is not None and sock.connection_based:
        peer_mode = (RCV_SHUTDOWN if mode & SEND_SHUTDOWN else 0) | (SEND_SHUTDOWN if mode & RCV_SHUTDOWN else 0)
        if not sock.unix:
            peer_mode &= RCV_SHUTDOWN  # TCP tells the peer only of the end of our data (a FIN)
        other.shut |= peer_mode
        k.sched.wake_up(other.wq)  # sk_state_change: every kind of event may have changed
    k.sched.wake_up(sock.wq)
    return 0


# ---- options ---------------------------------------------------------------------------------------------


INT_OPTS = {net.SO_DEBUG, net.SO_REUSEADDR, net.SO_DONTROUTE, net.SO_BROADCAST, net.SO_KEEPALIVE, net.SO_OOBINLINE,
            net.SO_NO_CHECK, net.SO_PRIORITY, net.SO_BSDCOMPAT, net.SO_REUSEPORT, net.SO_SNDLOWAT}
# IP, IPv6 and TCP options with their defaults (the values a fresh Linux reports).
PROTO_OPTS = {
    (net.IPPROTO_IP, 1): 0, (net.IPPROTO_IP, 2): 64, (net.IPPROTO_IP, 3): 0, (net.IPPROTO_IP, 10): 0,
    (net.IPPROTO_IP, 8): 0, (net.IPPROTO_IP, 32): 1, (net.IPPROTO_IP, 33): 1, (net.IPPROTO_IP, 11): 0,
    (net.IPPROTO_IPV6, 26): 0, (net.IPPROTO_IPV6, 16): 64, (net.IPPROTO_IPV6, 18): 1, (net.IPPROTO_IPV6, 19): 1,
    (net.IPPROTO_TCP, 1): 0, (net.IPPROTO_TCP, 2): 536, (net.IPPROTO_TCP, 3): 0, (net.IPPROTO_TCP, 4): 7200,
    (net.IPPROTO_TCP, 5): 75, (net.IPPROTO_TCP, 6): 9, (net.IPPROTO_TCP, 9): 0, (net.IPPROTO_TCP, 12): 1,
    (net.IPPROTO_TCP, 18): 0, (net.IPPROTO_UDP, 1): 0, (IPPROTO_UDPLITE, 1): 0,
}
def _timeval_ns(raw: bytes, new: bool) -> int:
    sec, usec = struct.unpack("<qq" if new else "<ii", raw[:16 if new else 8])
    if usec < 0 or usec >= 1000000:
        raise KernelError(E.EDOM)
    if sec < 0:
        return 0
    return sec * 10**9 + usec * 1000


@syscall("setsockopt", sig="fd sockfd, enum(sol) level, sockopt_name(level) optname, sockopt_val(optlen) optval, "
         "int optlen", cls="network")
def sys_setsockopt(k, t, fd, level, optname, optval, optlen, *_):
    """Set a socket option (sock_setsockopt and the protocols'): buffer sizes are doubled and clamped as Linux
    does, SO_PASSCRED, timeouts, and the IP and TCP options programs set; ENOPROTOOPT for others."""
    sock = sockfd_lookup(t, fd)
    level, optname, optlen = s32(level), s32(optname), s32(optlen)
    if optlen < 0:
        raise KernelError(E.EINVAL)
    # each option copies only the bytes it needs (at most a struct linger or timeval here): take up to 256, as
    # far as they are readable, so a huge optlen costs nothing and a short mapping still serves a small option
    raw = k.get_bytes(t, optval, max(t.mm.accessible(optval, min(optlen, 256), False), 1)) if optlen else b""
    if level == SOL_SOCKET:
        if optname in (net.SO_RCVTIMEO_OLD, net.SO_SNDTIMEO_OLD, net.SO_RCVTIMEO_NEW, net.SO_SNDTIMEO_NEW):
            new = optname in (net.SO_RCVTIMEO_NEW, net.SO_SNDTIMEO_NEW)
            if len(raw) < (16 if new else 8):
                raise KernelError(E.EINVAL)
            ns = _timeval_ns(raw, new)
            if optname in (net.SO_RCVTIMEO_OLD, net.SO_RCVTIMEO_NEW):
                sock.rcvtimeo = ns
            else:
                sock.sndtimeo = ns
            return 0
        if optname == net.SO_LINGER:
            if len(raw) < 8:
                raise KernelError(E.EINVAL)
            sock.linger = struct.unpack("<ii", raw[:8])
            return 0
        if len(raw) < 4:
            raise KernelError(E.EINVAL)
        val = struct.unpack_from("<i", raw)[0]
        if optname in (net.SO_SNDBUF, net.SO_SNDBUFFORCE, net.SO_RCVBUF, net.SO_RCVBUFFORCE):
            force = optname in (net.SO_SNDBUFFORCE, net.SO_RCVBUFFORCE)
            if force and not k.cred(t).capable(CAP_NET_ADMIN):
                raise KernelError(E.EPERM)
            if optname in (net.SO_SNDBUF, net.SO_SNDBUFFORCE):
                val = val if force else min(val, k.sysctl_int("net/core/wmem_max"))
                sock.sndbuf = max(min(val, 0x3FFFFFFF) * 2, net.SOCK_MIN_SNDBUF)
                k.sched.wake_up(sock.wq, key=POLLOUT)
            else:
                val = val if force else min(val, k.sysctl_int("net/core/rmem_max"))
                sock.rcvbuf = max(min(val, 0x3FFFFFFF) * 2, net.SOCK_MIN_RCVBUF)
            return 0
        if optname == net.SO_PASSCRED:
            sock.passcred = bool(val)
            return 0
        if optname == net.SO_RCVLOWAT:
            sock.rcvlowat = max(val, 1) if val >= 0 else 0x7FFFFFFF
            return 0
        if optname in INT_OPTS:
            sock.opts[(SOL_SOCKET, optname)] = val if optname == net.SO_PRIORITY else int(bool(val))
            return 0
        if optname in (net.SO_TYPE, net.SO_ERROR, net.SO_PEERCRED, net.SO_ACCEPTCONN, net.SO_PROTOCOL, net.SO_DOMAIN):
            raise KernelError(E.ENOPROTOOPT)
        k.warn_once(f"sockopt{optname}", f"socket option {optname} is not modelled (-ENOPROTOOPT)")
        raise KernelError(E.ENOPROTOOPT)
    if sock.unix:
        raise KernelError(E.EOPNOTSUPP)  # sock_no_setsockopt
    if level not in _proto_levels(sock):
        raise KernelError(E.ENOPROTOOPT)  # ip_setsockopt: "if (level != SOL_IP) return -ENOPROTOOPT"
    if (level, optname) in MEMBERSHIP:
        return _membership(sock, level, optname, raw)
    if (level, optname) == (net.IPPROTO_IPV6, IPV6_ADDRFORM):
        return _ipv6_addrform(k, sock, raw)
    if (level, optname) not in PROTO_OPTS:
        k.warn_once(f"sockopt{level}.{optname}", f"socket option {level}/{optname} is not modelled (-ENOPROTOOPT)")
        raise KernelError(E.ENOPROTOOPT)
    if len(raw) < 1:
        raise KernelError(E.EINVAL)
    val = struct.unpack_from("<i", raw)[0] if len(raw) >= 4 else raw[0]
    if (level, optname) == (net.IPPROTO_IP, 2) and not (val == -1 or 1 <= val <= 255):
        raise KernelError(E.EINVAL)
    sock.opts[(level, optname)] = val
    return 0


def _proto_levels(sock: Socket) -> set[int]:
    """The option levels an inet socket's protocols answer: IP (and IPv6), and TCP or UDP."""
    levels = {net.IPPROTO_IP}
    if sock.family == AF_INET6:
        levels.add(net.IPPROTO_IPV6)
    if sock.type == SOCK_STREAM:
        levels.add(net.IPPROTO_TCP)
    elif sock.type == SOCK_DGRAM:
        levels.update((net.IPPROTO_UDP, IPPROTO_UDPLITE))
    return levels


IPV6_ADDRFORM = 1
# (level, option) -> (joins, the offset and length of the group address in the request)
MEMBERSHIP = {(net.IPPROTO_IP, 35): (True, 0, 4), (net.IPPROTO_IP, 36): (False, 0, 4),
              (net.IPPROTO_IP, 42): (True, 4, 128), (net.IPPROTO_IP, 45): (False, 4, 128),
              (net.IPPROTO_IPV6, 20): (True, 0, 16), (net.IPPROTO_IPV6, 21): (False, 0, 16),
              (net.IPPROTO_IPV6, 42): (True, 4, 128), (net.IPPROTO_IPV6, 45): (False, 4, 128)}


def _membership(sock: Socket, level: int, optname: int, raw: bytes) -> int:
    """Join or leave a multicast group on the loopback (ip_mc_join_group / ip_mc_leave_group): EINVAL for a
    short request, EADDRINUSE for a group already joined, EADDRNOTAVAIL for leaving one not joined. Groups
    belong to the socket: an accepted connection does not inherit them."""
    join, off, size = MEMBERSHIP[(level, optname)]
    need = off + size if size != 128 else off + 128
    if len(raw) < min(need, 8 if size == 4 else need):
        raise KernelError(E.EINVAL)
    group = raw[off:off + size]
    if join:
        if group in sock.groups:
            raise KernelError(E.EADDRINUSE)
        sock.groups.add(group)
    else:
        if group not in sock.groups:
            raise KernelError(E.EADDRNOTAVAIL)
        sock.groups.discard(group)
    return 0


def _ipv6_addrform(k, sock: Socket, raw: bytes) -> int:
    """IPV6_ADDRFORM: turn a TCP or UDP IPv6 socket whose peer is IPv4-mapped into an IPv4 socket (ENOTCONN for
    TCP not connected, EADDRNOTAVAIL for a peer that is not IPv4-mapped, EINVAL for another target family)."""
    if len(raw) < 4 or struct.unpack_from("<i", raw)[0] != AF_INET:
        raise KernelError(E.EINVAL)
    if sock.family != AF_INET6:
        raise KernelError(E.EINVAL)
    if sock.type == SOCK_STREAM and sock.state != CONNECTED:
        raise KernelError(E.ENOTCONN)
    if sock.peer_addr is None or sock.peer_addr[0][:12] != V4MAPPED:
        raise KernelError(E.EADDRNOTAVAIL)
    sock.family = AF_INET
    sock.peer_addr = (_v4(sock.peer_addr[0]), sock.peer_addr[1])
    if sock.addr is not None:
        sock.addr = (_v4(sock.addr[0]), sock.addr[1])
    return 0


@syscall("getsockopt", sig="fd sockfd, enum(sol) level, sockopt_name(level) optname, out sockopt_val_out(optlen) "
         "optval, out socklen_ptr optlen", cls="network")
def sys_getsockopt(k, t, fd, level, optname, optval, optlen_ptr, *_):
    """Read a socket option: SO_TYPE, SO_ERROR (taking the pending error), SO_PEERCRED, the buffer sizes, and
    the options setsockopt keeps."""
    sock = sockfd_lookup(t, fd)
    level, optname = s32(level), s32(optname)
    ulen = s32(k.get_u32(t, optlen_ptr))
    if ulen < 0:
        raise KernelError(E.EINVAL)
    if level == SOL_SOCKET:
        if optname == net.SO_PEERCRED:
            if sock.peercred is None:
                pid, uid, gid = 0, 0xFFFFFFFF, 0xFFFFFFFF
            else:
                pid, uid, gid = sock.peercred
            raw = struct.pack("<iII", pid, uid, gid)
            n = min(ulen, len(raw))
            k.put_bytes(t, optval, raw[:n])
            k.put_u32(t, optlen_ptr, n)
            return 0
        if optname in (net.SO_RCVTIMEO_OLD, net.SO_SNDTIMEO_OLD, net.SO_RCVTIMEO_NEW, net.SO_SNDTIMEO_NEW):
            ns = sock.rcvtimeo if optname in (net.SO_RCVTIMEO_OLD, net.SO_RCVTIMEO_NEW) else sock.sndtimeo
            new = optname in (net.SO_RCVTIMEO_NEW, net.SO_SNDTIMEO_NEW)
            raw = struct.pack("<qq" if new else "<ii", ns // 10**9, ns % 10**9 // 1000)
        elif optname == net.SO_LINGER:
            raw = struct.pack("<ii", *sock.linger)
        else:
            values = {net.SO_TYPE: sock.type, net.SO_ERROR: None, net.SO_SNDBUF: sock.sndbuf,
                      net.SO_RCVBUF: sock.rcvbuf, net.SO_PASSCRED: int(sock.passcred),
                      net.SO_ACCEPTCONN: int(sock.state == LISTENING), net.SO_PROTOCOL: sock.protocol,
                      net.SO_DOMAIN: sock.family, net.SO_RCVLOWAT: sock.rcvlowat}
            if optname in values:
                v = values[optname]
                if optname == net.SO_ERROR:
                    v = sock._take_error()
            elif optname in INT_OPTS:
                v = sock.opts.get((SOL_SOCKET, optname), 1 if optname == net.SO_SNDLOWAT else 0)
            else:
                raise KernelError(E.ENOPROTOOPT)
            raw = struct.pack("<i", v)
        if ulen < 4 and len(raw) == 4:
            raise KernelError(E.EINVAL)
        n = min(ulen, len(raw))
        k.put_bytes(t, optval, raw[:n])
        k.put_u32(t, optlen_ptr, n)
        return 0
    if sock.unix or level not in _proto_levels(sock):
        raise KernelError(E.EOPNOTSUPP)  # sock_no_getsockopt; ip_getsockopt: "if (level != SOL_IP) -EOPNOTSUPP"
    if (level, optname) not in PROTO_OPTS:
        raise KernelError(E.ENOPROTOOPT)
    v = sock.opts.get((level, optname), PROTO_OPTS[(level, optname)])
    if (level, optname) == (net.IPPROTO_IP, 2) and v == -1:
        v = 64
    raw = struct.pack("<i", v)
    n = min(ulen, 4)
    k.put_bytes(t, optval, raw[:n])
    k.put_u32(t, optlen_ptr, n)
    return 0


# ---- socketcall ------------------------------------------------------------------------------------------


# call number -> (name, handler, argument count) (net/socket.c's nargs[])
SOCKETCALLS = {
    1: ("socket", sys_socket, 3), 2: ("bind", sys_bind, 3), 3: ("connect", sys_connect, 3),
    4: ("listen", sys_listen, 2), 5: ("accept", sys_accept, 3), 6: ("getsockname", sys_getsockname, 3),
    7: ("getpeername", sys_getpeername, 3), 8: ("socketpair", sys_socketpair, 4), 9: ("send", sys_send, 4),
    10: ("recv", sys_recv, 4), 11: ("sendto", sys_sendto, 6), 12: ("recvfrom", sys_recvfrom, 6),
    13: ("shutdown", sys_shutdown, 2), 14: ("setsockopt", sys_setsockopt, 5), 15: ("getsockopt", sys_getsockopt, 5),
    16: ("sendmsg", sys_sendmsg, 3), 17: ("recvmsg", sys_recvmsg, 3), 18: ("accept4", sys_accept4, 4),
    19: ("recvmmsg", sys_recvmmsg, 5), 20: ("sendmmsg", sys_sendmmsg, 4),
}


def socketcall_args(k, t, call: int, args: int) -> tuple:
    """The subcall's arguments from the user array (EINVAL for an unknown call, EFAULT for a bad array)."""
    if call not in SOCKETCALLS:
        raise KernelError(E.EINVAL)
    n = SOCKETCALLS[call][2]
    return struct.unpack(f"<{n}I", k.get_bytes(t, args, 4 * n)) + (0,) * (6 - n)


@syscall("socketcall", sig="socketcall_call call, socketcall_args(call) args", cls="network")
def sys_socketcall(k, t, call, args, *_):
    """The i386 multiplexer of the socket calls: call picks one, args points at its arguments (sys_socketcall)."""
    vals = socketcall_args(k, t, call, args)
    res = SOCKETCALLS[call][1](k, t, *vals)
    if hasattr(res, "send"):
        res = yield from res
    return res


def sock_ioctl(k, t, sock: Socket, cmd: int, arg: int) -> int:
    """SIOCINQ/FIONREAD (bytes to read: a datagram socket's next message), SIOCOUTQ (bytes not yet read by the
    peer), else ENOIOCTLCMD's ENOTTY."""
    if cmd == 0x541B:  # SIOCINQ
        if sock.state == LISTENING:
            raise KernelError(E.EINVAL)
        if sock.type == SOCK_STREAM:
            n = sock.rcv_bytes
        else:
            n = len(sock.rcvq[0].data) if sock.rcvq else 0
        k.put_u32(t, arg, n)
        return 0
    if cmd == 0x5411:  # SIOCOUTQ
        peer = sock.peer
        n = peer.rcv_bytes if peer is not None and not peer.dead and sock.type == SOCK_STREAM else 0
        k.put_u32(t, arg, n)
        return 0
    raise KernelError(E.ENOTTY)

