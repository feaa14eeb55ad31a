"""Differential syscall fuzzing against native Linux, as gVisor fuzzes its sentry.

Random programs of syscalls from the implemented set, with arguments drawn from interesting values (0, -1, huge,
unaligned, unmapped, read-only and kernel-range pointers, the fuzz guest's own descriptors and strings, bad fds and
flags), run by tests/hostile/difffuzz.c natively (as root, chrooted into a throwaway root, in new pid, mount, UTS,
IPC and network namespaces; calls that would touch the host anyway are never drawn) and under the emulator with
the same input. Every result must agree: the same errno, or success on both sides with the same value (for calls
whose value is not a pid, an address or a time), or an ALLOWLIST entry with its reason. An emulator exception fails
the test. The whole child's fate (exit status or signal) must agree too.

CI runs a fixed seed and FUZZ_BATCHES (default 4) batches of 50 programs. The long run (20,000 programs):
    FUZZ_BATCHES=400 FUZZ_REPORT=/tmp/fuzz.json python -m pytest tests/test_difffuzz.py
writes per-syscall counts of agreements, allowlisted differences and failures to FUZZ_REPORT."""

import collections
import json
import os
import shutil
import struct
import subprocess
import sys

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from kernel_model.syscalls import SYSCALL_TABLE

HERE = os.path.join(os.path.dirname(__file__), "hostile")
BATCH = 50
BATCHES = int(os.environ.get("FUZZ_BATCHES", "4"))
NAMES = {sc.name: nr for nr, sc in SYSCALL_TABLE.items() if nr >= 0}

# Never drawn. Calls that reach the host even from a chroot in new namespaces (clock, modules, swap, devices,
# I/O ports, keyrings, other processes, mounts, priorities of every root process), calls that multiply or replace
# the fuzzing child, and calls that sleep (a batch would spend its time in the 3 s watchdog) or arm timers (whose
# signals arrive at host-time-dependent points).
HOST_HARM = """reboot settimeofday stime adjtimex clock_settime clock_settime64 clock_adjtime clock_adjtime64 swapon
swapoff init_module finit_module delete_module kexec_load acct quotactl quotactl_fd syslog iopl ioperm vm86 vm86old
vhangup mount umount umount2 pivot_root mknod mknodat ptrace perf_event_open bpf keyctl add_key request_key
fanotify_init fanotify_mark setpriority ioprio_set unshare setns kill tkill tgkill rt_sigqueueinfo rt_tgsigqueueinfo
pidfd_send_signal process_vm_writev process_vm_readv sched_setscheduler sched_setparam sched_setattr
open_by_handle_at move_mount fsopen fsmount fsconfig fspick open_tree mount_setattr sethostname setdomainname
migrate_pages""".split()
MULTIPLY = "fork vfork clone clone3 execve execveat".split()
SLEEPS = """pause sigsuspend rt_sigsuspend nanosleep clock_nanosleep clock_nanosleep_time64 select _newselect pselect6
pselect6_time64 poll ppoll ppoll_time64 epoll_wait epoll_pwait epoll_pwait2 futex futex_time64 futex_waitv msgrcv
msgsnd semop semtimedop semtimedop_time64 rt_sigtimedwait rt_sigtimedwait_time64 mq_timedreceive
mq_timedreceive_time64 mq_timedsend mq_timedsend_time64 accept accept4 recvfrom recvmsg recvmmsg recvmmsg_time64
connect io_getevents io_pgetevents alarm setitimer timer_create timer_settime timer_settime64 sigwaitinfo""".split()
EXCLUDED = {NAMES[n] for n in HOST_HARM + MULTIPLY + SLEEPS if n in NAMES}
CANDIDATES = sorted(nr for nr, sc in SYSCALL_TABLE.items() if nr >= 0 and sc.sig is not None and nr not in EXCLUDED)

# Success values that are pids, addresses, times, IPC ids (they follow every earlier creation, allowed differences
# included) or sizes of the host machine: only success is compared.
VALUES_VARY = {NAMES[n] for n in """getpid getppid gettid getpgrp getpgid getsid setsid set_tid_address brk mmap
mmap2 mremap shmat time times personality shmget semget msgget""".split() if n in NAMES}

