"""Reading and writing descriptors: read, write, their vector and positional forms, lseek, sendfile
(fs/read_write.c)."""

from __future__ import annotations

import fcntl
import os
import select
import stat as pystat
import struct
import termios

from ..abi import NR, SIG, E
from ..files import (O_ACCMODE, O_LARGEFILE, O_NONBLOCK, O_RDONLY, O_WRONLY, TTY_POLL_NS, HostFile, KernelError,
                     PipeEnd, is_directory)
from .. import signal as sigmod
from .table import syscall
from ..tty import check_write, tty_check_change
from .common import s32
from ..mm import PAGE_SIZE, TASK_SIZE, USER_CHUNK
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


SEEK_MAX = 4  # SEEK_HOLE
MAX_NON_LFS = 0x7FFFFFFF  # the largest offset of a file opened without O_LARGEFILE
MAX_RW_COUNT = 0x7FFFF000  # INT_MAX & PAGE_MASK: the most one read or write transfers
CHUNK = USER_CHUNK  # bytes the emulator copies between host and guest at a time
DEV_NULL = 3
FULL_READERS = (5, 7, 8, 9)  # /dev/zero, full, random, urandom: a read fills the whole buffer


def fills_buffer(f) -> bool:
    """A read of this file gives all that was asked for up to its end (a regular file or a memory device), so the
    copy goes on chunk after chunk; a pipe, socket or terminal gives what it has in one step."""
    return getattr(f, "regular", False) or getattr(f, "memdev", None) in FULL_READERS


def at_eof(f) -> bool:
    """A read would return 0 without copying a byte: a pipe with nothing in it and no writer, a regular file read
    at or past its end, a host FIFO that is readable with nothing in it (its writers are gone), so a read into a
    bad buffer is 0, not EFAULT, as in pipe_read and filemap_read."""
    if isinstance(f, PipeEnd):
        return not f.pipe.buf and f.pipe.writers == 0
    fd = getattr(f, "fd", None)
    if fd is None or getattr(f, "tty", False):
        return False
    try:
        if f.regular:
            return os.lseek(fd, 0, os.SEEK_CUR) >= os.fstat(fd).st_size
        if pystat.S_ISFIFO(os.fstat(fd).st_mode) and select.select([fd], [], [], 0)[0]:
            avail = fcntl.ioctl(fd, termios.FIONREAD, b"\0\0\0\0")
            return struct.unpack("<i", avail)[0] == 0
    except OSError:
        pass
    return False


def _windows(k, t, vecs, skip: int):
    """The user memory the next step of a scattered copy may store into: (address, length) pieces of at most
    CHUNK bytes in all, starting skip bytes into vecs, and whether a page that cannot be written cut them short."""
    pieces, want = [], 0
    for base, n in vecs:
        if skip >= n:
            skip -= n
            continue
        base, n, skip = base + skip, n - skip, 0
        ask = min(n, CHUNK - want)
        room = t.mm.accessible(base, ask, True)
        if room:
            pieces.append((base, room))
            want += room
        if room < ask:
            return pieces, want, True
        if want == CHUNK:
            break
    return pieces, want, False


def read_into(k, t, f, vecs, total: int, reader):
    """Fill the user buffers vecs (up to total bytes) from reader(n) (bytes, or None while it would block): the
    first step sleeps as file_io does, later steps go on only for a file that fills_buffer, and the copy ends at
    the first page that cannot be written with what was stored (EFAULT when nothing was) (do_iter_read)."""
    done, first = 0, True
    while done < total:
        pieces, want, short = _windows(k, t, vecs, done)
        if want == 0:
            if done == 0:
                # the file's own refusal (a directory: EISDIR), its EAGAIN or its wait for data come first; only a
                # read that would copy something is EFAULT
                yield from file_io(k, t, f, lambda: reader(0))
                if not at_eof(f):
                    raise KernelError(E.EFAULT)
            break
        if first:
            data = yield from file_io(k, t, f, lambda want=want: reader(want))
            first = False
        else:
            data = reader(want) or b""
        pos = 0
        for base, n in pieces:
            if pos >= len(data):
                break
            k.put_bytes(t, base, data[pos:pos + n])
            pos += n
        done += len(data)
        if short or len(data) < want or not fills_buffer(f):
            break
    return done


