"""Sockets: the socket layer (net/socket.c), AF_UNIX (net/unix/af_unix.c) and a loopback-only AF_INET/AF_INET6.

A socket is a File of the model with one wait queue (sk_wq): data, connections and state changes wake it with
an event key, so sockets block through the scheduler and work in read/write, poll, select and epoll alike.

* AF_UNIX: stream, datagram and seqpacket sockets. Names are paths under the guest root (bind makes the
  S_IFSOCK node on the host file system, as unix_bind does, and the model keys the socket by the node's inode)
  or abstract names (a leading NUL), and autobind picks "\\0XXXXX" names. Messages carry descriptors
  (SCM_RIGHTS: the open files themselves travel, as struct file references do in the kernel) and credentials
  (SCM_CREDENTIALS, SO_PASSCRED, SO_PEERCRED).
* AF_INET/AF_INET6: the model has one network interface, the loopback (127.0.0.0/8, ::1). TCP and UDP sockets
  bind, listen, connect and carry data between guest processes; any other address is not local
  (EADDRNOTAVAIL at bind) and has no route (ENETUNREACH at connect). Nothing reaches the host's network.

Queue accounting follows Linux: each queued buffer charges its sender's send-buffer allocation (sk_wmem_alloc)
with its truesize, a sender waits while that reaches SO_SNDBUF, and the receiver's read gives it back.
"""

from __future__ import annotations

import stat as pystat
from collections import deque
from typing import TYPE_CHECKING

from .abi import E
from .files import (POLLERR, POLLHUP, POLLIN, POLLOUT, POLLRDNORM, POLLWRNORM, File, KernelError,
                    O_RDWR)
from .task import WaitQueue

if TYPE_CHECKING:
    from .kernel import Kernel

AF_UNSPEC, AF_UNIX, AF_INET, AF_INET6, AF_NETLINK, AF_PACKET = 0, 1, 2, 10, 16, 17
AF_MAX = 46
SOCK_STREAM, SOCK_DGRAM, SOCK_RAW, SOCK_RDM, SOCK_SEQPACKET, SOCK_DCCP, SOCK_PACKET = 1, 2, 3, 4, 5, 6, 10
SOCK_TYPE_MASK = 0xF
IPPROTO_IP, IPPROTO_ICMP, IPPROTO_TCP, IPPROTO_UDP, IPPROTO_IPV6 = 0, 1, 6, 17, 41

MSG_OOB, MSG_PEEK, MSG_DONTROUTE, MSG_CTRUNC, MSG_TRUNC, MSG_DONTWAIT, MSG_EOR = 1, 2, 4, 8, 0x20, 0x40, 0x80
MSG_WAITALL, MSG_ERRQUEUE, MSG_NOSIGNAL, MSG_MORE, MSG_WAITFORONE = 0x100, 0x2000, 0x4000, 0x8000, 0x10000
MSG_CMSG_CLOEXEC = 0x40000000

SOL_SOCKET = 1
SO_DEBUG, SO_REUSEADDR, SO_TYPE, SO_ERROR, SO_DONTROUTE, SO_BROADCAST, SO_SNDBUF, SO_RCVBUF = 1, 2, 3, 4, 5, 6, 7, 8
SO_KEEPALIVE, SO_OOBINLINE, SO_NO_CHECK, SO_PRIORITY, SO_LINGER, SO_BSDCOMPAT, SO_REUSEPORT = 9, 10, 11, 12, 13, 14, 15
SO_PASSCRED, SO_PEERCRED, SO_RCVLOWAT, SO_SNDLOWAT, SO_RCVTIMEO_OLD, SO_SNDTIMEO_OLD = 16, 17, 18, 19, 20, 21
SO_ACCEPTCONN, SO_PEERSEC, SO_SNDBUFFORCE, SO_RCVBUFFORCE, SO_PROTOCOL, SO_DOMAIN = 30, 31, 32, 33, 38, 39
SO_RCVTIMEO_NEW, SO_SNDTIMEO_NEW = 66, 67
SCM_RIGHTS, SCM_CREDENTIALS = 1, 2
SCM_MAX_FD = 253

RCV_SHUTDOWN, SEND_SHUTDOWN, SHUTDOWN_MASK = 1, 2, 3
POLLRDHUP, POLLWRBAND = 0x2000, 0x200

