"""Reading and writing descriptors: read, write, their vector and positional forms, lseek, sendfile
(fs/read_write.c)."""

from __future__ import annotations

import struct

from ..abi import NR, SIG, E
from ..files import TTY_POLL_NS, PipeEnd, O_NONBLOCK, KernelError
from .. import signal as sigmod
from .table import syscall
from ..tty import check_write, tty_check_change
from .common import s32
from ..inotify import IN_ACCESS, IN_MODIFY


def file_io(k, t, f, op):
    """Run op() until it does not block, sleeping on the file's queue in between (wait_event_interruptible)."""
    while True:
        res = op()
        if res is not None:
            return res
        if f.flags & O_NONBLOCK:
            raise KernelError(E.EAGAIN)
        if k.signal_pending(t):
            raise KernelError(sigmod.ERESTARTSYS)
        # a host terminal wakes nobody when a key is typed: the reader looks again every TTY_POLL_NS
        k.sched.sleep_on(t, f.waitqueue(), TTY_POLL_NS if getattr(f, "tty", False) else None)
        yield


def do_write(k, t, f, data):
    """Write all of data, blocking as needed; a broken pipe raises SIGPIPE and fails with EPIPE (pipe_write)."""
    if k.tty is not None and f.isatty():
        check_write(k, t, f.fd)  # TOSTOP: a background writer stops
    done = 0
    while True:
        rest = data[done:]
        try:
            n = yield from file_io(k, t, f, lambda rest=rest: f.write(rest))
        except KernelError as e:
            if e.errno == E.EPIPE:
                k.send_signal(t, SIG.SIGPIPE, {"signo": SIG.SIGPIPE, "code": sigmod.SI_USER, "pid": t.tgid})
            if done and e.errno in (E.EPIPE, sigmod.ERESTARTSYS, E.EAGAIN):
                return done
            raise
        done += n
        if done >= len(data) or n == 0:
            if k.fsnotify and done:
                k.fsnotify.file_event(f, IN_MODIFY)  # fsnotify_modify
            return done


MAX_RW_COUNT = 0x7FFFF000  # INT_MAX & PAGE_MASK: the most one read or write transfers
CHUNK = 1 << 20  # bytes the emulator copies between host and guest at a time


@syscall("read", sig="fd fd, out buf(ret) buf, size count", cls="desc")
def sys_read(k, t, fd, buf, count, *_):
    """Read from a descriptor into user memory, sleeping while a pipe is empty (ksys_read)."""
    f = t.files.get(fd)
    count = min(count, MAX_RW_COUNT)
    k.get_bytes(t, buf, 0)
    if k.tty is not None and f.isatty():
        tty_check_change(k, t, SIG.SIGTTIN)  # a background group reading the terminal stops (job_control)
    chunk = min(count, CHUNK)
    data = yield from file_io(k, t, f, lambda: f.read(chunk))
    k.put_bytes(t, buf, data)
    done = len(data)
    if getattr(f, "regular", False):
        # A regular file gives all it has up to count, taken a chunk at a time so the emulator holds one chunk;
        # a fault partway ends the read with what was copied (generic_file_read_iter).
        while done < count and len(data) == chunk:
            chunk = min(count - done, CHUNK)
            data = f.read(chunk)
            try:
                k.put_bytes(t, buf + done, data)
            except KernelError:
                break
            done += len(data)
    if k.fsnotify and done:
        k.fsnotify.file_event(f, IN_ACCESS)  # fsnotify_access
    return done


def _positional(t, fd: int, op: str, off_lo: int, off_hi: int):
    """The file and 64-bit offset of a positional read or write: ESPIPE for a file without positions (a pipe),
    EINVAL for a negative offset."""
    f = t.files.get(fd)
    if not hasattr(f, op):
        raise KernelError(E.ESPIPE)
    off = off_lo | (off_hi << 32)
    if off >> 63:
        raise KernelError(E.EINVAL)
    return f, off


@syscall("pread64", sig="fd fd, out buf(ret) buf, size count, loff offset", cls="desc")
def sys_pread64(k, t, fd, buf, count, off_lo, off_hi, *_):
    """Read at an offset without moving the file position."""
    f, off = _positional(t, fd, "pread", off_lo, off_hi)
    data = f.pread(min(count, CHUNK), off)
    k.put_bytes(t, buf, data)
    if k.fsnotify and data:
        k.fsnotify.file_event(f, IN_ACCESS)
    return len(data)


