"""Parse and validate static i386 ELF executables (pure Python, no Unicorn).

The checks mirror Linux fs/binfmt_elf.c (load_elf_binary, load_elf_phdrs,
elf_check_arch) for an i386 task whose user address space is
0x00000000-0xBFFFFFFF.  Every header field is validated before it is used,
and every failure is an ElfError whose text is a one-line, user-facing reason
that names the file.
"""

from __future__ import annotations

import itertools
import os
import stat
import struct
from dataclasses import dataclass

PAGE_SIZE = 0x1000
TASK_SIZE = 0xC0000000            # user address space is [0, TASK_SIZE)
MMAP_MIN_ADDR = 0x10000           # Linux's default vm.mmap_min_addr; ET_EXEC may not map below it
MAX_PHDR_TABLE = 65536            # load_elf_phdrs: the program header table must fit in 64 KiB
MAX_IMAGE_SIZE = 3 << 30          # 3 GiB: no i386 image can be bigger than the address space
MAX_INTERP_PATH = 4096            # PATH_MAX, as in load_elf_binary's PT_INTERP check
DEFAULT_PIE_BIAS = 0x56555000     # where Linux i386 puts ET_DYN executables; loaders add it for ET_DYN

ELF_MAGIC = b"\x7fELF"
EHDR_SIZE = 52                    # sizeof(Elf32_Ehdr)
PHDR_SIZE = 32                    # sizeof(Elf32_Phdr)
_EHDR = struct.Struct("<16sHHIIIIIHHHHHH")
_PHDR = struct.Struct("<IIIIIIII")

EI_CLASS, EI_DATA, EI_VERSION = 4, 5, 6
ELFCLASS32 = 1
ELFDATA2LSB, ELFDATA2MSB = 1, 2
EV_CURRENT = 1
ET_REL, ET_EXEC, ET_DYN, ET_CORE = 1, 2, 3, 4
EM_386 = 3

PT_NULL, PT_LOAD, PT_DYNAMIC, PT_INTERP, PT_NOTE, PT_SHLIB, PT_PHDR, PT_TLS = range(8)
PT_GNU_STACK = 0x6474E551
PF_X, PF_W, PF_R = 1, 2, 4

_CLASS_NAMES = {0: "ELFCLASSNONE", 1: "ELFCLASS32", 2: "ELFCLASS64"}
_DATA_NAMES = {0: "ELFDATANONE", 1: "ELFDATA2LSB", 2: "ELFDATA2MSB"}
_TYPE_NAMES = {0: "ET_NONE", 1: "ET_REL", 2: "ET_EXEC", 3: "ET_DYN", 4: "ET_CORE"}
_MACHINE_NAMES = {
    0: "EM_NONE", 2: "EM_SPARC", 3: "EM_386", 4: "EM_68K", 8: "EM_MIPS", 20: "EM_PPC", 21: "EM_PPC64",
    22: "EM_S390", 40: "EM_ARM", 42: "EM_SH", 43: "EM_SPARCV9", 50: "EM_IA_64", 62: "EM_X86_64",
    183: "EM_AARCH64", 243: "EM_RISCV", 258: "EM_LOONGARCH",
}


class ElfError(Exception):
    """One-line, user-facing reason, e.g. "/bin/ls: not an i386 ELF (machine EM_X86_64, class ELFCLASS64)"."""


@dataclass(frozen=True)
class Segment:
    """One PT_LOAD program header, validated; addresses are before the load bias."""

    vaddr: int
    memsz: int
    filesz: int
    offset: int
    flags: int       # PF_X=1, PF_W=2, PF_R=4
    align: int


