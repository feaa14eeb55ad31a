"""The i386 syscall layer: one module per area holding its `sys_*` entry points, and the table built from them.

A `sys_*` function decodes its arguments, copies to and from user memory and calls the mechanism, which lives in
the kernel_model module of its subsystem (fork.py, mm.py, exit.py, signal.py, files.py, ...). `table.py` holds
the registry, the signatures and `build_table`; importing this package registers every area.
"""

from . import (  # noqa: F401  (each import registers that area's handlers)
    clock, event, fd, identity, ipc, limits, memory, namei, notify, open, poll, process, read_write, sched, signals,
    socket, stat, thread, xattr,
)
from .table import HANDLERS, SIGNATURES, Syscall, build_table, sys_ni_syscall

SYSCALL_TABLE: dict[int, Syscall] = build_table()


def implemented_markdown() -> str:
    """The README's list of implemented syscalls, one line per area module, made from the table."""
    by_area: dict[str, list[str]] = {}
    for sc in SYSCALL_TABLE.values():
        if sc.sig is not None:
            by_area.setdefault(sc.fn.__module__.rsplit(".", 1)[1], []).append(sc.name)
    lines = [f"{sum(map(len, by_area.values()))} of the {len(SYSCALL_TABLE) - 1} i386 syscalls are implemented "
             "(every other number returns -ENOSYS and is reported once):", ""]
    for area in sorted(by_area):
        names = ", ".join(f"`{n}`" for n in sorted(by_area[area]))
        lines.append(f"- `syscalls/{area}.py`: {names}")
    return "\n".join(lines) + "\n"

__all__ = ["HANDLERS", "SIGNATURES", "SYSCALL_TABLE", "Syscall", "implemented_markdown", "sys_ni_syscall"]