@syscall("pwrite64", sig="fd fd, buf(count) buf, size count, loff offset", cls="desc")
def sys_pwrite64(k, t, fd, buf, count, off_lo, off_hi, *_):
    """Write at an offset without moving the file position (ksys_pwrite64): ESPIPE on a pipe, EINVAL for a
    negative offset."""
    f, off = _positional(t, fd, "pwrite", off_lo, off_hi)
    n = f.pwrite(k.get_bytes(t, buf, min(count, CHUNK)), off)
    if k.fsnotify and n:
        k.fsnotify.file_event(f, IN_MODIFY)
    return n


@syscall("write", sig="fd fd, buf(count) buf, size count", cls="desc")
def sys_write(k, t, fd, buf, count, *_):
    """Write user memory to a descriptor, sleeping while a pipe is full (ksys_write)."""
    f = t.files.get(fd)
    return (yield from do_write(k, t, f, k.get_bytes(t, buf, count)))


def _iovecs(k, t, iov, iovcnt):
    if iovcnt > 1024:
        raise KernelError(E.EINVAL)
    raw = k.get_bytes(t, iov, 8 * iovcnt)
    return [struct.unpack_from("<II", raw, 8 * i) for i in range(iovcnt)]


@syscall("writev", sig="fd fd, iovec(iovcnt) iov, int iovcnt", cls="desc")
def sys_writev(k, t, fd, iov, iovcnt, *_):
    """Gather-write: the buffers are joined and written as one (do_writev)."""
    f = t.files.get(fd)
    data = b"".join(k.get_bytes(t, base, n) for base, n in _iovecs(k, t, iov, iovcnt))
    return (yield from do_write(k, t, f, data)) if data else 0


@syscall("readv", sig="fd fd, out iovec(iovcnt) iov, int iovcnt", cls="desc")
def sys_readv(k, t, fd, iov, iovcnt, *_):
    """Scatter-read into the buffers in order (do_readv)."""
    f = t.files.get(fd)
    vecs = _iovecs(k, t, iov, iovcnt)
    total = sum(n for _, n in vecs)
    data = yield from file_io(k, t, f, lambda: f.read(total))
    pos = 0
    for base, n in vecs:
        chunk = data[pos:pos + n]
        if chunk:
            k.put_bytes(t, base, chunk)
        pos += len(chunk)
    return len(data)


@syscall("sendfile64", sig="fd out_fd, fd in_fd, out loff_inout offset, size count", cls="desc,network")
@syscall("sendfile", sig="fd out_fd, fd in_fd, out off_inout offset, size count", cls="desc,network")
def sys_sendfile(k, t, out_fd, in_fd, offset_ptr, count, *_):
    """Copy between descriptors in the kernel: a read then a write, at an offset when one is given."""
    fin, fout = t.files.get(in_fd), t.files.get(out_fd)
    if isinstance(fin, PipeEnd):
        # "EINVAL: ... an mmap(2)-like operation is not available for in_fd" (sendfile(2)); Linux refuses a pipe
        raise KernelError(E.EINVAL)
    count = min(count, 1 << 20)
    if k.tty is not None and fin.isatty():
        tty_check_change(k, t, SIG.SIGTTIN)
    if offset_ptr:
        size = 8 if t.regs.orig_ax == NR.sendfile64 else 4
        raw = k.get_bytes(t, offset_ptr, size)
        off = struct.unpack("<q" if size == 8 else "<i", raw)[0]
        if not hasattr(fin, "pread"):
            raise KernelError(E.ESPIPE)
        data = fin.pread(count, off)
        k.put_bytes(t, offset_ptr, struct.pack("<q" if size == 8 else "<i", off + len(data)))
    else:
        data = yield from file_io(k, t, fin, lambda: fin.read(count))
    if not data:
        return 0
    return (yield from do_write(k, t, fout, data))


@syscall("lseek", sig="fd fd, off offset, enum(seek) whence", cls="desc")
def sys_lseek(k, t, fd, offset, whence, *_):
    """Move the file position (32-bit offset)."""
    pos = t.files.get(fd).lseek(s32(offset), whence)
    if pos > 0x7FFFFFFF:
        raise KernelError(E.EOVERFLOW)
    return pos


@syscall("_llseek", sig="fd fd, loff_hi_lo offset, out loff_ptr result, enum(seek) whence", cls="desc")
def sys_llseek(k, t, fd, hi, lo, result, whence, *_):
    """Move the file position with a 64-bit offset stored through result."""
    off = (hi << 32) | lo
    if off & (1 << 63):
        off -= 1 << 64
    pos = t.files.get(fd).lseek(off, whence)
    k.put_bytes(t, result, struct.pack("<q", pos))
    return 0