def gather(k, t, vecs):
    """The bytes of the user buffers vecs, at most CHUNK at a time, ending at the first page that cannot be read
    (EFAULT when not even the first byte can be)."""
    block, size, got = [], 0, False
    for base, n in vecs:
        pos = 0
        while pos < n:
            ask = min(n - pos, CHUNK - size)
            room = t.mm.accessible(base + pos, ask, False)
            if room:
                block.append(k.get_bytes(t, base + pos, room))
                size += room
                pos += room
                got = True
            if size == CHUNK or (room < ask and size):
                yield b"".join(block)
                block, size = [], 0
            if room < ask:
                if not got:
                    raise KernelError(E.EFAULT)
                return
    if size:
        yield b"".join(block)


def write_from(k, t, vecs, total: int, writer):
    """Write the user buffers vecs (total bytes) through writer(data) (a generator: bytes written), CHUNK at a
    time: a short write, an error after some bytes, or an unreadable page ends it with the count so far."""
    done = 0
    try:
        for data in gather(k, t, vecs):
            n = yield from writer(data)
            done += n
            if n < len(data):
                break
    except KernelError:
        if not done:
            raise
    return done


def has_positions(f) -> bool:
    """The file can be read or written at an offset (FMODE_PREAD): not a pipe, FIFO or socket."""
    if not hasattr(f, "pread"):
        return False
    fd = getattr(f, "fd", None)
    if fd is None or getattr(f, "regular", False):
        return True
    try:
        mode = os.fstat(fd).st_mode
    except OSError:
        return True
    return not (pystat.S_ISFIFO(mode) or pystat.S_ISSOCK(mode))


def check_mode(f, write: bool) -> None:
    """EBADF for a host file or pipe end not open for the direction (FMODE_READ / FMODE_WRITE), which vfs_read,
    vfs_write and their vector forms check before the buffers."""
    if isinstance(f, (HostFile, PipeEnd)) and f.flags & O_ACCMODE in (O_RDONLY if write else O_WRONLY, 3):
        raise KernelError(E.EBADF)


def access_ok(vecs) -> None:
    """EFAULT when a buffer reaches past the user address space (access_ok), before anything is copied."""
    for base, n in vecs:
        if base + n > TASK_SIZE:
            raise KernelError(E.EFAULT)


def _clamp(vecs, limit: int = MAX_RW_COUNT):
    """vecs cut so their lengths add up to at most limit (rw_copy_check_uvector truncates the same way)."""
    out, left = [], limit
    for base, n in vecs:
        out.append((base, min(n, left)))
        left -= out[-1][1]
    return out, limit - left


@syscall("read", sig="fd fd, out buf(ret) buf, size count", cls="desc")
def sys_read(k, t, fd, buf, count, *_):
    """Read from a descriptor into user memory, sleeping while a pipe is empty (ksys_read)."""
    f = t.files.get(fd)
    check_mode(f, False)
    access_ok([(buf, count)])  # on the whole count, as i386's access_ok (TASK_SIZE 3 GiB) sees it
    count = min(count, MAX_RW_COUNT)
    if k.tty is not None and f.isatty():
        tty_check_change(k, t, SIG.SIGTTIN)  # a background group reading the terminal stops (job_control)
    if count == 0:
        f.read(0)  # a descriptor not open for reading is still EBADF (a directory EISDIR)
        return 0
    done = yield from read_into(k, t, f, [(buf, count)], count, f.read)
    if k.fsnotify and done:
        k.fsnotify.file_event(f, IN_ACCESS)  # fsnotify_access
    return done


def _positional(t, fd: int, op: str, off_lo: int, off_hi: int):
    """The file and 64-bit offset of a positional read or write: ESPIPE for a file without positions (a pipe),
    EINVAL for a negative offset."""
    off = off_lo | (off_hi << 32)
    if off >> 63:
        raise KernelError(E.EINVAL)  # ksys_pread64: a negative position before the descriptor
    f = t.files.get(fd)
    if not hasattr(f, op) or not has_positions(f):
        raise KernelError(E.ESPIPE)  # no FMODE_PREAD / FMODE_PWRITE: before the access mode
    return f, off


@syscall("pread64", sig="fd fd, out buf(ret) buf, size count, loff offset", cls="desc")
def sys_pread64(k, t, fd, buf, count, off_lo, off_hi, *_):
    """Read at an offset without moving the file position."""
    f, off = _positional(t, fd, "pread", off_lo, off_hi)
    check_mode(f, False)
    access_ok([(buf, count)])  # on the whole count, as i386's access_ok (TASK_SIZE 3 GiB) sees it
    count = min(count, MAX_RW_COUNT)
    if count == 0:
        f.pread(0, off)  # the file's own refusal even for nothing (a directory: EISDIR)
        return 0
    pos = [off]

    def reader(n):
        data = f.pread(n, pos[0])
        pos[0] += len(data)
        return data
    done = yield from read_into(k, t, f, [(buf, count)], count, reader)
    if k.fsnotify and done:
        k.fsnotify.file_event(f, IN_ACCESS)
    return done