# The defaults of a fresh Linux (net.core.wmem_default/rmem_default/wmem_max/rmem_max, somaxconn,
# net.unix.max_dgram_qlen, the TCP buffer defaults of tcp_wmem/tcp_rmem), and the smallest buffers
# setsockopt allows (SOCK_MIN_SNDBUF/SOCK_MIN_RCVBUF), as measured natively on i386.
WMEM_DEFAULT = RMEM_DEFAULT = 212992
WMEM_MAX = RMEM_MAX = 212992
TCP_WMEM_DEFAULT, TCP_RMEM_DEFAULT = 16384, 131072
SOCK_MIN_SNDBUF, SOCK_MIN_RCVBUF = 4608, 2304
SOMAXCONN = 4096
MAX_DGRAM_QLEN = 10
# the most data one AF_UNIX stream buffer carries: SKB_MAX_HEAD(0) + UNIX_SKB_FRAGS_SZ (32 KiB) in
# unix_stream_sendmsg, measured natively on this host (a big non-blocking write queues 6 of them, 219264 bytes)
UNIX_SKB_MAX = 36544
SKB_OVERHEAD = 766  # bytes a queued buffer costs beyond its data (its truesize), measured natively on i386
UNIX_PATH_MAX = 108
SUN_PATH_OFFSET = 2
EPHEMERAL_LOW, EPHEMERAL_HIGH = 32768, 60999  # net.ipv4.ip_local_port_range
MAX_UDP_PAYLOAD = 65507

# socket states (the TCP_* values the kernel reuses for every family)
UNCONNECTED, CONNECTING, CONNECTED, LISTENING, CLOSED = "unconnected", "connecting", "connected", "listening", "closed"

SOCKFS_DEV = 0x8


class Skb:
    """struct sk_buff on a receive queue: the data, the sender's name (datagrams), descriptors and credentials
    riding with it (UNIXCB), and the truesize charged to the sender."""

    __slots__ = ("data", "off", "addr", "files", "cred", "truesize", "sender")

    def __init__(self, data: bytes, addr: bytes | None, files, cred, sender) -> None:
        self.data = data
        self.off = 0  # bytes of a stream buffer already read
        self.addr = addr
        self.files = files
        self.cred = cred
        self.truesize = len(data) + SKB_OVERHEAD
        self.sender = sender


class RecvResult:
    """What one receive took: the bytes, the sender's name, the descriptors and credentials, msg_flags."""

    __slots__ = ("data", "addr", "files", "cred", "flags", "full_len")

    def __init__(self) -> None:
        self.data = bytearray()
        self.addr: bytes | None = None
        self.files: list | None = None
        self.cred = None
        self.flags = 0
        self.full_len = 0


class NetNamespace:
    """The model's one network namespace: bound AF_UNIX names and the loopback's ports."""

    def __init__(self, k: Kernel) -> None:
        self.k = k
        self.unix_inodes: dict[tuple[int, int], Socket] = {}  # (dev, ino) of a bound socket node -> socket
        self.unix_abstract: dict[bytes, Socket] = {}
        self.autobind_next = 1
        self.ports: dict[tuple[int, int], list[Socket]] = {}  # (protocol, port) -> sockets bound there
        self.ephemeral_next = EPHEMERAL_LOW
        self.noted_inet = False

    def unix_autobind(self, sock: Socket) -> None:
        """Give an unbound socket an abstract name of five hex digits (unix_autobind)."""
        while True:
            name = b"\1\0\0" + b"%05x" % (self.autobind_next & 0xFFFFF)  # sun_family, NUL, five hex digits
            self.autobind_next += 1
            if name not in self.unix_abstract:
                break
        self.unix_abstract[name] = sock
        sock.addr = name
        sock.bound_key = ("abstract", name)

    def ephemeral_port(self, proto: int) -> int:
        """The next free port of the local range, in order (the model's deterministic inet_csk_get_port)."""
        span = EPHEMERAL_HIGH - EPHEMERAL_LOW + 1
        for _ in range(span):
            port = self.ephemeral_next
            self.ephemeral_next = EPHEMERAL_LOW + (port + 1 - EPHEMERAL_LOW) % span
            if (proto, port) not in self.ports:
                return port
        raise KernelError(E.EADDRINUSE)

    def unbind(self, sock: Socket) -> None:
        key = sock.bound_key
        if key is None:
            return
        if key[0] == "inode":
            if self.unix_inodes.get(key[1]) is sock:
                del self.unix_inodes[key[1]]
        elif key[0] == "abstract":
            if self.unix_abstract.get(key[1]) is sock:
                del self.unix_abstract[key[1]]
        else:
            socks = self.ports.get(key[1], [])
            if sock in socks:
                socks.remove(sock)
            if not socks:
                self.ports.pop(key[1], None)
        sock.bound_key = None


