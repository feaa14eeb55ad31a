"""Memory objects behind VMAs and the page cache of host files (mm/filemap.c; shmem is in shmem.py).

A memory object (Linux's `struct address_space`) owns one frame per resident page, holding one reference of its
own on it; every PTE that maps the page holds another, like any frame. A shared mapping maps the object's frames
themselves, so a store through one mapping is seen through every other and by read(); a private mapping of a file
maps them read-only and copies on the first write (the page-cache page is never reused, since the object keeps its
reference).

* `ShmemObject`: shared anonymous memory and SysV shm segments: pages are zero-filled when first touched.
* `FileObject`: the page cache of one host file, keyed by (st_dev, st_ino) in the kernel's `PageCache`, so every
  mapper and every read()/write() of that file sees one set of pages: write() updates the cached pages it covers,
  and read() first writes the dirty ones back (the model's form of the unified page cache). Dirty pages go back
  to the host file on msync, fsync, munmap of a shared mapping and when the last mapping goes (exit included),
  never past the file's end; a page wholly past the end cannot be mapped (SIGBUS).
"""

from __future__ import annotations

import os

import numpy as np

from .mm import PAGE_SHIFT, PAGE_SIZE, FramePool


class MemObject:
    """Pages by index, each a frame this object holds one reference on, and a count of users (mappings, a SysV
    segment) that keep it alive."""

    kind = "object"

    def __init__(self, pool: FramePool) -> None:
        self.pool = pool
        self.pages: dict[int, int] = {}
        self.users = 0

    def npages(self) -> int:
        """Pages a mapping may reach (past them: SIGBUS)."""
        raise NotImplementedError

    def fill(self, frame: int, idx: int) -> bool:
        """Fill a new frame with page idx's contents; True when they came from a file."""
        return False

    def find_get_page(self, idx: int) -> tuple[int, bool]:
        """(frame of page idx, whether it was created now), creating it on first use (shmem_get_folio /
        filemap_fault); raises IndexError past the end of the object."""
        f = self.pages.get(idx)
        if f is not None:
            return f, False
        if idx >= self.npages():
            raise IndexError(idx)
        f = self.pool.alloc()
        self.fill(f, idx)
        self.pages[idx] = f
        return f, True

    def peek_page(self, idx: int) -> bytes:
        """Page idx's contents without making it resident (for tracers)."""
        f = self.pages.get(idx)
        if f is not None:
            return self.pool.frames[f].tobytes()
        return bytes(PAGE_SIZE)

    def mark_dirty(self, idx: int) -> None:
        """A writable mapping of page idx was made: it may differ from its backing store."""

    def punch_hole(self, first: int, last: int) -> None:
        """Free pages first..last; they read as zeros again (shmem_fallocate's FALLOC_FL_PUNCH_HOLE, MADV_REMOVE)."""
        gone = [idx for idx in self.pages if first <= idx <= last]
        if gone:
            self.pool.put_many(np.array([self.pages.pop(idx) for idx in gone], dtype=np.int64))

    def get(self) -> None:
        """One more user (a VMA, a segment)."""
        self.users += 1

    def put(self) -> None:
        """One user fewer; the last one frees the pages (after writing dirty ones back)."""
        self.users -= 1
        if self.users == 0:
            self.destroy()
        elif self.users < 0:
            raise AssertionError("memory object user count went negative")

    def destroy(self) -> None:
        """Drop every page."""
        if self.pages:
            self.pool.put_many(np.fromiter(self.pages.values(), dtype=np.int64, count=len(self.pages)))
        self.pages = {}

    def resident(self) -> int:
        """Pages in memory."""
        return len(self.pages)