@dataclass(frozen=True)
class ElfImage:
    """A validated static i386 executable; all addresses are before the load bias."""

    path: str
    data: bytes
    etype: int
    entry: int
    phoff: int
    phentsize: int
    phnum: int
    phdr_vaddr: int
    segments: tuple[Segment, ...]
    stack_exec: bool
    tls: tuple | None
    gnu_stack: bool = True  # a PT_GNU_STACK header is present (without one, i386 Linux sets READ_IMPLIES_EXEC)
    interp: str | None = None  # PT_INTERP: the dynamic loader the kernel maps with the program

    def segment_bytes(self, seg: Segment) -> bytes:
        """Return the seg.filesz file bytes of seg (what elf_map maps from the file)."""
        return self.data[seg.offset:seg.offset + seg.filesz]


def _name(table: dict[int, str], value: int, what: str) -> str:
    """Symbolic name for a header constant, or "<what> <number>" when unknown."""
    return table.get(value, f"{what} {value}")


def _check_ident(data: bytes, path: str) -> None:
    """Validate e_ident and the header size; mirrors the ELFMAG memcmp and elf_check_arch in load_elf_binary."""
    if data[:len(ELF_MAGIC)] != ELF_MAGIC[:len(data)] or not data:
        raise ElfError(f"{path}: not an ELF file (bad magic)" if data else f"{path}: empty file, not an ELF file")
    if len(data) < EHDR_SIZE:
        raise ElfError(f"{path}: truncated ELF header ({len(data)} bytes, need {EHDR_SIZE})")
    ei_class, ei_data = data[EI_CLASS], data[EI_DATA]
    # e_machine sits at offset 18 in both ELF32 and ELF64 headers, in the byte order EI_DATA declares.
    machine = struct.unpack_from(">H" if ei_data == ELFDATA2MSB else "<H", data, 18)[0]
    if ei_class != ELFCLASS32 or machine != EM_386:
        raise ElfError(f"{path}: not an i386 ELF (machine {_name(_MACHINE_NAMES, machine, 'e_machine')}, "
                       f"class {_name(_CLASS_NAMES, ei_class, 'EI_CLASS')})")
    if ei_data != ELFDATA2LSB:
        raise ElfError(f"{path}: not a little-endian ELF "
                       f"(EI_DATA {_name(_DATA_NAMES, ei_data, 'value')}, i386 needs ELFDATA2LSB)")
    if data[EI_VERSION] != EV_CURRENT:
        raise ElfError(f"{path}: unsupported ELF version (EI_VERSION {data[EI_VERSION]}, expected 1)")


def _load_phdrs(data: bytes, path: str, phoff: int, phentsize: int, phnum: int) -> list[tuple[int, ...]]:
    """Validate and unpack the program header table; mirrors load_elf_phdrs."""
    if phentsize != PHDR_SIZE:
        raise ElfError(f"{path}: bad program header entry size e_phentsize={phentsize} (expected {PHDR_SIZE})")
    size = phnum * PHDR_SIZE
    if phnum == 0:
        raise ElfError(f"{path}: no program headers (e_phnum=0)")
    if size > MAX_PHDR_TABLE:
        raise ElfError(f"{path}: too many program headers (e_phnum={phnum}, "
                       f"limit {MAX_PHDR_TABLE // PHDR_SIZE})")
    if phoff + size > len(data):
        raise ElfError(f"{path}: program header table (offset {phoff:#x}, {size} bytes) "
                       f"extends beyond end of file ({len(data)} bytes)")
    return [_PHDR.unpack_from(data, phoff + i * PHDR_SIZE) for i in range(phnum)]


def _interp_name(data: bytes, offset: int, filesz: int) -> str:
    """Printable PT_INTERP path, or a placeholder when the header is bogus; mirrors load_elf_binary's read."""
    if filesz < 2 or filesz > MAX_INTERP_PATH or offset + filesz > len(data):
        return "<invalid interpreter path>"
    raw = data[offset:offset + filesz].split(b"\0", 1)[0]
    text = raw.decode("ascii", errors="backslashreplace")
    return "".join(c if c.isprintable() else "?" for c in text)[:256] or "<empty interpreter path>"


