"""The socket layer of the kernel model alone (no CPU): socketcall, AF_UNIX pairs and names, descriptor passing,
queue accounting, and the loopback's TCP and UDP."""

from __future__ import annotations

import struct

import pytest

from kernel_model.abi import NR, E
from kernel_model.files import PipeEnd
from kernel_model.net import Socket

from test_kernel_model import SCRATCH, neg, new_kernel, sc, spawn

AF_UNIX, AF_INET = 1, 2
SOCK_STREAM, SOCK_DGRAM = 1, 2
MSG_DONTWAIT, MSG_TRUNC = 0x40, 0x20
SOCK_NONBLOCK = 0o4000
ARGS = SCRATCH + 0x400  # socketcall's argument array
SV = SCRATCH + 0x500
BUF = SCRATCH + 0x600
ADDR = SCRATCH + 0x900
LEN = SCRATCH + 0x980
MSG = SCRATCH + 0xA00
IOV = SCRATCH + 0xA40
CTL = SCRATCH + 0xA80


@pytest.fixture
def kt():
    k = new_kernel()
    return k, spawn(k)


def put(k, t, addr, data: bytes) -> None:
    k.put_bytes(t, addr, data)


def socketpair(k, t, type_=SOCK_STREAM):
    assert sc(k, t, NR.socketpair, AF_UNIX, type_, 0, SV) == 0
    return struct.unpack("<ii", k.get_bytes(t, SV, 8))


def test_socketcall_runs_the_call_its_first_argument_names(kt):
    k, t = kt
    put(k, t, ARGS, struct.pack("<4I", AF_UNIX, SOCK_STREAM, 0, SV))
    assert sc(k, t, NR.socketcall, 8, ARGS) == 0  # SYS_SOCKETPAIR
    a, b = struct.unpack("<ii", k.get_bytes(t, SV, 8))
    assert isinstance(t.files.get(a), Socket) and isinstance(t.files.get(b), Socket)


def test_socketcall_rejects_unknown_calls_and_bad_argument_arrays(kt):
    k, t = kt
    assert sc(k, t, NR.socketcall, 0, ARGS) == neg(E.EINVAL)
    assert sc(k, t, NR.socketcall, 21, ARGS) == neg(E.EINVAL)
    assert sc(k, t, NR.socketcall, 1, 0x1000) == neg(E.EFAULT)


def test_stream_pair_carries_bytes_and_reads_end_of_file_after_the_peer_closes(kt):
    k, t = kt
    a, b = socketpair(k, t)
    put(k, t, BUF, b"hello")
    assert sc(k, t, NR.write, a, BUF, 5) == 5
    assert sc(k, t, NR.read, b, BUF + 16, 64) == 5
    assert k.get_bytes(t, BUF + 16, 5) == b"hello"
    assert sc(k, t, NR.close, a) == 0
    assert sc(k, t, NR.read, b, BUF + 16, 64) == 0


def test_scm_rights_moves_an_open_file_to_the_receiver(kt):
    k, t = kt
    a, b = socketpair(k, t, SOCK_DGRAM)
    assert sc(k, t, NR.pipe, SV + 16) == 0
    r, w = struct.unpack("<ii", k.get_bytes(t, SV + 16, 8))
    pipe_file = t.files.get(r)
    put(k, t, BUF, b"x")
    put(k, t, IOV, struct.pack("<II", BUF, 1))
    put(k, t, CTL, struct.pack("<Iiii", 16, 1, 1, r))  # SOL_SOCKET, SCM_RIGHTS, the read end
    put(k, t, MSG, struct.pack("<7I", 0, 0, IOV, 1, CTL, 16, 0))
    assert sc(k, t, NR.sendmsg, a, MSG, 0) == 1
    assert sc(k, t, NR.close, r) == 0  # the message holds the file now
    put(k, t, CTL, bytes(16))
    put(k, t, MSG, struct.pack("<7I", 0, 0, IOV, 1, CTL, 16, 0))
    assert sc(k, t, NR.recvmsg, b, MSG, 0) == 1
    clen, level, ctype, fd = struct.unpack("<Iiii", k.get_bytes(t, CTL, 16))
    assert (clen, level, ctype) == (16, 1, 1)
    assert t.files.get(fd) is pipe_file and isinstance(pipe_file, PipeEnd)


def test_a_full_send_buffer_makes_a_nonblocking_send_eagain_after_the_native_count(kt):
    k, t = kt
    a, _b = socketpair(k, t)
    put(k, t, BUF, b"z")
    sent = 0
    while sc(k, t, NR.sendto, a, BUF, 1, MSG_DONTWAIT, 0, 0) == 1:
        sent += 1
    assert sent == 278  # 212992 bytes of SO_SNDBUF at a truesize of 767 each, as measured on Linux
    assert sc(k, t, NR.sendto, a, BUF, 1, MSG_DONTWAIT, 0, 0) == neg(E.EAGAIN)


