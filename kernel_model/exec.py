"""execve: a fresh address space from a static i386 ELF image, and the initial stack (fs/exec.c, binfmt_elf.c)."""

from __future__ import annotations

import hashlib
import os
import struct
from typing import TYPE_CHECKING, Protocol

from .abi import E
from .files import KernelError
from .mm import MM, PAGE_SIZE, PROT_EXEC, PROT_READ, PROT_WRITE, STACK_TOP, page_down, page_up
from .ptregs import PtRegs

if TYPE_CHECKING:
    from .kernel import Kernel
    from .task import Task

ET_DYN = 3
PF_X, PF_W, PF_R = 1, 2, 4
ELF_ET_DYN_BASE = 0x56555000  # where Linux i386 places a static-pie (ET_DYN without interpreter)
STACK_INITIAL = 128 * 1024  # stack VMA size at exec (setup_arg_pages' stack_expand)
MAX_ARG_STRLEN = 32 * PAGE_SIZE
MAX_ARG_TOTAL = 32 * MAX_ARG_STRLEN // 4  # bprm limit: a quarter of an 8 MiB stack
PLATFORM = b"i686"

# auxv tags (include/uapi/linux/auxvec.h)
AT_NULL, AT_PHDR, AT_PHENT, AT_PHNUM, AT_PAGESZ, AT_BASE, AT_FLAGS, AT_ENTRY = 0, 3, 4, 5, 6, 7, 8, 9
AT_UID, AT_EUID, AT_GID, AT_EGID, AT_PLATFORM, AT_HWCAP, AT_CLKTCK = 11, 12, 13, 14, 15, 16, 17
AT_SECURE, AT_RANDOM, AT_HWCAP2, AT_EXECFN, AT_MINSIGSTKSZ = 23, 25, 26, 31, 51
AT_SYSINFO, AT_SYSINFO_EHDR = 32, 33


class ElfImageLike(Protocol):
    """What the loader needs from a parsed ELF file (emu.elf.ElfImage provides it)."""

    path: str
    etype: int
    entry: int
    phentsize: int
    phnum: int
    phdr_vaddr: int
    segments: tuple
    data: bytes
    stack_exec: bool
    gnu_stack: bool


def elf_prot(flags: int) -> int:
    """PF_* to PROT_* (make_prot)."""
    return ((PROT_READ if flags & PF_R else 0) | (PROT_WRITE if flags & PF_W else 0)
            | (PROT_EXEC if flags & PF_X else 0))


def load_elf_binary(k: Kernel, image: ElfImageLike, argv: list[bytes], envp: list[bytes],
                    execfn: bytes) -> tuple[MM, PtRegs]:
    """Build a new mm with the image's segments, brk and the initial stack; return it and the start registers."""
    mm = MM(k.pool)
    # An i386 program without PT_GNU_STACK runs with READ_IMPLIES_EXEC: every readable mapping, its segments
    # and stack included, may execute (x86's elf_read_implies_exec for ia32: executable_stack == EXSTACK_DEFAULT).
    mm.read_implies_exec = not getattr(image, "gnu_stack", True)
    try:
        bias = ELF_ET_DYN_BASE if image.etype == ET_DYN else 0
        end_bss = _map_segments(mm, image, bias, k)
        mm.start_brk = mm.brk = page_up(end_bss)
        mm.exe_path = os.path.abspath(image.path)  # callers pass paths already resolved against the cwd
        entry, interp_base = image.entry + bias, 0
        interp_path = getattr(image, "interp", None)
        if interp_path:
            interp = load_interpreter(k, interp_path)
            span_lo = min(page_down(s.vaddr) for s in interp.segments)
            span_hi = max(page_up(s.vaddr + s.memsz) for s in interp.segments)
            # an ET_DYN ld.so goes where mmap would put it (top-down below the stack, as load_elf_interp's
            # elf_map of the first segment without MAP_FIXED does); an ET_EXEC one at its own addresses
            interp_base = (mm.get_unmapped_area(span_hi - span_lo) - span_lo) if interp.etype == ET_DYN else 0
            _map_segments(mm, interp, interp_base, k)
            entry = interp.entry + interp_base
        sp = create_elf_tables(k, mm, image, bias, argv, envp, execfn, interp_base)
        mm.kernel_faults.clear()  # the stack's pages are counted in k.kernel_acct, as no task's faults
    except Exception:
        mm.release()
        raise
    return mm, PtRegs.for_new_program(entry, sp)