# Differences known and explained: syscall name -> reason. A difference on any other call fails the test.
ALLOWLIST: dict[str, str] = {
    "rseq": "the model refuses restartable sequences with ENOSYS, as a kernel without CONFIG_RSEQ (glibc then "
            "does without); native Linux validates the arguments first (EINVAL)",
}
# The two address spaces differ where the oracle is not an i386 kernel: the model's user space ends at 3 GiB with
# the stack below it (growing down to 8 MiB under 0xC0000000), the native compat task's ends at 0xFFFFE000 with its
# stack and vDSO near the top. A differing call with an argument in either range is counted as "layout".
LAYOUT_RANGES = ((0xBF800000, 0xC0000000), (0xC0000000, 0x100000000))
# Natively the fuzzer's parent is pid 1 of its pid namespace; in the model pid 1 is init, which has no task.
PID_CALLS = {NAMES[n] for n in """getpgid getsid getpriority sched_getparam sched_getscheduler sched_getaffinity
sched_rr_get_interval sched_rr_get_interval_time64 prlimit64 pidfd_open capget sched_getattr
setpgid""".split() if n in NAMES}
PIDNS_REASON = ("natively the fuzzer's parent is pid 1 of a new pid namespace and its children 2, 3, ...; the "
                "model's pids start at 1000 and pid 1 is its init")
LAYOUT_REASON = ("an address mapped in one address space and not the other, or past the i386 access_ok limit "
                 "(i386 3G/1G split vs x86-64 compat)")
# A buffer that ends past 3 GiB fails the model's (i386) access_ok before anything happens; the compat task's
# access_ok allows any 32-bit range, so natively such a call can still succeed (a read at end of file gives 0).
ACCESS_OK_CALLS = {NAMES[n]: (1, 2) for n in "read write pread64 pwrite64 getdents getdents64".split() if n in NAMES}

MMAP_CALLS = {NAMES[n] for n in ("mmap", "mmap2")}
RANGE_CALLS = {NAMES[n] for n in """mincore mprotect munmap madvise mlock mlock2 munlock msync mremap
remap_file_pages""".split() if n in NAMES}

# Calls that store what legitimately differs between the two sides (random bytes, times, inode numbers, CPU masks,
# the host's identity) into memory the guest's later calls read as arguments: after one succeeds, a later
# difference in the same program is counted as "tainted", not as a failure.
NONDET_WRITERS = {NAMES[n] for n in """getrandom gettimeofday time clock_gettime clock_gettime64 clock_getres
clock_getres_time64 times sysinfo getrusage getitimer timer_gettime timer_gettime64 timerfd_gettime
timerfd_gettime64 getcpu sched_getaffinity uname olduname oldolduname statfs statfs64 fstatfs fstatfs64 stat
stat64 lstat lstat64 fstat fstat64 fstatat64 newfstatat statx getdents getdents64 readdir sched_rr_get_interval
sched_rr_get_interval_time64 waitid wait4 capget prlimit64 ugetrlimit getrlimit""".split() if n in NAMES}

# Other known differences, each a (predicate on the record, reason).
RULES = [
    (lambda r: r[0] in (NAMES["mmap2"], NAMES["mmap"]) and r[4] & 0x40000 and r[4] & 0x20,
     "MAP_HUGETLB: the model keeps no huge pages (ENOMEM); natively the answer depends on the host's hugetlbfs "
     "(reservations, MAP_NORESERVE, the size's alignment of the hint)"),
    (lambda r: r[0] in (NAMES["socket"], NAMES["socketpair"]) and r[1] not in (0, 1, 2, 10) and r[1] < 46,
     "a socket family the host has and the model does not (netlink, packet, ...: EAFNOSUPPORT in the model)"),
    (lambda r: r[0] == NAMES["shmget"] and r[2] > 0xFEFFFFFF,
     "SHMMAX is ULONG_MAX - 2^24: 0xfeffffff on an i386 kernel, far more on x86-64 (the oracle)"),
    (lambda r: r[0] == NAMES["modify_ldt"] and r[1] == 2,
     "read_default_ldt zeroes 5 descriptors (40 bytes) on an i386 kernel, 128 bytes on x86-64 (the oracle)"),
    (lambda r: r[0] == NAMES["sched_setaffinity"],
     "the model has one CPU (cpu0); a mask naming only the host's other CPUs is valid natively, EINVAL in the model"),
]