def test_datagram_read_short_of_the_message_truncates_and_msg_trunc_reports_its_length(kt):
    k, t = kt
    a, b = socketpair(k, t, SOCK_DGRAM)
    put(k, t, BUF, b"abcdef")
    assert sc(k, t, NR.sendto, a, BUF, 6, 0, 0, 0) == 6
    assert sc(k, t, NR.sendto, a, BUF, 6, 0, 0, 0) == 6
    assert sc(k, t, NR.recvfrom, b, BUF + 16, 2, MSG_TRUNC, 0, 0) == 6
    assert sc(k, t, NR.recvfrom, b, BUF + 16, 2, 0, 0, 0) == 2
    assert sc(k, t, NR.recvfrom, b, BUF + 16, 2, MSG_DONTWAIT, 0, 0) == neg(E.EAGAIN)


def sockaddr_un(path: bytes) -> bytes:
    return struct.pack("<H", AF_UNIX) + path + b"\0"


def test_abstract_names_bind_once_and_connect_to_a_listener(kt):
    k, t = kt
    srv = sc(k, t, NR.socket, AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0)
    name = struct.pack("<H", AF_UNIX) + b"\0model-test"
    put(k, t, ADDR, name)
    assert sc(k, t, NR.bind, srv, ADDR, len(name)) == 0
    other = sc(k, t, NR.socket, AF_UNIX, SOCK_STREAM, 0)
    assert sc(k, t, NR.bind, other, ADDR, len(name)) == neg(E.EADDRINUSE)
    cli = sc(k, t, NR.socket, AF_UNIX, SOCK_STREAM, 0)
    assert sc(k, t, NR.connect, cli, ADDR, len(name)) == neg(E.ECONNREFUSED)  # not listening yet
    assert sc(k, t, NR.accept4, srv, 0, 0, 0) == neg(E.EINVAL)
    assert sc(k, t, NR.listen, srv, 1) == 0
    assert sc(k, t, NR.accept4, srv, 0, 0, 0) == neg(E.EAGAIN)
    assert sc(k, t, NR.connect, cli, ADDR, len(name)) == 0
    conn = sc(k, t, NR.accept4, srv, 0, 0, 0)
    assert conn < 0x80000000
    put(k, t, BUF, b"ping")
    assert sc(k, t, NR.write, cli, BUF, 4) == 4
    assert sc(k, t, NR.read, conn, BUF + 16, 4) == 4


def test_loopback_tcp_refuses_without_a_listener_and_other_hosts_are_not_local(kt):
    k, t = kt
    s = sc(k, t, NR.socket, AF_INET, SOCK_STREAM, 0)
    far = struct.pack("<H", AF_INET) + struct.pack(">H", 80) + bytes((192, 0, 2, 1)) + bytes(8)
    put(k, t, ADDR, far)
    assert sc(k, t, NR.bind, s, ADDR, 16) == neg(E.EADDRNOTAVAIL)
    assert sc(k, t, NR.connect, s, ADDR, 16) == neg(E.ENETUNREACH)
    lo = struct.pack("<H", AF_INET) + struct.pack(">H", 5555) + bytes((127, 0, 0, 1)) + bytes(8)
    put(k, t, ADDR, lo)
    assert sc(k, t, NR.connect, s, ADDR, 16) == neg(E.ECONNREFUSED)


def test_udp_on_the_loopback_delivers_with_the_senders_name(kt):
    k, t = kt
    s = sc(k, t, NR.socket, AF_INET, SOCK_DGRAM, 0)
    c = sc(k, t, NR.socket, AF_INET, SOCK_DGRAM, 0)
    lo = struct.pack("<H", AF_INET) + struct.pack(">H", 6000) + bytes((127, 0, 0, 1)) + bytes(8)
    put(k, t, ADDR, lo)
    assert sc(k, t, NR.bind, s, ADDR, 16) == 0
    put(k, t, BUF, b"dgram")
    assert sc(k, t, NR.sendto, c, BUF, 5, 0, ADDR, 16) == 5
    k.put_u32(t, LEN, 16)
    assert sc(k, t, NR.recvfrom, s, BUF + 16, 64, 0, ADDR + 32, LEN) == 5
    fam, port = struct.unpack("<H", k.get_bytes(t, ADDR + 32, 2))[0], struct.unpack(
        ">H", k.get_bytes(t, ADDR + 34, 2))[0]
    assert fam == AF_INET and port >= 32768
    assert k.get_bytes(t, ADDR + 36, 4) == bytes((127, 0, 0, 1))
