"""Shared fixtures: build the guest programs (once per session) and check the toolchain."""

import importlib.util
import os
import shutil
import subprocess

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ASM_DIR = os.path.join(REPO, "guest_asm")
ASM_BUILD = os.path.join(ASM_DIR, "build")
CPROGS_DIR = os.path.join(REPO, "tests", "cprogs")
CPROGS_BUILD = os.path.join(CPROGS_DIR, "build")

_INSTALL_HINT = "install the Debian packages: apt-get install binutils gcc-multilib make"


def load_native():
    """The tests/cprogs/native.py helper module (run_native, prog_path, ...)."""
    spec = importlib.util.spec_from_file_location("cprogs_native", os.path.join(CPROGS_DIR, "native.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _fail_missing(what):
    pytest.fail(f"{what}; the end-to-end tests need an i386 toolchain: {_INSTALL_HINT}", pytrace=False)


@pytest.fixture(scope="session")
def toolchain(tmp_path_factory):
    """Check that make, as --32, ld -m elf_i386 and gcc -m32 -static work; fail (never skip) if not."""
    for tool, pkg in (("make", "make"), ("as", "binutils"), ("ld", "binutils"), ("gcc", "gcc-multilib")):
        if shutil.which(tool) is None:
            _fail_missing(f"`{tool}` not found on PATH (Debian package {pkg})")
    d = tmp_path_factory.mktemp("toolchain")
    src = d / "t.s"
    src.write_text(".globl _start\n_start:\n  movl $1, %eax\n  xorl %ebx, %ebx\n  int $0x80\n")
    for cmd, pkg in (
        (["as", "--32", "-o", str(d / "t.o"), str(src)], "binutils"),
        (["ld", "-m", "elf_i386", "-static", "-o", str(d / "t"), str(d / "t.o")], "binutils"),
    ):
        p = subprocess.run(cmd, capture_output=True, text=True)
        if p.returncode != 0:
            _fail_missing(f"`{' '.join(cmd)}` failed (Debian package {pkg}): {p.stderr.strip()}")
    csrc = d / "c.c"
    csrc.write_text("#include <stdio.h>\nint main(void) { puts(\"ok\"); return 0; }\n")
    cmd = ["gcc", "-m32", "-static", "-pthread", "-o", str(d / "c"), str(csrc)]
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        _fail_missing(f"`{' '.join(cmd)}` failed (Debian package gcc-multilib): {p.stderr.strip()}")
    return True


def _make(directory):
    p = subprocess.run(["make", "-C", directory], capture_output=True, text=True)
    if p.returncode != 0:
        pytest.fail(f"make -C {directory} failed ({_INSTALL_HINT} if tools are missing):\n"
                    f"{p.stdout}\n{p.stderr}", pytrace=False)


@pytest.fixture(scope="session")
def asm_build(toolchain):
    """guest_asm/build, freshly made."""
    _make(ASM_DIR)
    return ASM_BUILD


@pytest.fixture(scope="session")
def cprogs_build(toolchain):
    """tests/cprogs/build, freshly made."""
    _make(CPROGS_DIR)
    return CPROGS_BUILD


@pytest.fixture(scope="session")
def busybox_env():
    """(busybox path, applet directory) of Debian's static i386 busybox (tests/busybox.py fetches it once); skip
    only when the Debian archive is unreachable."""
    spec = importlib.util.spec_from_file_location("busybox_fixture", os.path.join(REPO, "tests", "busybox.py"))
    bb = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bb)
    try:
        busybox = bb.get_busybox()
    except bb.BusyboxUnavailable as e:
        pytest.skip(str(e))
    except RuntimeError as e:
        pytest.fail(f"cannot obtain busybox-static:i386: {e}", pytrace=False)
    return busybox, bb.make_applet_dir(busybox)
