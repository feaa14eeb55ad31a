"""Tests for emu.elf: valid images, one test per malformation, fuzzing, and real binaries."""

from __future__ import annotations

import os
import shutil
import struct
import subprocess

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from emu.elf import (
    DEFAULT_PIE_BIAS,
    PF_R,
    PF_W,
    PF_X,
    PT_GNU_STACK,
    PT_INTERP,
    PT_LOAD,
    PT_NOTE,
    PT_PHDR,
    PT_TLS,
    ElfError,
    ElfImage,
    Segment,
    parse_elf,
    read_elf,
)

BASE = 0x08048000
EHDR = struct.Struct("<16sHHIIIIIHHHHHH")
PHDR = struct.Struct("<IIIIIIII")
CODE = bytes([0xB8, 0x01, 0x00, 0x00, 0x00, 0x31, 0xDB, 0xCD, 0x80])   # mov eax,1; xor ebx,ebx; int 0x80


def phdr(p_type=PT_LOAD, offset=0, vaddr=BASE, filesz=0x1000, memsz=None, flags=PF_R | PF_X, align=0x1000):
    """One Elf32_Phdr as a tuple in file order (p_paddr mirrors p_vaddr)."""
    return (p_type, offset, vaddr, vaddr, filesz, filesz if memsz is None else memsz, flags, align)


def build_elf(phdrs=None, *, entry=None, etype=2, machine=3, ei_class=1, ei_data=1, ei_version=1,
              version=1, phoff=52, phentsize=32, phnum=None, size=None, extra=b"") -> bytes:
    """Assemble an ELF32 header, the program headers at phoff, code right after, padded to size bytes."""
    if phdrs is None:
        phdrs = [phdr()]
    table = b"".join(PHDR.pack(*p) for p in phdrs)
    code_off = phoff + len(table)
    if entry is None:
        entry = BASE + code_off
    ident = b"\x7fELF" + bytes([ei_class, ei_data, ei_version]) + bytes(9)
    hdr = EHDR.pack(ident, etype, machine, version, entry, phoff, 0, 0, 52, phentsize,
                    len(phdrs) if phnum is None else phnum, 40, 0, 0)
    body = bytearray(hdr)
    body += bytes(max(0, phoff - len(body)))
    body[phoff:phoff + len(table)] = table
    body[code_off:code_off + len(CODE)] = CODE
    body += extra
    if size is None:
        size = 0x1000
    body += bytes(max(0, size - len(body)))
    return bytes(body)


def set_field(data: bytes, fmt: str, offset: int, value: int) -> bytes:
    """Return data with one little-endian field overwritten."""
    buf = bytearray(data)
    struct.pack_into(fmt, buf, offset, value)
    return bytes(buf)


def expect_error(data: bytes, *fragments: str, path: str = "/guest/prog") -> str:
    """Assert parse_elf fails and the one-line message names the path and every fragment."""
    with pytest.raises(ElfError) as info:
        parse_elf(data, path)
    msg = str(info.value)
    assert msg.startswith(path + ": "), msg
    assert "\n" not in msg
    for frag in fragments:
        assert frag in msg, (frag, msg)
    return msg


# ---------------------------------------------------------------- valid images


def test_minimal_valid_exec():
    data = build_elf()
    img = parse_elf(data, "prog")
    assert isinstance(img, ElfImage)
    assert img.path == "prog" and img.data == data
    assert img.etype == 2
    assert img.entry == BASE + 52 + 32
    assert (img.phoff, img.phentsize, img.phnum) == (52, 32, 1)
    assert img.phdr_vaddr == BASE + 52          # computed from the PT_LOAD that maps e_phoff
    assert img.segments == (Segment(BASE, 0x1000, 0x1000, 0, PF_R | PF_X, 0x1000),)
    assert img.stack_exec is False
    assert img.tls is None
    seg_bytes = img.segment_bytes(img.segments[0])
    assert len(seg_bytes) == 0x1000 and seg_bytes[84:84 + len(CODE)] == CODE


