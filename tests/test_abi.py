"""Tests for kernel_model.abi (i386 Linux ABI tables)."""

import errno
import os
import platform
import signal

import pytest

from kernel_model import abi
from kernel_model.abi import NR, SIG, E


@pytest.mark.parametrize(
    ("name", "nr"),
    [
        ("restart_syscall", 0),
        ("exit", 1),
        ("fork", 2),
        ("read", 3),
        ("write", 4),
        ("open", 5),
        ("waitpid", 7),
        ("execve", 11),
        ("getpid", 20),
        ("brk", 45),
        ("ioctl", 54),
        ("wait4", 114),
        ("clone", 120),
        ("_llseek", 140),
        ("_newselect", 142),
        ("vfork", 190),
        ("mmap2", 192),
        ("fstat64", 197),
        ("gettid", 224),
        ("futex", 240),
        ("set_thread_area", 243),
        ("exit_group", 252),
        ("set_tid_address", 258),
        ("tgkill", 270),
        ("clock_gettime64", 403),
        ("futex_time64", 422),
        ("clone3", 435),
        ("faccessat2", 439),
        ("futex_waitv", 449),
        ("set_mempolicy_home_node", 450),
        ("cachestat", 451),
        ("fchmodat2", 452),
        ("map_shadow_stack", 453),
        ("futex_wake", 454),
        ("listmount", 458),
        ("mseal", 462),
        ("removexattrat", 466),
        ("listns", 470),
    ],
)
def test_syscall_numbers(name, nr):
    assert abi.SYSCALL_NAMES[nr] == name
    assert abi.SYSCALL_NUMBERS[name] == nr
    assert abi.syscall_name(nr) == name


def test_nr_class_matches_table():
    attrs = {k: v for k, v in vars(NR).items() if not k.startswith("__")}
    expected = {("break_" if name == "break" else name): nr for name, nr in abi.SYSCALL_NUMBERS.items()}
    assert attrs == expected
    assert NR.fork == 2 and NR.vfork == 190 and NR.clone == 120 and NR.clone3 == 435
    assert NR.exit_group == 252 and NR.mmap2 == 192 and NR.break_ == 17


def test_syscall_table_shape():
    assert min(abi.SYSCALL_NAMES) == 0
    assert abi.MAX_SYSCALL_NR == max(abi.SYSCALL_NAMES) >= 462
    unused = set(range(abi.MAX_SYSCALL_NR + 1)) - set(abi.SYSCALL_NAMES)
    assert unused == {222, 223, 251, 285, 387, 388, 389, 390, 391, 392, 415}
    assert len(abi.SYSCALL_NUMBERS) == len(abi.SYSCALL_NAMES)  # names are unique


def test_syscall_name_unknown():
    assert abi.syscall_name(500) == "syscall_0x1f4"
    assert abi.syscall_name(222) == "syscall_0xde"


def test_errno_values_and_messages():
    assert E.ENOENT == abi.ERRNO["ENOENT"] == 2
    assert abi.ERRNO_MESSAGES[2] == "No such file or directory"
    assert E.ENOSYS == 38 and abi.ERRNO_MESSAGES[38] == "Function not implemented"
    assert E.EFAULT == 14 and abi.ERRNO_NAMES[14] == "EFAULT"
    assert E.EAGAIN == E.EWOULDBLOCK == 11 and abi.ERRNO_NAMES[11] == "EAGAIN"
    assert abi.ERRNO_NAMES[35] == "EDEADLK" and abi.ERRNO_NAMES[95] == "EOPNOTSUPP"
    assert E.EHWPOISON == 133 and abi.ERRNO_NAMES[133] == "EHWPOISON"
    assert set(abi.ERRNO_NAMES) == set(range(1, 134)) - {41, 58}
    assert set(abi.ERRNO_MESSAGES) == set(abi.ERRNO_NAMES)
    assert abi.errno_name(-2) == "ENOENT" and abi.errno_name(512) == "ERESTARTSYS"
    assert abi.strerror(-38) == "Function not implemented" and abi.strerror(41) == "Unknown error 41"