RW, RO, HOLE = 0x10000000, 0x10001000, 0x10002000
POINTERS = [RW, RW + 16, RW + 32, RW + 48, RW + 64, RW + 80, RW + 96, RW + 0x400, RW + 0x800, RW + 0xFF0, RW + 1,
            RO, RO + 16, RO + 0x400, HOLE, 0, 0xC0000000, 0xFFFFF000, 0xFFFFFFFF, 0x08048000]
# (no stack address: the model's stack ends at 0xC0000000 as on an i386 kernel, the native compat one near 4 GiB)
INTS = [0, 1, 2, 3, 4, 5, 6, 7, 8, 16, 64, 100, 255, 1024, 4096, 65536, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF,
        0xFFFFFF9C, 0x40, 0x241, 0x800, 0x80000, 0x100, 0x1000, 0xFFFF, 0x10000]
arg = st.one_of(st.sampled_from(POINTERS), st.sampled_from(INTS), st.integers(0, 0xFFFFFFFF))
record = st.tuples(st.sampled_from(CANDIDATES), arg, arg, arg, arg, arg, arg)
program = st.lists(record, min_size=1, max_size=6)
batch = st.lists(program, min_size=BATCH, max_size=BATCH)


def encode(progs) -> bytes:
    out = [struct.pack("<I", len(progs))]
    for recs in progs:
        out.append(struct.pack("<I", len(recs)))
        out.extend(struct.pack("<7I", *r) for r in recs)
    return b"".join(out)


def decode(raw: bytes, nprog: int):
    res, pos = [], 0
    for _ in range(nprog):
        if pos + 8 > len(raw):
            break
        status, done = struct.unpack_from("<II", raw, pos)
        pos += 8
        res.append((status, list(struct.unpack_from(f"<{done}I", raw, pos))))
        pos += 4 * done
    return res


@pytest.fixture(scope="module")
def fuzz_guest(tmp_path_factory, toolchain):
    if os.geteuid() != 0 or not shutil.which("unshare") or not shutil.which("chroot"):
        pytest.skip("the native side needs root, unshare and chroot")
    out = tmp_path_factory.mktemp("difffuzz") / "difffuzz"
    subprocess.run(["gcc", "-m32", "-static", "-O1", "-o", str(out), os.path.join(HERE, "difffuzz.c")], check=True)
    probe = subprocess.run(["unshare", "--pid", "--fork", "--mount", "--uts", "--ipc", "--net", "true"],
                           capture_output=True)
    if probe.returncode != 0:
        pytest.skip(f"cannot make namespaces here: {probe.stderr.decode().strip()}")
    return str(out)


def fresh_root(base, guest: str) -> str:
    if os.path.exists(base):
        shutil.rmtree(base)
    os.makedirs(base)
    shutil.copy(guest, os.path.join(base, "difffuzz"))
    return base


def run_both(guest: str, work: str, progs):
    data = encode(progs)
    nroot = fresh_root(os.path.join(work, "native"), guest)
    native = subprocess.run(["unshare", "--pid", "--fork", "--mount", "--uts", "--ipc", "--net", "--kill-child",
                             "chroot", nroot, "/difffuzz"], input=data, capture_output=True, timeout=600)
    eroot = fresh_root(os.path.join(work, "emu"), guest)
    emu = subprocess.run([sys.executable, "-m", "emu", "run", "--root", eroot, "--clear-env", "--mem", "64M",
                          "--max-insns", "200000000", "/difffuzz"], input=data, capture_output=True, timeout=600)
    return native, emu