def test_valid_multi_segment_with_bss_tls_stack_and_phdr():
    phdrs = [
        phdr(PT_PHDR, 52, BASE + 52, 7 * 32, flags=PF_R, align=4),
        phdr(PT_LOAD, 0, BASE, 0x1000, flags=PF_R | PF_X),
        # Data shares the text's last page in the file and in memory, like real linkers emit.
        phdr(PT_LOAD, 0x1f00, BASE + 0x1f00, 0x100, 0x3000, flags=PF_R | PF_W),
        phdr(PT_TLS, 0x1f00, BASE + 0x1f00, 0x10, 0x40, flags=PF_R, align=4),
        phdr(PT_GNU_STACK, 0, 0, 0, 0, flags=PF_R | PF_W | PF_X, align=16),
        phdr(PT_NOTE, 0, 0, 0, 0, flags=PF_R, align=4),
        phdr(0x6ABCDEF0, 0xFFFFFFF0, 0xFFFFFFF0, 0xFFFF, 0, align=0),   # unknown type: ignored
    ]
    img = parse_elf(build_elf(phdrs, size=0x2000), "p")
    assert img.phdr_vaddr == BASE + 52
    assert [s.vaddr for s in img.segments] == [BASE, BASE + 0x1f00]
    assert img.segments[1].memsz == 0x3000 and img.segments[1].filesz == 0x100
    assert img.stack_exec is True
    assert img.tls == (BASE + 0x1f00, 0x10, 0x40, 4)
    assert img.segment_bytes(img.segments[1]) == bytes(0x100)


def test_pt_phdr_wins_over_computed_address():
    phdrs = [phdr(PT_PHDR, 52, 0x09000000, 64, flags=PF_R, align=4), phdr()]
    assert parse_elf(build_elf(phdrs), "p").phdr_vaddr == 0x09000000


def test_phdrs_not_mapped_gives_zero_like_linux():
    phdrs = [phdr(PT_LOAD, 0x1000, BASE + 0x1000, 0x1000)]
    img = parse_elf(build_elf(phdrs, entry=BASE + 0x1000, size=0x2000), "p")
    assert img.phdr_vaddr == 0


def test_static_pie_et_dyn():
    phdrs = [phdr(PT_LOAD, 0, 0, 0x1000)]
    img = parse_elf(build_elf(phdrs, etype=3, entry=0x54), "pie")
    assert img.etype == 3 and img.entry == 0x54 and img.phdr_vaddr == 0x34
    assert DEFAULT_PIE_BIAS % 0x1000 == 0 and DEFAULT_PIE_BIAS == 0x56555000


def test_small_align_allows_unaligned_offsets():
    phdrs = [phdr(PT_LOAD, 0, BASE, 0x100, align=4), phdr(PT_LOAD, 0x100, BASE + 0x1234, 0x100, align=4)]
    assert len(parse_elf(build_elf(phdrs), "p").segments) == 2


def test_segment_ending_exactly_at_task_size_is_ok():
    phdrs = [phdr(), phdr(PT_LOAD, 0, 0xBFFFF000, 0, 0x1000, flags=PF_R | PF_W)]
    assert parse_elf(build_elf(phdrs), "p").segments[1].vaddr == 0xBFFFF000


# ---------------------------------------------------------------- header malformations


def test_empty_and_short_files():
    expect_error(b"", "empty file")
    expect_error(b"\x7fEL", "truncated ELF header", "need 52")
    expect_error(build_elf()[:51], "truncated ELF header (51 bytes")


def test_bad_magic():
    expect_error(b"#!/bin/sh\necho hi\n" + bytes(64), "not an ELF file")
    expect_error(b"MZ", "not an ELF file")
    expect_error(b"\x7fELG" + build_elf()[4:], "not an ELF file")


def test_wrong_class():
    expect_error(build_elf(ei_class=2, machine=62), "not an i386 ELF", "EM_X86_64", "ELFCLASS64")
    expect_error(build_elf(ei_class=2), "not an i386 ELF", "machine EM_386", "class ELFCLASS64")
    expect_error(build_elf(ei_class=0), "ELFCLASSNONE")
    expect_error(build_elf(ei_class=9), "EI_CLASS 9")


