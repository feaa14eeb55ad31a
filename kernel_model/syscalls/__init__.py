"""The i386 syscall layer: one module per area holding its `sys_*` entry points, and the table built from them.

A `sys_*` function decodes its arguments, copies to and from user memory and calls the mechanism, which lives in
the kernel_model module of its subsystem (fork.py, mm.py, exit.py, signal.py, files.py, ...). `table.py` holds
the registry, the signatures and `build_table`; importing this package registers every area.
"""

from . import (  # noqa: F401  (each import registers that area's handlers)
    clock, fd, identity, limits, memory, namei, open, poll, process, read_write, signals, stat, thread,
)
from .table import HANDLERS, SIGNATURES, Syscall, build_table, sys_ni_syscall

SYSCALL_TABLE: dict[int, Syscall] = build_table()

__all__ = ["HANDLERS", "SIGNATURES", "SYSCALL_TABLE", "Syscall", "sys_ni_syscall"]