class FileObject(MemObject):
    """The cached pages of one host file (an inode's address_space)."""

    kind = "file"

    def __init__(self, pool: FramePool, cache: PageCache, key: tuple[int, int], fd: int, writable: bool) -> None:
        super().__init__(pool)
        self.cache = cache
        self.key = key
        self.fd = fd  # a host descriptor of its own (a dup), for filling and writing back
        self.writable = writable
        self.dirty: set[int] = set()

    def file_size(self) -> int:
        """The host file's current size."""
        return os.fstat(self.fd).st_size

    def npages(self) -> int:
        return (self.file_size() + PAGE_SIZE - 1) >> PAGE_SHIFT

    def fill(self, frame: int, idx: int) -> bool:
        data = os.pread(self.fd, PAGE_SIZE, idx << PAGE_SHIFT)
        if data:
            self.pool.frames[frame, :len(data)] = np.frombuffer(data, np.uint8)
        return True

    def peek_page(self, idx: int) -> bytes:
        f = self.pages.get(idx)
        if f is not None:
            return self.pool.frames[f].tobytes()
        try:
            return os.pread(self.fd, PAGE_SIZE, idx << PAGE_SHIFT).ljust(PAGE_SIZE, b"\0")
        except OSError:
            return bytes(PAGE_SIZE)

    def upgrade(self, fd: int, writable: bool) -> None:
        """A later mapper opened the file for writing: write back through its descriptor from now on."""
        if writable and not self.writable:
            os.close(self.fd)
            self.fd = os.dup(fd)
            self.writable = True

    def mark_dirty(self, idx: int) -> None:
        self.dirty.add(idx)

    def writeback(self, first: int = 0, last: int | None = None) -> None:
        """Write the dirty pages in [first, last] to the host file, none of it past the file's end
        (filemap_write_and_wait_range)."""
        if not self.dirty or not self.writable:
            return
        size = self.file_size()
        for idx in sorted(self.dirty):
            if idx < first or (last is not None and idx > last):
                continue
            off = idx << PAGE_SHIFT
            n = min(PAGE_SIZE, size - off)
            f = self.pages.get(idx)
            if n > 0 and f is not None:
                os.pwrite(self.fd, self.pool.frames[f, :n].tobytes(), off)
            self.dirty.discard(idx)

    def punch_hole(self, first: int, last: int) -> None:
        """MADV_REMOVE: free the range in the host file (fallocate FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE) and
        in the cache; the pages read as zeros afterwards. EOPNOTSUPP when the host file system cannot."""
        import ctypes

        from .abi import E
        from .files import KernelError

        self.writeback()
        libc = ctypes.CDLL(None, use_errno=True)
        off, length = first << PAGE_SHIFT, (last - first + 1) << PAGE_SHIFT
        if libc.fallocate(self.fd, 3, ctypes.c_int64(off), ctypes.c_int64(length)) != 0:
            raise KernelError(ctypes.get_errno() or E.EOPNOTSUPP)
        super().punch_hole(first, last)
        for idx in range(first, last + 1):
            self.dirty.discard(idx)

    def write_through(self, offset: int, data: bytes) -> None:
        """write() stored data at offset in the host file: update the cached pages it covers."""
        end = offset + len(data)
        pos = offset
        while pos < end:
            idx = pos >> PAGE_SHIFT
            in_page = pos & (PAGE_SIZE - 1)
            n = min(end - pos, PAGE_SIZE - in_page)
            f = self.pages.get(idx)
            if f is not None:
                self.pool.frames[f, in_page:in_page + n] = np.frombuffer(data, np.uint8, n, pos - offset)
            pos += n

    def zeroed(self, offset: int, length: int) -> None:
        """fallocate punched a hole or zeroed a range of the host file: the cached bytes there read as zeros."""
        end = offset + length
        for idx, f in self.pages.items():
            start = idx << PAGE_SHIFT
            lo, hi = max(offset, start), min(end, start + PAGE_SIZE)
            if lo < hi:
                self.pool.frames[f, lo - start:hi - start] = 0

    def reread(self) -> None:
        """The host file's contents moved (fallocate's collapse or insert): every cached page is read again."""
        for idx, f in self.pages.items():
            data = os.pread(self.fd, PAGE_SIZE, idx << PAGE_SHIFT)
            self.pool.frames[f, :] = 0
            if data:
                self.pool.frames[f, :len(data)] = np.frombuffer(data, np.uint8)

    def truncated(self, size: int) -> None:
        """The host file was cut to size: cached bytes past it read as zeros (truncate_pagecache, without the
        unmapping: a page already mapped stays mapped)."""
        for idx, f in self.pages.items():
            start = idx << PAGE_SHIFT
            if start + PAGE_SIZE > size:
                self.pool.frames[f, max(0, size - start):] = 0
                if start >= size:
                    self.dirty.discard(idx)

    def destroy(self) -> None:
        try:
            self.writeback()
        except OSError:
            pass  # the host file went away or became unwritable: the data is lost, as on a failed writeback
        super().destroy()
        self.cache.objects.pop(self.key, None)
        os.close(self.fd)


class PageCache:
    """Every host file with resident pages, by (st_dev, st_ino)."""

    def __init__(self, pool: FramePool) -> None:
        self.pool = pool
        self.objects: dict[tuple[int, int], FileObject] = {}

    def lookup(self, fd: int) -> FileObject | None:
        """The cached object of the file open on host descriptor fd, if any."""
        st = os.fstat(fd)
        return self.objects.get((st.st_dev, st.st_ino))

    def get_object(self, fd: int, writable: bool) -> FileObject:
        """The file's object, created at its first mapping (the inode's i_mapping)."""
        st = os.fstat(fd)
        key = (st.st_dev, st.st_ino)
        obj = self.objects.get(key)
        if obj is None:
            obj = FileObject(self.pool, self, key, os.dup(fd), writable)
            self.objects[key] = obj
        else:
            obj.upgrade(fd, writable)
        return obj

    def before_read(self, fd: int) -> None:
        """read() goes to the host file: write the dirty cached pages back first, so it sees every store."""
        if self.objects:
            obj = self.lookup(fd)
            if obj is not None:
                obj.writeback()

    def after_write(self, fd: int, offset: int, data: bytes) -> None:
        """write() changed the host file at offset: the cached pages follow."""
        if self.objects and data:
            obj = self.lookup(fd)
            if obj is not None:
                obj.write_through(offset, data)

    def sync(self, fd: int) -> None:
        """fsync/fdatasync: dirty pages to the host file."""
        if self.objects:
            obj = self.lookup(fd)
            if obj is not None:
                obj.writeback()

    def zero_range(self, fd: int, offset: int, length: int) -> None:
        """A hole punched or a range zeroed on the host file: write back first (done by the caller), then the
        cached pages follow."""
        if self.objects:
            obj = self.lookup(fd)
            if obj is not None:
                obj.zeroed(offset, length)

    def reread(self, fd: int) -> None:
        """The host file's contents moved: the cached pages are read again (after a writeback by the caller)."""
        if self.objects:
            obj = self.lookup(fd)
            if obj is not None:
                obj.reread()

    def truncate(self, fd: int, size: int) -> None:
        """ftruncate changed the size: write back what stays, zero what went."""
        if self.objects:
            obj = self.lookup(fd)
            if obj is not None:
                obj.writeback()
                obj.truncated(size)