def test_wrong_machine():
    expect_error(build_elf(machine=40), "not an i386 ELF", "machine EM_ARM", "class ELFCLASS32")
    expect_error(build_elf(machine=6), "not an i386 ELF", "e_machine 6")
    expect_error(build_elf(machine=62), "EM_X86_64")


def test_big_endian():
    data = bytearray(build_elf(ei_data=2))
    expect_error(bytes(data), "not an i386 ELF")               # machine reads as 0x0300 big-endian
    struct.pack_into(">H", data, 18, 3)
    expect_error(bytes(data), "not a little-endian ELF", "ELFDATA2MSB")
    expect_error(build_elf(ei_data=0), "not a little-endian ELF", "ELFDATANONE")


def test_bad_versions():
    expect_error(build_elf(ei_version=0), "EI_VERSION 0")
    expect_error(build_elf(version=2), "e_version 2")


@pytest.mark.parametrize("etype,name", [(0, "ET_NONE"), (1, "ET_REL"), (4, "ET_CORE"), (0xFE00, "65024")])
def test_bad_type(etype, name):
    expect_error(build_elf(etype=etype), "not an executable", name)


@pytest.mark.parametrize("etype", [2, 3])
def test_pt_interp_names_the_dynamic_loader(etype):
    interp = b"/lib/ld-linux.so.2\0"
    load = phdr(PT_LOAD, 0, 0, 0x1000) if etype == 3 else phdr()
    phdrs = [phdr(PT_INTERP, 0x800, BASE + 0x800, len(interp), flags=PF_R, align=1), load]
    data = bytearray(build_elf(phdrs, etype=etype, entry=0x80 if etype == 3 else BASE + 0x80))
    data[0x800:0x800 + len(interp)] = interp
    assert parse_elf(bytes(data), "prog").interp == "/lib/ld-linux.so.2"


def test_pt_interp_garbage_path_rejected_cleanly():
    phdrs = [phdr(PT_INTERP, 0xFFFFFF00, 0, 0x100000, flags=PF_R, align=1), phdr()]
    expect_error(build_elf(phdrs), "bad PT_INTERP", "invalid interpreter path")
    phdrs = [phdr(PT_INTERP, 0x800, 0, 4, flags=PF_R, align=1), phdr()]
    data = bytearray(build_elf(phdrs))
    data[0x800:0x804] = b"\xff\n\x01\x02"  # not NUL-terminated: ENOEXEC, as load_elf_binary's check
    msg = expect_error(bytes(data), "bad PT_INTERP")
    assert "\n" not in msg


def test_bad_phentsize():
    expect_error(build_elf(phentsize=56), "e_phentsize=56")
    expect_error(build_elf(phentsize=0), "e_phentsize=0")


def test_zero_phnum():
    expect_error(build_elf(phnum=0), "no program headers")


def test_too_many_phdrs():
    expect_error(build_elf(phnum=2049, size=0x20000), "too many program headers", "2049", "2048")


def test_max_phnum_accepted_when_table_fits():
    # 2048 entries (64 KiB) is Linux's limit and still fine; padding entries are PT_NULL.
    phdrs = [phdr()] + [(0,) * 8] * 2047
    img = parse_elf(build_elf(phdrs, entry=BASE + 0x40, size=0x11000), "p")
    assert img.phnum == 2048


def test_phdr_table_beyond_eof():
    data = build_elf(phoff=0xFF0)
    expect_error(data[:0x1000], "program header table", "beyond end of file")
    expect_error(set_field(build_elf(), "<I", 28, 0xFFFFFFF0), "program header table", "beyond end of file")
    expect_error(build_elf(phnum=3)[:0x60], "beyond end of file")


# ---------------------------------------------------------------- PT_LOAD malformations


def test_filesz_larger_than_memsz():
    expect_error(build_elf([phdr(filesz=0x1000, memsz=0x800)]), "p_filesz 0x1000 larger than p_memsz 0x800")