@syscall("pwrite64", sig="fd fd, buf(count) buf, size count, loff offset", cls="desc")
def sys_pwrite64(k, t, fd, buf, count, off_lo, off_hi, *_):
    """Write at an offset without moving the file position (ksys_pwrite64): ESPIPE on a pipe, EINVAL for a
    negative offset."""
    f, off = _positional(t, fd, "pwrite", off_lo, off_hi)
    check_mode(f, True)
    access_ok([(buf, count)])  # on the whole count, as i386's access_ok (TASK_SIZE 3 GiB) sees it
    count = min(count, MAX_RW_COUNT)
    if count == 0:
        return 0
    if getattr(f, "regular", False) and not f.flags & O_LARGEFILE:
        # generic_write_check_limits, before the buffer is read: a file opened without O_LARGEFILE ends at 2 GiB
        if off >= MAX_NON_LFS:
            raise KernelError(E.EFBIG)
        count = min(count, MAX_NON_LFS - off)
    pos = [off]

    def writer(data):
        """One chunk at the offset; a generator, as write_from drives its writers (this one never sleeps)."""
        n = f.pwrite(data, pos[0])
        pos[0] += n
        return n
        yield  # noqa: B901 (unreachable: it only makes this a generator)

    n = yield from write_from(k, t, [(buf, count)], count, writer)
    if k.fsnotify and n:
        k.fsnotify.file_event(f, IN_MODIFY)
    return n


def _write_vecs(k, t, f, vecs, total: int):
    """write and writev, after check_mode: /dev/null takes every byte without reading them (write_null); other
    files are written a chunk at a time."""
    if getattr(f, "memdev", None) == DEV_NULL:
        return total
    if total == 0:
        return (yield from do_write(k, t, f, b""))
    if isinstance(f, PipeEnd):
        # pipe_write copies a page buffer at a time and keeps none it could not fill: a fault inside the first
        # page is EFAULT (after EPIPE, EAGAIN or a wait for room), one later ends the write at a page boundary
        room = 0
        for base, n in vecs:
            got = t.mm.accessible(base, n, False)
            room += got
            if got < n:
                break
        if room < total:
            usable = room - room % PAGE_SIZE
            if usable == 0:
                yield from do_write(k, t, f, b"")
                raise KernelError(E.EFAULT)
            vecs, total = _clamp(vecs, usable)
    return (yield from write_from(k, t, vecs, total, lambda data: do_write(k, t, f, data)))


@syscall("write", sig="fd fd, buf(count) buf, size count", cls="desc")
def sys_write(k, t, fd, buf, count, *_):
    """Write user memory to a descriptor, sleeping while a pipe is full (ksys_write)."""
    f = t.files.get(fd)
    check_mode(f, True)
    access_ok([(buf, count)])  # on the whole count, as i386's access_ok (TASK_SIZE 3 GiB) sees it
    count = min(count, MAX_RW_COUNT)
    return (yield from _write_vecs(k, t, f, [(buf, count)], count))


def _iovecs(k, t, iov, iovcnt):
    """The (base, len) pairs of a user struct iovec array, cut to MAX_RW_COUNT in all: EINVAL for more than
    UIO_MAXIOV entries or a negative length (import_iovec)."""
    if iovcnt > 1024:
        raise KernelError(E.EINVAL)
    raw = k.get_bytes(t, iov, 8 * iovcnt)
    vecs = [struct.unpack_from("<II", raw, 8 * i) for i in range(iovcnt)]
    if any(n >> 31 for _, n in vecs):
        raise KernelError(E.EINVAL)
    access_ok(vecs)
    return _clamp(vecs)


@syscall("writev", sig="fd fd, iovec(iovcnt) iov, int iovcnt", cls="desc")
def sys_writev(k, t, fd, iov, iovcnt, *_):
    """Gather-write: the buffers are written in order, as one write per chunk (do_writev)."""
    f = t.files.get(fd)
    check_mode(f, True)
    vecs, total = _iovecs(k, t, iov, iovcnt)
    if total == 0:
        return 0
    return (yield from _write_vecs(k, t, f, vecs, total))