def test_e_class_matches_errno_dict():
    attrs = {k: v for k, v in vars(E).items() if not k.startswith("__")}
    assert attrs == {**abi.ERRNO, **abi.KERNEL_ERRNO}


@pytest.mark.skipif(platform.system() != "Linux", reason="host errno numbering is Linux's only on Linux")
def test_errno_agrees_with_host_python():
    for nr, name in errno.errorcode.items():
        if nr <= 133:
            assert abi.ERRNO[name] == nr, name
    for name, nr in abi.ERRNO.items():
        if hasattr(errno, name):
            assert getattr(errno, name) == nr, name


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="messages are glibc's")
def test_errno_messages_agree_with_host_glibc():
    for nr, msg in abi.ERRNO_MESSAGES.items():
        assert os.strerror(nr) == msg, nr


def test_signals():
    assert SIG.SIGCHLD == abi.SIGNAL_NUMBERS["SIGCHLD"] == 17
    assert abi.SIGNALS[17] == "SIGCHLD"
    assert sorted(abi.SIGNALS) == list(range(1, 32))
    assert abi.SIGNALS[31] == "SIGSYS" and SIG.SIGKILL == 9 and SIG.SIGSEGV == 11
    assert abi.SIGRTMIN == SIG.SIGRTMIN == 32 and abi.SIGRTMAX == SIG.SIGRTMAX == 64
    assert abi.signal_name(32) == "SIGRTMIN" and abi.signal_name(33) == "SIGRT_1"
    assert abi.signal_name(64) == "SIGRT_32" and abi.signal_name(128) == "128"


@pytest.mark.skipif(platform.machine() not in ("x86_64", "i386", "i686"), reason="x86 signal numbering")
def test_signals_agree_with_host():
    for nr, name in abi.SIGNALS.items():
        assert int(getattr(signal, name)) == nr


def test_clone_flag_constants():
    assert abi.CSIGNAL == 0xFF
    assert abi.CLONE_VM == 0x100 and abi.CLONE_VFORK == 0x4000 and abi.CLONE_THREAD == 0x10000
    assert abi.CLONE_SETTLS == 0x80000 and abi.CLONE_CHILD_SETTID == 0x01000000 and abi.CLONE_IO == 0x80000000
    bits = list(abi.CLONE_FLAGS)
    assert bits == sorted(bits) and len(bits) == 24
    assert all(b & (b - 1) == 0 and b & abi.CSIGNAL == 0 for b in bits)
    assert sum(bits) == 0xFFFFFF00
    for bit, name in abi.CLONE_FLAGS.items():
        assert getattr(abi, name) == bit


@pytest.mark.parametrize(
    ("flags", "text"),
    [
        # glibc pthread_create
        (
            0x3D0F00,
            (
                "CLONE_VM|CLONE_FS|CLONE_FILES|CLONE_SIGHAND|CLONE_THREAD|CLONE_SYSVSEM|CLONE_SETTLS"
                "|CLONE_PARENT_SETTID|CLONE_CHILD_CLEARTID"
            ),
        ),
        # glibc fork()
        (0x01200011, "CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID|SIGCHLD"),
        # glibc vfork()-style clone
        (0x4111, "CLONE_VM|CLONE_VFORK|SIGCHLD"),
        (0, "0"),
        (17, "SIGCHLD"),
        (0x800, "CLONE_SIGHAND"),
        # the following were checked against strace 6.1 on x86_64
        (0x800 | 0x400000 | 17, "CLONE_SIGHAND|0x400000|SIGCHLD"),
        (0x800 | 0x21, "CLONE_SIGHAND|SIGRT_1"),
        (0x800 | 0x20, "CLONE_SIGHAND|SIGRTMIN"),
        (0x800 | 0x40, "CLONE_SIGHAND|SIGRT_32"),
        (0x800 | 0x80, "CLONE_SIGHAND|128"),
        # only unknown bits: strace's printflags adds the default comment
        (0x400000 | 17, "0x400000 /* CLONE_??? */|SIGCHLD"),
    ],
)
def test_clone_flags_str(flags, text):
    assert abi.clone_flags_str(flags) == text