def test_file_range_beyond_eof():
    expect_error(build_elf([phdr(filesz=0x2000)]), "PT_LOAD #0", "extends beyond end of file")
    expect_error(build_elf([phdr(offset=0x1000, vaddr=BASE + 0x1000, filesz=1)], entry=BASE + 0x1000),
                 "beyond end of file")


def test_file_range_overflow():
    expect_error(build_elf([phdr(offset=0xFFFFF000, filesz=0x2000, memsz=0x2000)]), "overflows 32 bits")


def test_vaddr_overflow():
    phdrs = [phdr(), phdr(PT_LOAD, 0, 0xFFFFF000, 0, 0x2000)]
    expect_error(build_elf(phdrs), "PT_LOAD #1", "overflows 32 bits")


def test_above_task_size():
    phdrs = [phdr(), phdr(PT_LOAD, 0, 0xBFFFF000, 0, 0x1001)]
    expect_error(build_elf(phdrs), "above the user address space", "0xc0000000")
    phdrs = [phdr(), phdr(PT_LOAD, 0, 0xC0000000, 0, 0)]
    expect_error(build_elf(phdrs), "above the user address space")


def test_misaligned_segment():
    phdrs = [phdr(), phdr(PT_LOAD, 0x100, BASE + 0x2200, 0x10, flags=PF_R | PF_W)]
    expect_error(build_elf(phdrs), "PT_LOAD #1", "misaligned")


def test_below_mmap_min_addr():
    expect_error(build_elf([phdr(vaddr=0x1000)], entry=0x1054), "mmap_min_addr")


def test_overlapping_segments():
    phdrs = [phdr(), phdr(PT_LOAD, 0, BASE + 0xFFF, 0x10, flags=PF_R | PF_W, align=1)]
    expect_error(build_elf(phdrs), "PT_LOAD #0", "overlaps", "PT_LOAD #1")
    # Listed out of order, and a segment completely inside another.
    phdrs = [phdr(PT_LOAD, 0, BASE + 0x10000, 0, 0x100, flags=PF_R | PF_W),
             phdr(PT_LOAD, 0, BASE, 0x1000, 0x20000)]
    expect_error(build_elf(phdrs), "overlaps")


def test_adjacent_segments_do_not_overlap():
    phdrs = [phdr(), phdr(PT_LOAD, 0, BASE + 0x1000, 0x1000, flags=PF_R | PF_W)]
    assert len(parse_elf(build_elf(phdrs), "p").segments) == 2


def test_no_pt_load():
    phdrs = [phdr(PT_NOTE, 0, 0, 0, 0), phdr(PT_GNU_STACK, 0, 0, 0, 0)]
    expect_error(build_elf(phdrs), "no loadable segments")


def test_image_too_large():
    # ET_DYN starting at page 0 can reach a full 3 GiB only by ending exactly at TASK_SIZE: that is allowed.
    phdrs = [phdr(PT_LOAD, 0, 0, 0x1000, 0xC0000000)]
    assert parse_elf(build_elf(phdrs, etype=3, entry=0x54), "p").segments[0].memsz == 0xC0000000
    # Past 3 GiB is refused (by the TASK_SIZE check, which makes > 3 GiB impossible for i386).
    phdrs = [phdr(PT_LOAD, 0, 0, 0x1000, 0xC0001000)]
    expect_error(build_elf(phdrs, etype=3, entry=0x54), "above the user address space")


def test_entry_outside_segments():
    expect_error(build_elf(entry=BASE + 0x1000), "entry point 0x08049000 outside any loadable segment")
    expect_error(build_elf(entry=0), "entry point 0x00000000 outside any loadable segment")
    expect_error(build_elf(entry=0xFFFFFFFF), "outside any loadable segment")


def test_entry_in_bss_part_is_inside():
    phdrs = [phdr(filesz=0x1000, memsz=0x3000)]
    assert parse_elf(build_elf(phdrs, entry=BASE + 0x2FFF), "p").entry == BASE + 0x2FFF