@syscall("readv", sig="fd fd, out iovec(iovcnt) iov, int iovcnt", cls="desc")
def sys_readv(k, t, fd, iov, iovcnt, *_):
    """Scatter-read into the buffers in order (do_readv)."""
    f = t.files.get(fd)
    check_mode(f, False)
    vecs, total = _iovecs(k, t, iov, iovcnt)
    if total == 0:
        return 0
    done = yield from read_into(k, t, f, vecs, total, f.read)
    if k.fsnotify and done:
        k.fsnotify.file_event(f, IN_ACCESS)
    return done


@syscall("sendfile64", sig="fd out_fd, fd in_fd, out loff_inout offset, size count", cls="desc,network")
@syscall("sendfile", sig="fd out_fd, fd in_fd, out off_inout offset, size count", cls="desc,network")
def sys_sendfile(k, t, out_fd, in_fd, offset_ptr, count, *_):
    """Copy between descriptors in the kernel, a chunk at a time: a read then a write, at an offset when one is
    given (do_sendfile)."""
    if not offset_ptr:
        return (yield from _sendfile(k, t, out_fd, in_fd, None, count, [0]))
    # the offset is read before the descriptors are looked up (EFAULT first), and stored back even when the copy
    # fails, a store that faults being the result
    fmt = "<q" if t.regs.orig_ax == NR.sendfile64 else "<i"
    off = struct.unpack(fmt, k.get_bytes(t, offset_ptr, struct.calcsize(fmt)))[0]
    progress = [0]
    try:
        done = yield from _sendfile(k, t, out_fd, in_fd, off, count, progress)
    except KernelError:
        k.put_bytes(t, offset_ptr, struct.pack(fmt, off + progress[0]))
        raise
    k.put_bytes(t, offset_ptr, struct.pack(fmt, off + done))
    return done


def _sendfile(k, t, out_fd, in_fd, off, count, progress):
    """do_sendfile; progress[0] follows the bytes copied."""
    fin = t.files.get(in_fd)  # do_sendfile: the input (readable, with positions when an offset is given) first
    check_mode(fin, False)
    if off is not None and not has_positions(fin):
        raise KernelError(E.ESPIPE)
    fout = t.files.get(out_fd)
    check_mode(fout, True)
    if isinstance(fin, PipeEnd) or is_directory(fin):
        # "EINVAL: ... an mmap(2)-like operation is not available for in_fd" (sendfile(2)): a pipe or a directory
        # (no splice_read)
        raise KernelError(E.EINVAL)
    count = min(count, MAX_RW_COUNT)
    if k.tty is not None and fin.isatty():
        tty_check_change(k, t, SIG.SIGTTIN)
    done = 0
    while done < count:
        want = min(count - done, CHUNK)
        if off is not None:
            data = fin.pread(want, off + done)
        elif done == 0:
            data = yield from file_io(k, t, fin, lambda want=want: fin.read(want))
        else:
            data = fin.read(want) or b""
        if not data:
            break
        try:
            n = yield from do_write(k, t, fout, data)
        except KernelError:
            if not done:
                raise
            break
        done += n
        progress[0] = done
        if n < len(data) or len(data) < want or not fills_buffer(fin):
            break
    return done


@syscall("lseek", sig="fd fd, off offset, enum(seek) whence", cls="desc")
def sys_lseek(k, t, fd, offset, whence, *_):
    """Move the file position (32-bit offset)."""
    f = t.files.get(fd)
    if whence > SEEK_MAX:
        raise KernelError(E.EINVAL)  # ksys_lseek: an unknown whence, before the file is asked (a pipe: ESPIPE)
    pos = f.lseek(s32(offset), whence)
    if pos > 0x7FFFFFFF:
        raise KernelError(E.EOVERFLOW)
    return pos


@syscall("_llseek", sig="fd fd, loff_hi_lo offset, out loff_ptr result, enum(seek) whence", cls="desc")
def sys_llseek(k, t, fd, hi, lo, result, whence, *_):
    """Move the file position with a 64-bit offset stored through result."""
    off = (hi << 32) | lo
    if off & (1 << 63):
        off -= 1 << 64
    f = t.files.get(fd)
    if whence > SEEK_MAX:
        raise KernelError(E.EINVAL)
    pos = f.lseek(off, whence)
    k.put_bytes(t, result, struct.pack("<q", pos))
    return 0
