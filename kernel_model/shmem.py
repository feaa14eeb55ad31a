"""Shared anonymous memory and SysV shm segments as memory objects (mm/shmem.c).

MAP_SHARED|MAP_ANONYMOUS creates one object per mapping, which fork hands to the child, so a page first touched
by either process after the fork is the same page for both; a SysV segment is one too, kept by its id.
"""

from __future__ import annotations

from .filemap import MemObject
from .mm import PAGE_SHIFT, PAGE_SIZE, FramePool


class ShmemObject(MemObject):
    """Shared anonymous memory or a SysV shm segment: size bytes, zero-filled on first touch (shmem_fault)."""

    kind = "shmem"

    def __init__(self, pool: FramePool, size: int) -> None:
        super().__init__(pool)
        self.size = size

    def npages(self) -> int:
        return (self.size + PAGE_SIZE - 1) >> PAGE_SHIFT

    on_unused = None  # a SysV segment's callback for when only the segment holds it (its last detach)

    def put(self) -> None:
        super().put()
        if self.users == 1 and self.on_unused is not None:
            self.on_unused()