def test_bad_pt_tls():
    phdrs = [phdr(), phdr(PT_TLS, 0, BASE, 0x20, 0x10, flags=PF_R, align=4)]
    expect_error(build_elf(phdrs), "bad PT_TLS")


def test_bad_pt_phdr():
    phdrs = [phdr(PT_PHDR, 52, 0xBFFFFFF0, 64, flags=PF_R, align=4), phdr()]
    expect_error(build_elf(phdrs), "PT_PHDR")


# ---------------------------------------------------------------- fuzzing


def _parse_only_elf_errors(data: bytes) -> None:
    try:
        img = parse_elf(data, "fuzz")
    except ElfError as e:
        assert str(e).startswith("fuzz: ") and "\n" not in str(e)
        return
    assert isinstance(img, ElfImage)
    assert img.segments and any(s.vaddr <= img.entry < s.vaddr + s.memsz for s in img.segments)
    for s in img.segments:
        assert s.filesz <= s.memsz and s.vaddr + s.memsz <= 0xC0000000
        assert len(img.segment_bytes(s)) == s.filesz


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=512))
def test_fuzz_arbitrary_bytes(data):
    _parse_only_elf_errors(data)
    _parse_only_elf_errors(b"\x7fELF" + data)
    _parse_only_elf_errors(b"\x7fELF\x01\x01\x01" + data)


# (struct format, offset) of every Elf32_Ehdr field parse_elf reads.
EHDR_FIELDS = [("<B", 4), ("<B", 5), ("<B", 6), ("<H", 16), ("<H", 18), ("<I", 20), ("<I", 24), ("<I", 28),
               ("<H", 42), ("<H", 44)]
PHDR_FIELD_OFFSETS = range(0, 32, 4)


def _valid_image() -> bytes:
    phdrs = [
        phdr(PT_PHDR, 52, BASE + 52, 5 * 32, flags=PF_R, align=4),
        phdr(PT_LOAD, 0, BASE, 0x1000, flags=PF_R | PF_X),
        phdr(PT_LOAD, 0x1f00, BASE + 0x1f00, 0x100, 0x3000, flags=PF_R | PF_W),
        phdr(PT_TLS, 0x1f00, BASE + 0x1f00, 0x10, 0x40, flags=PF_R, align=4),
        phdr(PT_GNU_STACK, 0, 0, 0, 0, flags=PF_R | PF_W, align=16),
    ]
    return build_elf(phdrs, size=0x2000)


VALID = _valid_image()

interesting_u32 = st.one_of(
    st.integers(0, 0xFFFFFFFF),
    st.sampled_from([0, 1, 2, 3, 31, 32, 33, 52, 0xFFF, 0x1000, 0x1001, 0x7FFFFFFF, 0x80000000,
                     0xBFFFF000, 0xC0000000, 0xFFFFF000, 0xFFFFFFFF, BASE, BASE + 0x1000]),
)


@settings(max_examples=500, deadline=None)
@given(st.lists(st.tuples(st.one_of(st.sampled_from(EHDR_FIELDS),
                                    st.tuples(st.just("<I"), st.sampled_from(
                                        [52 + 32 * i + o for i in range(5) for o in PHDR_FIELD_OFFSETS]))),
                          interesting_u32), min_size=1, max_size=6),
       st.integers(0, 0x2100))
def test_fuzz_field_mutations(mutations, truncate):
    buf = bytearray(VALID)
    for (fmt, off), value in mutations:
        value &= {"<B": 0xFF, "<H": 0xFFFF, "<I": 0xFFFFFFFF}[fmt]
        struct.pack_into(fmt, buf, off, value)
    _parse_only_elf_errors(bytes(buf))
    _parse_only_elf_errors(bytes(buf[:truncate]))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 52 + 5 * 32 - 1), st.integers(0, 255)), min_size=1, max_size=8))
def test_fuzz_byte_flips(flips):
    buf = bytearray(VALID)
    for off, value in flips:
        buf[off] = value
    _parse_only_elf_errors(bytes(buf))