class Socket(File):
    """struct socket + struct sock: one endpoint of any family the model has."""

    _ino = 0

    def __init__(self, k: Kernel, family: int, type_: int, protocol: int, flags: int) -> None:
        Socket._ino += 1
        self.ino = 0x20000 + Socket._ino
        super().__init__("socket:[%d]" % self.ino, O_RDWR | flags)
        self.k = k
        self.family, self.type, self.protocol = family, type_, protocol
        self.wq = WaitQueue("sock")
        self.state = UNCONNECTED
        self.rcvq: deque[Skb] = deque()
        self.rcv_bytes = 0
        self.wmem = 0  # truesize of this socket's buffers still queued at a receiver (sk_wmem_alloc)
        inet_stream = family != AF_UNIX and type_ == SOCK_STREAM
        self.sndbuf = TCP_WMEM_DEFAULT if inet_stream else WMEM_DEFAULT
        self.rcvbuf = TCP_RMEM_DEFAULT if inet_stream else RMEM_DEFAULT
        self.err = 0  # sk_err, reported once by SO_ERROR or the next call
        self.shut = 0
        self.peer: Socket | None = None
        self.addr: bytes | tuple | None = None  # AF_UNIX: the sockaddr_un name; inet: (host bytes, port)
        self.bound_key = None
        self.backlog = 0
        self.acceptq: deque[Socket] = deque()
        self.listener: Socket | None = None  # an embryo's listening socket until accept takes it
        self.peercred: tuple[int, int, int] | None = None
        self.opts: dict[tuple[int, int], int] = {}
        self.linger = (0, 0)
        self.rcvtimeo = self.sndtimeo = 0  # ns, 0: forever
        self.rcvlowat = 1
        self.passcred = False
        self.reset_pending = False  # TCP: the peer closed; the next send is answered by a reset
        self.dead = False
        self.peer_addr = None  # the name of the socket connected to, as getpeername reports it
        self.cork = bytearray()  # MSG_MORE: data held back until a send without it
        self.wait_on = None  # the queue a blocked send waits on (a full datagram receiver's: peer_wait)
        self.groups: set[bytes] = set()  # multicast groups joined (IP_ADD_MEMBERSHIP, MCAST_JOIN_GROUP)
        self.owner = (k.init_cred.fsuid, k.init_cred.fsgid)  # sock_create sets the creator's

    # ---- File --------------------------------------------------------------------------------------------

    @property
    def connection_based(self) -> bool:
        return self.type in (SOCK_STREAM, SOCK_SEQPACKET)

    @property
    def unix(self) -> bool:
        return self.family == AF_UNIX

    def waitqueue(self):
        return self.wq

    def stat(self) -> dict[str, int]:
        return {"dev": SOCKFS_DEV, "ino": self.ino, "mode": pystat.S_IFSOCK | 0o777, "nlink": 1,
                "uid": self.owner[0], "gid": self.owner[1], "rdev": 0, "size": 0, "blksize": 4096, "blocks": 0,
                "atime": 0, "atime_ns": 0, "mtime": 0, "mtime_ns": 0, "ctime": 0, "ctime_ns": 0}

    def read(self, n: int) -> bytes | None:
        """read(2) on a socket is recv with no flags (sock_read_iter)."""
        res = self.recv_once(n, 0)
        return None if res is None else bytes(res.data)

    def write(self, data: bytes) -> int | None:
        """write(2) on a socket is send with no flags (sock_write_iter); an AF_UNIX message carries the
        writer's credentials."""
        cred = None
        if self.unix:
            task = self.k.sched.current
            cred = sock_cred(self.k, task) if task is not None else None
            if self.addr is None and (self.passcred or (self.peer is not None and self.peer.passcred)):
                self.k.net.unix_autobind(self)
        return self.send_once(data, None, None, None, 0, cred)

    def poll(self) -> int:
        """unix_poll / unix_dgram_poll / tcp_poll / udp_poll: what the socket is ready for."""
        mask = POLLERR if self.err else 0
        if self.shut == SHUTDOWN_MASK:
            mask |= POLLHUP
        if self.shut & RCV_SHUTDOWN:
            mask |= POLLRDHUP | POLLIN | POLLRDNORM
        if self.rcvq or (self.state == LISTENING and self.acceptq):
            mask |= POLLIN | POLLRDNORM
        if self.connection_based and self.state in (UNCONNECTED, CLOSED):
            mask |= POLLHUP
            if not self.unix:
                return mask  # tcp_poll: an unconnected TCP socket is not writable
        if self.state == LISTENING:
            return mask
        if self.writable():
            mask |= POLLOUT | POLLWRNORM | POLLWRBAND
        return mask

    def writable(self) -> bool:
        """unix_writable / sk_stream_is_writeable, and a connected datagram socket's peer queue with room."""
        if self.type == SOCK_DGRAM and self.unix and self.peer is not None:
            other = self.peer
            if other.peer is not self and len(other.rcvq) > self.k.sysctl_int("net/unix/max_dgram_qlen"):
                return False
        return (self.wmem << 2) <= self.sndbuf if self.unix else self.wmem < self.sndbuf

    def release(self) -> None:
        """The last descriptor closed (unix_release_sock / tcp_close / udp_lib_close)."""
        self.dead = True
        k = self.k
        k.net.unbind(self)
        unread = bool(self.rcvq)
        self.purge_queue()
        for embryo in list(self.acceptq):  # connections nobody accepted are reset
            embryo.listener = None
            embryo.release()
        self.acceptq.clear()
        if self.listener is not None and self in self.listener.acceptq:
            self.listener.acceptq.remove(self)
        peer = self.peer
        self.peer = None
        old_state = self.state
        self.state = CLOSED
        self.shut = SHUTDOWN_MASK
        if peer is not None:
            if self.connection_based:
                if peer.peer is self:
                    peer.shut = SHUTDOWN_MASK
                    if unread or old_state == CONNECTING:
                        peer.err = E.ECONNRESET
                    if not self.unix:
                        peer.reset_pending = True
            k.sched.wake_up(peer.wq, key=POLLIN | POLLOUT | POLLHUP | POLLRDHUP)
        k.sched.wake_up(self.wq, key=POLLHUP | POLLERR)

    def release_connection(self) -> None:
        """connect(AF_UNSPEC) on a TCP socket: abort the connection; the peer sees a reset (tcp_disconnect)."""
        peer = self.peer
        self.peer = None
        self.peer_addr = None
        if peer is not None and peer.peer is self:
            peer.err = E.ECONNRESET
            peer.shut = SHUTDOWN_MASK
            self.k.sched.wake_up(peer.wq)

    def purge_queue(self) -> None:
        """Drop the receive queue, giving senders their allocation back and the in-flight files their ref."""
        from .files import _fput

        while self.rcvq:
            skb = self.rcvq.popleft()
            self._uncharge(skb)
            for f in skb.files or ():
                _fput(f)
        self.rcv_bytes = 0

    def _uncharge(self, skb: Skb) -> None:
        s = skb.sender
        if s is not None:
            s.wmem -= skb.truesize
            if not s.dead:
                self.k.sched.wake_up(s.wq, key=POLLOUT | POLLWRNORM | POLLWRBAND)  # sk_write_space

    # ---- receive -------------------------------------------------------------------------------------------

    def recv_once(self, n: int, flags: int, res: RecvResult | None = None) -> RecvResult | None:
        """Take what is queued without sleeping; None when the caller must wait (unix_stream_read_generic,
        unix_dgram_recvmsg, tcp_recvmsg, udp_recvmsg). A stream read adds to res (MSG_WAITALL collects)."""
        if self.type == SOCK_RAW:
            self._no_raw_packets()
        if flags & MSG_ERRQUEUE:
            raise KernelError(E.EAGAIN)
        if flags & MSG_OOB:
            raise KernelError(E.EINVAL if self.type == SOCK_STREAM else E.EOPNOTSUPP)
        if self.state == LISTENING:
            raise KernelError(E.EINVAL if self.unix else E.ENOTCONN)
        if self.type == SOCK_STREAM:
            return self._stream_recv(n, flags, res or RecvResult())
        return self._dgram_recv(n, flags)

    def _no_raw_packets(self) -> None:
        self.k.warn_once("rawsock", "raw IP sockets carry no packets in the model: sending or receiving on one "
                         "fails (-EOPNOTSUPP)")
        raise KernelError(E.EOPNOTSUPP)

    def _take_error(self) -> int:
        err, self.err = self.err, 0
        return err

    def _stream_recv(self, n: int, flags: int, res: RecvResult) -> RecvResult | None:
        """Bytes of consecutive buffers up to n in all (res holds what an earlier pass took); a buffer carrying
        descriptors, or (with SO_PASSCRED) one from another writer, ends the read; None: nothing new yet."""
        if self.state == UNCONNECTED and not self.rcvq:
            raise KernelError(self._take_error() or E.ENOTCONN)
        start = got = len(res.data)
        if n == 0:
            return res
        peek = flags & MSG_PEEK
        idx = 0
        while got < n and idx < len(self.rcvq):
            skb = self.rcvq[idx]
            if got and self.unix and self.passcred and skb.cred != res.cred:
                break  # never glue messages from different writers (unix_stream_read_generic)
            if not got:
                res.cred, res.addr = skb.cred, skb.addr
            take = min(n - got, len(skb.data) - skb.off)
            res.data += skb.data[skb.off:skb.off + take]
            got += take
            if peek:
                idx += 1
                if skb.files:
                    break
                continue
            skb.off += take
            self.rcv_bytes -= take
            files, skb.files = skb.files, None
            if files:
                res.files = files
            if skb.off < len(skb.data):
                break
            self.rcvq.popleft()
            self._uncharge(skb)
            if files:
                break
        if got == start:
            if self.err:
                if start:
                    return None
                raise KernelError(self._take_error())
            if self.shut & RCV_SHUTDOWN:
                return res
            return None
        return res

    def _dgram_recv(self, n: int, flags: int) -> RecvResult | None:
        if not self.rcvq:
            err = self._take_error()
            if err:
                raise KernelError(err)
            if self.shut & RCV_SHUTDOWN:
                return RecvResult()
            if self.type == SOCK_SEQPACKET and self.state != CONNECTED:
                if self.state == UNCONNECTED:
                    raise KernelError(E.ENOTCONN)
                return RecvResult()
            return None
        skb = self.rcvq[0]
        res = RecvResult()
        res.data += skb.data[:n]
        res.full_len = len(skb.data)
        if len(skb.data) > n:
            res.flags |= MSG_TRUNC
        res.addr = skb.addr
        res.cred = skb.cred
        if not flags & MSG_PEEK:
            self.rcvq.popleft()
            self.rcv_bytes -= len(skb.data)
            self._uncharge(skb)
            res.files = skb.files
            skb.files = None
            if self.unix and self.type == SOCK_DGRAM:
                # a sender waiting for room in this queue may go on (unix_dgram_recvmsg wakes peer_wait)
                self.k.sched.wake_up(self.wq, key=POLLOUT | POLLWRNORM)
        return res

    # ---- send ----------------------------------------------------------------------------------------------

    def check_send(self, flags: int) -> None:
        """Errors that come before any data moves: a pending error, a shut-down or broken connection."""
        if flags & MSG_OOB and not (self.type == SOCK_STREAM):
            raise KernelError(E.EOPNOTSUPP)
        if self.shut & SEND_SHUTDOWN:
            raise KernelError(E.EPIPE)

    def send_once(self, data: bytes, dest: Socket | None, dest_addr, files, flags: int,
                  cred=None) -> int | None:
        """Queue as much of data as room allows without sleeping; None when the caller must wait. dest is a
        datagram's resolved target (None: the peer)."""
        if self.type == SOCK_RAW:
            self._no_raw_packets()
        err = self._take_error() if not self.unix or self.type != SOCK_DGRAM else 0
        if err:
            raise KernelError(err)
        self.check_send(flags)
        if self.type == SOCK_STREAM:
            return self._stream_send(data, files, cred, flags)
        return self._dgram_send(data, dest, files, cred)

    def _stream_send(self, data: bytes, files, cred, flags: int) -> int | None:
        if self.state != CONNECTED:
            if self.unix:
                raise KernelError(E.ENOTCONN)
            raise KernelError(E.EPIPE)  # sk_stream_wait_connect on a closed TCP socket
        other = self.peer
        if other is None or other.dead or (self.unix and other.shut & RCV_SHUTDOWN):
            if not self.unix and self.reset_pending:
                self.reset_pending = False  # the data goes out; the peer's reset answers it (tcp_reset: EPIPE)
                self.err = E.EPIPE
                return len(data)
            raise KernelError(E.EPIPE)
        if self.wmem >= self.sndbuf:
            return None
        if not data:
            return 0  # a stream carries no empty messages (nor the descriptors riding on one)
        sent = 0
        limit = max(min((self.sndbuf >> 1) - 64, UNIX_SKB_MAX), 1) if self.unix else 65536
        while sent < len(data) and self.wmem < self.sndbuf:
            chunk = data[sent:sent + limit]
            skb = Skb(chunk, self.addr if self.unix else None, files, cred, self)
            files = None
            other.rcvq.append(skb)
            other.rcv_bytes += len(chunk)
            self.wmem += skb.truesize
            sent += len(chunk)
        self.k.sched.wake_up(other.wq, key=POLLIN | POLLRDNORM)
        return sent

    def _dgram_send(self, data: bytes, dest: Socket | None, files, cred) -> int | None:
        if self.unix and len(data) > self.sndbuf - 32:
            raise KernelError(E.EMSGSIZE)
        if not self.unix and len(data) > MAX_UDP_PAYLOAD:
            raise KernelError(E.EMSGSIZE)
        other = dest if dest is not None else self.peer
        if self.type == SOCK_SEQPACKET:
            if self.state != CONNECTED:
                raise KernelError(E.ENOTCONN)
            if other is None or other.dead or other.shut & RCV_SHUTDOWN:
                raise KernelError(E.EPIPE)
        if other is None:
            if not self.unix and self.state == CONNECTED:
                return len(data)  # connected UDP whose port has no socket: dropped (unreachable noted below)
            raise KernelError(E.ENOTCONN if self.unix else E.EDESTADDRREQ)
        if other.dead:
            if dest is None and self.peer is other:
                self.peer = None  # unix_dgram_sendmsg: the peer went away, disconnect
                self.state = UNCONNECTED
            raise KernelError(E.ECONNREFUSED)
        if self.unix and self.type == SOCK_DGRAM:
            if other.peer is not None and other.peer is not self and other is not self:
                raise KernelError(E.EPERM)  # unix_may_send: it is connected to another socket
            if other.shut & RCV_SHUTDOWN:
                raise KernelError(E.EPIPE)
            if other is not self and other.peer is not self and len(other.rcvq) > self.k.sysctl_int(
                    "net/unix/max_dgram_qlen"):
                self.wait_on = other.wq  # unix_wait_for_peer: woken when it reads or goes away
                return None  # unix_recvq_full: wait for the receiver
        if self.wmem >= self.sndbuf:
            return None
        if not self.unix and other.rcv_bytes + len(data) > other.rcvbuf:
            return len(data)  # a full UDP receive buffer drops the datagram
        skb = Skb(bytes(data), self.addr if self.unix else self.inet_name(), files, cred, self)
        other.rcvq.append(skb)
        other.rcv_bytes += len(data)
        self.wmem += skb.truesize
        self.k.sched.wake_up(other.wq, key=POLLIN | POLLRDNORM)
        return len(data)

    # ---- names ---------------------------------------------------------------------------------------------

    def inet_name(self):
        """This socket's (host bytes, port), or the wildcard before bind."""
        if self.addr is None:
            return (bytes(4 if self.family == AF_INET else 16), 0)
        return self.addr

    def peer_name(self):
        """The name getpeername reports, or None for ENOTCONN (a closed peer still names the connection)."""
        if self.peer is not None or (not self.unix and self.state == CONNECTED):
            return self.peer_addr
        return None


def sock_cred(k: Kernel, task) -> tuple[int, int, int]:
    """The (pid, uid, gid) SCM_CREDENTIALS and SO_PEERCRED report for task (its tgid and effective ids)."""
    c = k.cred(task)
    return (task.tgid, c.euid, c.egid)