def _check_load(path: str, idx: int, vaddr: int, offset: int, filesz: int, memsz: int, align: int,
                etype: int, size: int) -> None:
    """Validate one PT_LOAD; mirrors the BAD_ADDR/p_filesz/p_memsz/TASK_SIZE test and elf_map in load_elf_binary."""
    where = f"{path}: PT_LOAD #{idx} (vaddr {vaddr:#010x})"
    if filesz > memsz:
        raise ElfError(f"{where}: p_filesz {filesz:#x} larger than p_memsz {memsz:#x}")
    if offset + filesz > 0xFFFFFFFF:
        raise ElfError(f"{where}: file range p_offset {offset:#x} + p_filesz {filesz:#x} overflows 32 bits")
    if offset + filesz > size:
        raise ElfError(f"{where}: file range {offset:#x}-{offset + filesz:#x} "
                       f"extends beyond end of file ({size:#x} bytes)")
    end = vaddr + memsz
    if end > 0xFFFFFFFF:
        raise ElfError(f"{where}: p_vaddr + p_memsz {memsz:#x} overflows 32 bits")
    if vaddr >= TASK_SIZE or end > TASK_SIZE:
        raise ElfError(f"{where}: memory range {vaddr:#010x}-{end:#010x} "
                       f"extends above the user address space (TASK_SIZE {TASK_SIZE:#010x})")
    if filesz and align >= PAGE_SIZE and (vaddr - offset) % PAGE_SIZE:
        raise ElfError(f"{where}: misaligned segment, p_vaddr {vaddr:#x} and p_offset {offset:#x} "
                       f"differ modulo the page size {PAGE_SIZE:#x}")
    if etype == ET_EXEC and memsz and (vaddr & ~(PAGE_SIZE - 1)) < MMAP_MIN_ADDR:
        raise ElfError(f"{where}: maps below mmap_min_addr {MMAP_MIN_ADDR:#x}")


def _check_overlap(path: str, loads: list[tuple[int, Segment]]) -> None:
    """Reject PT_LOADs whose byte ranges overlap (sharing a page is fine), as elf_map's MAP_FIXED_NOREPLACE."""
    spans = sorted((s.vaddr, s.vaddr + s.memsz, i) for i, s in loads if s.memsz)
    for (a_start, a_end, a_idx), (b_start, b_end, b_idx) in itertools.pairwise(spans):
        if b_start < a_end:
            raise ElfError(f"{path}: PT_LOAD #{a_idx} ({a_start:#010x}-{a_end:#010x}) overlaps "
                           f"PT_LOAD #{b_idx} ({b_start:#010x}-{b_end:#010x})")
    # Sorted and pairwise disjoint means every span is disjoint from all later ones, not just the next.
    if spans:
        lo = spans[0][0] & ~(PAGE_SIZE - 1)
        hi = max(e for _, e, _ in spans)
        total = sum(e - s for s, e, _ in spans)
        if total > MAX_IMAGE_SIZE or hi - lo > MAX_IMAGE_SIZE:
            raise ElfError(f"{path}: loadable segments too large ({total:#x} bytes in a {hi - lo:#x}-byte span, "
                           f"limit {MAX_IMAGE_SIZE:#x})")