def test_valid_fuzz_seed_parses():
    img = parse_elf(VALID, "p")
    assert len(img.segments) == 2 and img.tls is not None


# ---------------------------------------------------------------- files on disk


def test_read_elf_errors(tmp_path):
    missing = tmp_path / "nope"
    with pytest.raises(ElfError, match=r"nope: No such file or directory$"):
        read_elf(str(missing))
    with pytest.raises(ElfError, match="Is a directory"):
        read_elf(str(tmp_path))
    empty = tmp_path / "empty"
    empty.write_bytes(b"")
    with pytest.raises(ElfError, match="empty file"):
        read_elf(str(empty))
    with pytest.raises(ElfError, match="Not a directory"):
        read_elf(str(empty / "x"))
    if os.path.exists("/dev/null"):
        with pytest.raises(ElfError, match="not a regular file"):
            read_elf("/dev/null")


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores file permissions")
def test_read_elf_permission_denied(tmp_path):
    f = tmp_path / "secret"
    f.write_bytes(build_elf())
    f.chmod(0)
    with pytest.raises(ElfError, match="Permission denied"):
        read_elf(str(f))


def test_read_elf_permission_denied_mocked(tmp_path, monkeypatch):
    import emu.elf as elf_module

    f = tmp_path / "secret"
    f.write_bytes(build_elf())

    def deny(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(elf_module, "open", deny, raising=False)
    with pytest.raises(ElfError, match=r"secret: Permission denied$"):
        read_elf(str(f))


def test_read_elf_ok(tmp_path):
    f = tmp_path / "prog"
    f.write_bytes(build_elf())
    img = read_elf(str(f))
    assert img.path == str(f) and img.entry == BASE + 84


def test_bin_ls_is_x86_64():
    if not os.path.exists("/bin/ls"):
        pytest.skip("/bin/ls does not exist on this machine")
    with pytest.raises(ElfError) as info:
        read_elf("/bin/ls")
    msg = str(info.value)
    if "EM_X86_64" not in msg:
        pytest.skip(f"/bin/ls is not an x86-64 binary here: {msg}")
    assert msg == "/bin/ls: not an i386 ELF (machine EM_X86_64, class ELFCLASS64)"


def _gcc_static(tmp_path, *flags: str):
    gcc = shutil.which("gcc")
    if gcc is None:
        pytest.skip("gcc not installed")
    src = tmp_path / "hello.c"
    src.write_text('#include <unistd.h>\nint main(void) { write(1, "hi\\n", 3); return 0; }\n')
    out = tmp_path / "hello"
    proc = subprocess.run([gcc, "-m32", *flags, "-O1", "-o", str(out), str(src)],
                          check=False, capture_output=True, text=True, timeout=120)
    if proc.returncode != 0:
        pytest.skip(f"gcc -m32 {' '.join(flags)} failed (no 32-bit libc?): {proc.stderr.strip()[:200]}")
    return read_elf(str(out))


def _check_real(img: ElfImage):
    assert img.phentsize == 32 and img.phnum >= 2
    assert any(s.flags & PF_X for s in img.segments)
    text = [s for s in img.segments if s.vaddr <= img.entry < s.vaddr + s.memsz]
    assert len(text) == 1 and text[0].flags & PF_X
    for s in img.segments:
        assert s.filesz <= s.memsz and (s.vaddr - s.offset) % 0x1000 == 0
        assert len(img.segment_bytes(s)) == s.filesz
    assert img.tls is not None                       # static glibc always has a PT_TLS
    assert img.stack_exec is False
    first = img.segments[0]
    assert img.phdr_vaddr == first.vaddr + img.phoff - first.offset


def test_real_gcc_static_binary(tmp_path):
    img = _gcc_static(tmp_path, "-static")
    assert img.etype == 2
    assert 0x08048000 <= img.segments[0].vaddr and img.entry > 0x08048000
    _check_real(img)


def test_real_gcc_static_pie_binary(tmp_path):
    img = _gcc_static(tmp_path, "-static-pie")
    assert img.etype == 3
    assert img.segments[0].vaddr == 0
    _check_real(img)