def _map_segments(mm: MM, image: ElfImageLike, bias: int, k: Kernel | None = None) -> int:
    """Map an image's PT_LOAD segments at bias (elf_map + set_brk's bss); return the end of the last one.

    With the kernel's page cache the file part of each segment is a private file mapping (what elf_map's
    vm_mmap does), so every process running the program, or the loader, shares its frames until one writes; the
    tail of the last file page past p_filesz is cleared (padzero) and the rest of the bss is anonymous. Without
    one (an image that is not a host file) the segment's bytes are copied into the mapping."""
    end_bss = 0
    obj = _image_object(k, image) if k is not None else None
    for seg in image.segments:
        if seg.memsz == 0:
            continue
        vaddr = seg.vaddr + bias
        start, end = page_down(vaddr), page_up(vaddr + seg.memsz)
        prot = mm.effective_prot(elf_prot(seg.flags))
        name = os.path.basename(image.path)
        # The file page holding the segment's first byte maps at `start`; bytes past p_filesz read as zero.
        file_lo = seg.offset - (vaddr - start)
        if obj is not None and seg.filesz and file_lo % PAGE_SIZE == 0:
            file_end = page_up(vaddr + seg.filesz)
            vma = mm.map_region(start, file_end, prot, name=name, obj=obj, pgoff=file_lo // PAGE_SIZE)
            vma.path = image.path
            tail = file_end - (vaddr + seg.filesz)
            if tail and seg.memsz > seg.filesz and seg.flags & PF_W:
                # elf_load's padzero: the bss starts mid-page, so that page becomes a private zero-tailed copy
                mm.write(vaddr + seg.filesz, bytes(tail), k.kernel_acct)
            if end > file_end:
                mm.map_region(file_end, end, prot, name=name)  # the rest of the bss, anonymous
        else:
            data = image.data[file_lo:seg.offset + seg.filesz] if seg.filesz else None
            # When two segments share a page, the later one maps over it, as elf_map's MAP_FIXED does.
            mm.map_region(start, end, prot, name=name, data=data, data_start=start)
        end_bss = max(end_bss, vaddr + seg.memsz)
    if obj is not None:
        obj.put()  # the VMAs hold it now
    return end_bss


def _image_object(k: Kernel, image: ElfImageLike):
    """The page-cache object of the image's host file, or None when it is not one (a test's fake image)."""
    cache = getattr(k, "page_cache", None)
    if cache is None or not os.path.isfile(image.path):
        return None
    try:
        fd = os.open(image.path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        obj = cache.get_object(fd, False)
        obj.get()
        return obj
    finally:
        os.close(fd)


def load_interpreter(k: Kernel, path: str) -> ElfImageLike:
    """The PT_INTERP program (ld-linux.so.2) from the guest's root: ENOENT when it is missing, ELIBBAD when it is
    not a usable interpreter itself (it may not name one of its own)."""
    host = k.vfs.resolve("/", path)
    interp = k.load_image(host)
    if getattr(interp, "interp", None):
        raise KernelError(E.ELIBBAD, f"{path}: an interpreter with an interpreter")
    return interp


def create_elf_tables(k: Kernel, mm: MM, image: ElfImageLike, bias: int, argv: list[bytes], envp: list[bytes],
                      execfn: bytes, interp_base: int = 0) -> int:
    """Lay out strings, AT_RANDOM bytes, auxv, envp, argv and argc as Linux does; return the new esp."""
    total = sum(len(s) + 1 for s in argv + envp) + len(execfn) + 1
    if total > MAX_ARG_TOTAL:
        raise KernelError(E.E2BIG)
    stack_prot = PROT_READ | PROT_WRITE | (PROT_EXEC if getattr(image, "stack_exec", False) else 0)
    mm.map_region(STACK_TOP - STACK_INITIAL, STACK_TOP, mm.effective_prot(stack_prot), name="[stack]",
                  growsdown=True)
    acct = k.kernel_acct
    p = STACK_TOP - 4  # bprm->p starts one pointer below the top

    def push_bytes(data: bytes) -> int:
        nonlocal p
        p -= len(data)
        mm.write(p, data, acct)
        return p

    execfn_addr = push_bytes(execfn + b"\0")
    env_addrs = [push_bytes(s + b"\0") for s in reversed(envp)][::-1]
    mm.env_start, mm.env_end = (env_addrs[0] if envp else p), execfn_addr
    arg_addrs = [push_bytes(s + b"\0") for s in reversed(argv)][::-1]
    mm.arg_start, mm.arg_end = (arg_addrs[0] if argv else p), mm.env_start
    p &= ~0xF  # arch_align_stack without randomisation
    platform_addr = push_bytes(PLATFORM + b"\0")
    # AT_RANDOM: 16 bytes; derived from the program and its arguments so every run is the same.
    seed = hashlib.sha256(b"\0".join([image.path.encode()] + argv)).digest()[:16]
    random_addr = push_bytes(seed)
    cred = k.cred(k.sched.current)  # the exec'ing task's (the first process's when there is none yet)
    auxv = [
        # ARCH_DLINFO comes first: AT_SYSINFO, the vDSO's __kernel_vsyscall, and AT_SYSINFO_EHDR, its ELF image
        *(((AT_SYSINFO, k.vsyscall), (AT_SYSINFO_EHDR, k.vdso_base)) if k.vsyscall else ()),
        (AT_HWCAP, k.hwcap), (AT_PAGESZ, PAGE_SIZE), (AT_CLKTCK, 100),
        (AT_PHDR, image.phdr_vaddr + bias if image.phdr_vaddr else 0), (AT_PHENT, image.phentsize),
        (AT_PHNUM, image.phnum), (AT_BASE, interp_base), (AT_FLAGS, 0), (AT_ENTRY, image.entry + bias),
        (AT_UID, cred.uid), (AT_EUID, cred.euid), (AT_GID, cred.gid), (AT_EGID, cred.egid), (AT_SECURE, 0),
        (AT_RANDOM, random_addr), (AT_HWCAP2, 0), (AT_EXECFN, execfn_addr), (AT_PLATFORM, platform_addr),
        (AT_NULL, 0),
    ]
    mm.saved_auxv = struct.pack(f"<{2 * len(auxv)}I", *(x & 0xFFFFFFFF for pair in auxv for x in pair))
    words = [len(argv)] + arg_addrs + [0] + env_addrs + [0] + [x for pair in auxv for x in pair]
    sp = (p - 4 * len(words)) & ~0xF  # STACK_ROUND
    mm.write(sp, struct.pack(f"<{len(words)}I", *words), acct)
    mm.start_stack = sp
    return sp


def read_string_array(k: Kernel, task: Task, addr: int) -> list[bytes]:
    """argv or envp from user memory: pointers up to NULL, each a C string (copy_strings)."""
    out: list[bytes] = []
    if addr == 0:
        return out
    total = 0
    while True:
        ptr = k.get_u32(task, addr + 4 * len(out))
        if ptr == 0:
            return out
        try:
            s = k.get_cstring(task, ptr, MAX_ARG_STRLEN)
        except KernelError as e:
            raise KernelError(E.E2BIG if e.errno == E.ENAMETOOLONG else e.errno) from None
        total += len(s) + 1
        if total > MAX_ARG_TOTAL:
            raise KernelError(E.E2BIG)
        out.append(s)