def errno_of(v: int) -> int | None:
    return 0x100000000 - v if v >= 0xFFFFF001 else None


def _layout(rec) -> bool:
    if rec[0] in RANGE_CALLS and rec[1] < 0xC0000000 <= rec[1] + rec[2]:
        return True  # a range reaching past 3 GiB: ENOMEM/EINVAL in the model, valid user space natively
    if rec[0] in MMAP_CALLS and (rec[2] >= 0x80000000 or (rec[4] & 0x100010 and rec[1] + rec[2] > 0xC0000000)):
        return True  # a mapping the 3 GiB space cannot hold, or a fixed one past it
    if rec[0] in ACCESS_OK_CALLS:
        buf, count = (rec[1 + i] for i in ACCESS_OK_CALLS[rec[0]])
        if buf + count > 0xC0000000:
            return True
    return any(lo <= a < hi for a in rec[1:] for lo, hi in LAYOUT_RANGES)


def _rule(rec) -> str | None:
    return next((why for test, why in RULES if test(rec)), None)


def compare(progs, nres, eres, tally):
    """Differences between the two sides, as (program index, call index, name, native, emulated) lines."""
    bad = []
    for i, recs in enumerate(progs):
        (nst, nvals), (est, evals) = nres[i], eres[i]
        if 0xFFFFFFFF in (nst, est):
            continue  # the watchdog killed one side after 3 s: host timing, not a result
        tainted = False
        for j, (rec, nv, ev) in enumerate(zip(recs, nvals, evals, strict=False)):  # up to the calls that both made
            name = SYSCALL_TABLE[rec[0]].name
            ne, ee = errno_of(nv), errno_of(ev)
            same = ne == ee and (ne is not None or rec[0] in VALUES_VARY or nv == ev)
            if tainted and not same:
                tally[name]["tainted"] += 1
                continue
            tainted = tainted or (rec[0] in NONDET_WRITERS and ne is None)
            kind = "agree" if same else "allowed" if name in ALLOWLIST or _rule(rec) else "layout" if _layout(rec) \
                else "pidns" if rec[0] in PID_CALLS and (0 < rec[1] < 200 or 999 <= rec[1] < 1200) else "differ"
            tally[name][kind] += 1
            if kind == "differ":
                bad.append((i, j, name, [hex(a) for a in rec[1:]], nv if ne is None else f"-{ne}",
                            ev if ee is None else f"-{ee}"))
        if (len(nvals) != len(evals) or nst != est) and not tainted:
            rec = recs[min(len(nvals), len(evals), len(recs) - 1)]
            name = SYSCALL_TABLE[rec[0]].name
            if name not in ALLOWLIST and not _rule(rec) and not _layout(rec):
                bad.append((i, "fate", name, [hex(a) for a in rec[1:]], f"native status {nst:#x} after "
                            f"{len(nvals)} calls", f"emulated status {est:#x} after {len(evals)} calls"))
    return bad


TALLY: dict = collections.defaultdict(collections.Counter)


@settings(max_examples=BATCHES, deadline=None, derandomize=True, database=None,
          phases=[Phase.explicit, Phase.generate],  # no shrinking: a failure lists every differing call
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                 HealthCheck.data_too_large])
@given(batch)
def test_random_syscalls_agree_with_native_linux(fuzz_guest, tmp_path, progs):
    native, emu = run_both(fuzz_guest, str(tmp_path), progs)
    err = emu.stderr.decode(errors="replace")
    assert "Traceback" not in err and "internal error" not in err, err
    assert native.returncode == 0, native.stderr.decode(errors="replace")
    assert emu.returncode == 0, err
    nres, eres = decode(native.stdout, len(progs)), decode(emu.stdout, len(progs))
    assert len(nres) == len(eres) == len(progs)
    bad = compare(progs, nres, eres, TALLY)
    if os.environ.get("FUZZ_REPORT"):
        with open(os.environ["FUZZ_REPORT"], "w") as f:
            json.dump({k: dict(v) for k, v in sorted(TALLY.items())}, f, indent=1)
    assert not bad, "\n".join(map(str, bad[:20]))
