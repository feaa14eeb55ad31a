"""A Machine: the kernel model plus the Unicorn CPU, ready to run one program."""

from __future__ import annotations

import os

from kernel_model.abi import E
from kernel_model.files import KernelError
from kernel_model.kernel import DEFAULT_MAX_TASKS, DEFAULT_MEM, Kernel
from kernel_model.sched import DEFAULT_QUANTUM

from .costmodel import CostModel
from .cpu import Cpu
from .elf import ElfError, ElfImage, read_elf


def exec_loader(path: str) -> ElfImage:
    """The kernel's binfmt hook: parse a file, mapping its problems to the errno execve returns."""
    try:
        return read_elf(path)
    except ElfError as e:
        if not os.path.lexists(path):
            raise KernelError(E.ENOENT, str(e)) from None
        if os.path.isdir(path):
            raise KernelError(E.EACCES, str(e)) from None
        if not os.access(path, os.R_OK):
            raise KernelError(E.EACCES, str(e)) from None
        raise KernelError(E.ENOEXEC, str(e)) from None


class Machine:
    """Build with options, then run(argv, env) once."""

    def __init__(self, mem: int = DEFAULT_MEM, quantum: int = DEFAULT_QUANTUM, max_tasks: int = DEFAULT_MAX_TASKS,
                 stdio: tuple[int, int, int] = (0, 1, 2), cost: CostModel | None = None,
                 virtual_time: bool = False, root: str = "/", max_insns: int | None = None) -> None:
        self.kernel = Kernel(mem_bytes=mem, quantum=quantum, loader=exec_loader, max_tasks=max_tasks,
                             stdio=stdio, root=root)
        self.cpu = Cpu(self.kernel, cost)
        self.cpu.max_insns = max_insns
        self.kernel.virtual_time = virtual_time
        self.kernel.slice_ns = self.cpu.slice_ns

    def on(self, event: str, callback) -> None:
        """Call callback on a kernel event: syscall_enter(task, nr, name), fault(task, record), exec(task, path)."""
        self.kernel.hooks.setdefault(event, []).append(callback)

    def run(self, argv: list[str], env: list[str]) -> int:
        """Run argv[0] (a path) with the environment; return its shell-style exit status.

        Raises ElfError for a program that cannot be loaded.
        """
        k = self.kernel
        if k.vfs.root == "/":
            path = argv[0]
        else:  # PROG names a file inside the guest root
            try:
                cwd = k.vfs.guest_path(os.getcwd())
            except ValueError:
                cwd = "/"
            try:
                path = k.vfs.resolve(cwd, argv[0])
            except KernelError as e:
                raise ElfError(f"{argv[0]}: {os.strerror(e.errno)} (inside --root {k.vfs.root})") from None
        image = read_elf(path)  # ElfError with a one-line reason
        self.kernel.spawn(image, argv, env)
        return self.cpu.run()