def parse_elf(data: bytes, path: str) -> ElfImage:
    """Validate a static i386 ELF executable image and describe it; mirrors load_elf_binary up to the mappings."""
    data = bytes(data)
    _check_ident(data, path)
    (_ident, etype, _machine, version, entry, phoff, _shoff, _flags, _ehsize, phentsize, phnum,
     _shentsize, _shnum, _shstrndx) = _EHDR.unpack_from(data, 0)
    if version != EV_CURRENT:
        raise ElfError(f"{path}: unsupported ELF version (e_version {version}, expected 1)")
    if etype not in (ET_EXEC, ET_DYN):
        raise ElfError(f"{path}: not an executable (e_type {_name(_TYPE_NAMES, etype, 'value')}; "
                       f"need ET_EXEC or ET_DYN)")
    phdrs = _load_phdrs(data, path, phoff, phentsize, phnum)

    # load_elf_binary looks for PT_INTERP before anything else: a dynamic executable names its ld.so, a
    # NUL-terminated path of at most PATH_MAX bytes (-ENOEXEC otherwise), which the kernel loads with it.
    interp = None
    for p_type, p_offset, _v, _p, p_filesz, _m, _f, _a in phdrs:
        if p_type == PT_INTERP:
            raw = data[p_offset:p_offset + p_filesz] if p_offset + p_filesz <= len(data) else b""
            if p_filesz < 2 or p_filesz > MAX_INTERP_PATH or len(raw) != p_filesz or raw[-1:] != b"\0":
                raise ElfError(f"{path}: bad PT_INTERP ({_interp_name(data, p_offset, p_filesz)})")
            interp = raw.split(b"\0", 1)[0].decode("utf-8", "surrogateescape")
            break

    loads: list[tuple[int, Segment]] = []
    stack_exec = False
    gnu_stack = False
    tls = None
    pt_phdr = None
    phdr_from_load = 0            # Linux leaves phdr_addr 0 when no PT_LOAD maps e_phoff
    for idx, (p_type, p_offset, p_vaddr, _paddr, p_filesz, p_memsz, p_flags, p_align) in enumerate(phdrs):
        if p_type == PT_LOAD:
            _check_load(path, idx, p_vaddr, p_offset, p_filesz, p_memsz, p_align, etype, len(data))
            loads.append((idx, Segment(p_vaddr, p_memsz, p_filesz, p_offset, p_flags, p_align)))
            if p_offset <= phoff < p_offset + p_filesz:
                phdr_from_load = phoff - p_offset + p_vaddr
        elif p_type == PT_GNU_STACK:
            stack_exec = bool(p_flags & PF_X)
            gnu_stack = True
        elif p_type == PT_TLS and tls is None:
            if p_filesz > p_memsz or p_vaddr + p_memsz > TASK_SIZE or p_offset + p_filesz > len(data):
                raise ElfError(f"{path}: bad PT_TLS (vaddr {p_vaddr:#x}, offset {p_offset:#x}, "
                               f"filesz {p_filesz:#x}, memsz {p_memsz:#x})")
            tls = (p_vaddr, p_filesz, p_memsz, p_align)
        elif p_type == PT_PHDR and pt_phdr is None:
            if p_vaddr + phnum * PHDR_SIZE > TASK_SIZE:
                raise ElfError(f"{path}: PT_PHDR at {p_vaddr:#x} lies outside the user address space")
            pt_phdr = p_vaddr
        # Other types (PT_NOTE, PT_DYNAMIC, PT_GNU_RELRO, ...) are ignored, as Linux does.

    if not loads:
        raise ElfError(f"{path}: no loadable segments (no PT_LOAD program header)")
    _check_overlap(path, loads)
    segments = tuple(seg for _, seg in loads)
    if not any(s.vaddr <= entry < s.vaddr + s.memsz for s in segments):
        raise ElfError(f"{path}: entry point {entry:#010x} outside any loadable segment")

    return ElfImage(
        path=path, data=data, etype=etype, entry=entry, phoff=phoff, phentsize=phentsize, phnum=phnum,
        phdr_vaddr=pt_phdr if pt_phdr is not None else phdr_from_load,
        segments=segments, stack_exec=stack_exec, tls=tls, gnu_stack=gnu_stack, interp=interp,
    )


def read_elf(path: str) -> ElfImage:
    """Read and validate the executable at path; mirrors do_open_execat's checks followed by load_elf_binary."""
    try:
        st = os.stat(path)
        if stat.S_ISDIR(st.st_mode):
            raise ElfError(f"{path}: Is a directory")
        if not stat.S_ISREG(st.st_mode):
            raise ElfError(f"{path}: not a regular file")
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        reason = os.strerror(e.errno) if e.errno else str(e)
        raise ElfError(f"{path}: {reason}") from None
    if not data:
        raise ElfError(f"{path}: empty file, not an ELF file")
    return parse_elf(data, path)
