"""The cycle model (emu/cyclemodel.py, the native block hook), CPUID, the vDSO entry and `emu calibrate`."""

import json
import subprocess
import sys

import pytest

from emu.costmodel import CostModel
from emu.cyclemodel import ONE, RESOURCE_NAMES, START, VIA_LOAD, summarize

LOOPS = 20000
# hand-written loop bodies: (name, body); each runs LOOPS times, then exit(0)
CHAINS = {
    "imul4": "imul %eax, %eax\n imul %eax, %eax\n imul %eax, %eax\n imul %eax, %eax\n",
    "adds": "".join(f"add $1, %{r}\n" for r in ("eax", "ebx", "edx", "esi", "edi", "ebp") * 2),
    "div": "xor %edx, %edx\n div %ebx\n add %esi, %eax\n" * 4,
}
PRELUDE = " mov $3, %eax\n mov $3, %ebx\n mov $0x50000000, %esi\n"


def _build(tmp_path, name: str, body: str) -> str:
    src = tmp_path / f"{name}.s"
    src.write_text(f".globl _start\n_start:\n{PRELUDE} mov ${LOOPS}, %ecx\n1:\n{body} dec %ecx\n jnz 1b\n"
                   " mov $1, %eax\n xor %ebx, %ebx\n int $0x80\n")
    obj, exe = tmp_path / f"{name}.o", tmp_path / name
    subprocess.run(["as", "--32", "-o", str(obj), str(src)], check=True)
    subprocess.run(["ld", "-m", "elf_i386", "-static", "-o", str(exe), str(obj)], check=True)
    return str(exe)


def _body_bytes(tmp_path, name: str, body: str) -> bytes:
    src = tmp_path / f"{name}_body.s"
    src.write_text(f".text\n{body} dec %ecx\n jnz .-0\n")
    obj, raw = tmp_path / f"{name}_body.o", tmp_path / f"{name}_body.bin"
    subprocess.run(["as", "--32", "-o", str(obj), str(src)], check=True)
    subprocess.run(["objcopy", "-O", "binary", "-j", ".text", str(obj), str(raw)], check=True)
    return raw.read_bytes()


def _stats(prog: str, *options: str) -> dict:
    p = subprocess.run([sys.executable, "-m", "emu", "run", "--stats-json", "/dev/stdout", *options, prog],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout)


@pytest.fixture(scope="module")
def table():
    return CostModel.default().table()


def _lat(table, m):
    return float(table.lookup(m)["lat"])


def _carried(terms, res):
    """The latency of the chain from resource res back to itself in one pass of the block."""
    i = RESOURCE_NAMES.index(res)
    return max((lat for out, src, lat in terms if (out & 0xFF) == i and src == i), default=0) / ONE


def test_block_summary_of_a_4_deep_imul_chain_is_four_imul_latencies(toolchain, tmp_path, table):
    head, terms = summarize(_body_bytes(tmp_path, "imul4", CHAINS["imul4"]), 0x1000, table)
    assert head[0] == 6  # 4 imul, dec, jnz
    assert _carried(terms, "eax") == pytest.approx(4 * _lat(table, "imul"), abs=0.02)
    assert _carried(terms, "ecx") == pytest.approx(_lat(table, "dec"), abs=0.02)


def test_block_summary_of_independent_adds_is_bound_by_issue_not_by_a_chain(toolchain, tmp_path, table):
    head, terms = summarize(_body_bytes(tmp_path, "adds", CHAINS["adds"]), 0x1000, table)
    assert head[0] == 14
    for r in ("eax", "ebx", "edx", "esi", "edi", "ebp"):
        assert _carried(terms, r) == pytest.approx(2 * _lat(table, "add"), abs=0.02)  # two adds each
    core = table.core
    alu = 13 / core["alu_ports"]  # 12 adds and the dec on the ALUs
    assert head[1] / ONE == pytest.approx(max(14 / core["width"], alu), abs=0.02)


def test_block_summary_of_a_div_chain_carries_div_plus_add_and_the_zero_idiom_breaks_edx(toolchain, tmp_path,
                                                                                        table):
    head, terms = summarize(_body_bytes(tmp_path, "div", CHAINS["div"]), 0x1000, table)
    assert _carried(terms, "eax") == pytest.approx(4 * (_lat(table, "div") + _lat(table, "add")), abs=0.05)
    edx = RESOURCE_NAMES.index("edx")
    # edx after the block comes from the last div (eax's chain), never from edx's value before it
    assert not [t for t in terms if (t[0] & 0xFF) == edx and t[1] == edx]


def test_a_load_marks_its_path_for_the_memory_model(table):
    # mov (%eax), %eax: a pointer chase step; its chain passes through one load of load_latency
    head, terms = summarize(bytes.fromhex("8b00"), 0x1000, table)
    eax = RESOURCE_NAMES.index("eax")
    via = [t for t in terms if (t[0] & 0xFF) == eax and t[1] == eax and t[0] >> 8 == 1]
    assert via and via[0][2] / ONE == pytest.approx(table.core["load_latency"], abs=0.02)
    assert all(t[1] != START or t[0] & VIA_LOAD for t in terms if (t[0] & 0xFF) == eax and t[2] > ONE)


@pytest.mark.parametrize("name", sorted(CHAINS))
def test_priced_loop_cycles_match_the_table_per_iteration(toolchain, tmp_path, table, name):
    """End to end: the native block hook's scoreboard charges each iteration the larger of the loop-carried chain
    and the issue bound, from the table's numbers."""
    core = table.core
    want = {"imul4": 4 * _lat(table, "imul"),
            "adds": max(14 / core["width"], 13 / core["alu_ports"], 2 * _lat(table, "add")),
            "div": 4 * (_lat(table, "div") + _lat(table, "add"))}[name]
    st = _stats(_build(tmp_path, name, CHAINS[name]))
    by = st["cycles_by_event"]
    assert by["pipeline"] / LOOPS == pytest.approx(want, rel=0.02)
    # the loop branch is learnt: at most one miss per new 16-bit global history while it fills, and the exit
    assert by["branch"] <= (16 + 2) * core["mispredict"] + 1
    assert st["cycle_model"]["model"] == "core"  # the default


def test_flat_cycle_model_is_instructions_times_cpi(toolchain, tmp_path):
    st = _stats(_build(tmp_path, "imul4", CHAINS["imul4"]), "--cycle-model", "flat")
    assert st["cycles_by_event"]["instructions"] == st["instructions"]
    assert st["cycle_model"]["model"] == "flat"


@pytest.fixture(scope="module")
def kernels():
    from benchmarks.runners import BUILD_DIR, build_guests

    build_guests()
    return str(BUILD_DIR / "kernels")


def _kernel(kernels, name, *options):
    p = subprocess.run([sys.executable, "-m", "emu", "run", "--stats-json", "/dev/stderr", *options, kernels, name,
                        "1"], capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr[-500:]
    line = next(x for x in p.stdout.splitlines() if x.startswith("KERNEL "))
    return float(line.split("cycles=")[1].split()[0]), json.loads(p.stderr)


def test_an_unpredictable_branch_is_mispredicted_about_half_the_time(kernels, table):
    cycles, st = _kernel(kernels, "branchy")  # every slice in detail (the default): every branch predicted
    cm = st["cycle_model"]
    assert 0.4 * 2 * 65536 < cm["mispredicts"] < 0.6 * 2 * 65536  # warm-up and one timed run, 64 KiB each
    assert st["cycles_by_event"]["branch"] > 0.4 * 2 * 65536 * table.core["mispredict"]
    # sampled: the slices not priced in detail charge each block its mean, mispredictions included
    sampled, st2 = _kernel(kernels, "branchy", "--cycle-sample", "2")
    assert sampled == pytest.approx(cycles, rel=0.25)
    assert st2["cycle_model"]["sampled_blocks"] > 0 and st2["cycle_model"]["branches"] < cm["branches"]


def test_rep_string_is_priced_by_size_not_per_iteration(kernels, table):
    """memset_4k: glibc's rep stos costs bytes / rep_stos_bytes_per_cycle (+ start-up), not 1,024 instructions'
    worth of cycles."""
    cycles, st = _kernel(kernels, "memset_4k")
    core = table.core
    by_size = 4096 / core["rep_stos_bytes_per_cycle"] + core["rep_start"]
    assert st["cycle_model"]["rep_elems"] > 0
    assert cycles == pytest.approx(by_size, rel=0.5)


def test_a_pointer_chase_over_64_mib_is_priced_far_above_one_over_16_kib(kernels, table):
    small, _ = _kernel(kernels, "chase_16k", "--cycle-model", "pipeline")
    big, st = _kernel(kernels, "chase_64m", "--cycle-model", "pipeline")
    assert small == pytest.approx(table.core["load_latency"], rel=0.1)
    assert big > 0.8 * table.core["memory_latency"]
    assert st["cycle_model"]["l3_miss"] > 100000 and st["cycle_model"]["tlb2_miss"] > 50000
    core_cycles, core_only = _kernel(kernels, "chase_64m")  # the default, core: every load an L1 hit
    assert core_only["cycle_model"]["memory_model"] is False and core_only["cycle_model"]["l1_miss"] == 0
    assert core_cycles == pytest.approx(table.core["load_latency"], rel=0.1)


def test_rdtsc_returns_the_modelled_cycles_of_the_task(kernels):
    cycles, st = _kernel(kernels, "lcg")
    assert cycles == pytest.approx(_lat(CostModel.default().table(), "imul") + 1, rel=0.05)  # imul + add chain
    assert st["rdtsc_emulated"] > 10


CPUID_C = r"""
#include <cpuid.h>
#include <stdio.h>
#include <string.h>
int main(void) {
    unsigned a, b, c, d;
    __cpuid(0, a, b, c, d);
    char v[13]; memcpy(v, &b, 4); memcpy(v + 4, &d, 4); memcpy(v + 8, &c, 4); v[12] = 0;
    printf("vendor %s\n", v);
    __cpuid(1, a, b, c, d);
    printf("sig %08x ecx %08x edx %08x\n", a, c, d);
    __cpuid_count(7, 0, a, b, c, d);
    printf("l7 ebx %08x ecx %08x\n", b, c);
    extern void *memset(void *, int, unsigned);
    printf("memset %p\n", (void *)memset);
    return 0;
}
"""


def test_guest_cpuid_is_the_hosts_processor_with_features_unicorn_implements(toolchain, tmp_path):
    from emu.cpuid import unicorn_cpuid

    src = tmp_path / "cpuid.c"
    src.write_text(CPUID_C)
    exe = tmp_path / "cpuid"
    subprocess.run(["gcc", "-m32", "-static", "-O2", "-o", str(exe), str(src)], check=True)
    native = dict(line.split(" ", 1) for line in subprocess.run([str(exe)], capture_output=True, text=True,
                                                                 check=True).stdout.splitlines())
    p = subprocess.run([sys.executable, "-m", "emu", "run", str(exe)], capture_output=True, text=True, check=True)
    emu = dict(line.split(" ", 1) for line in p.stdout.splitlines())
    assert emu["vendor"] == native["vendor"]
    nsig, necx, nedx = (int(x, 16) for x in native["sig"].split()[::2])
    esig, eecx, eedx = (int(x, 16) for x in emu["sig"].split()[::2])
    assert esig == nsig  # family, model, stepping
    u = unicorn_cpuid(1)
    assert eecx == necx & u[2] and eedx & ~(1 << 28) == nedx & u[3] & ~(1 << 28)
    assert int(emu["l7"].split()[1], 16) == int(native["l7"].split()[1], 16) & unicorn_cpuid(7)[1]
    # glibc's IFUNC resolver picks the same memset as on the host (the address of the implementation it chose)
    assert emu["memset"] == native["memset"]
    p = subprocess.run([sys.executable, "-m", "emu", "run", "--cpuid", "unicorn", str(exe)], capture_output=True,
                       text=True, check=True)
    assert "GenuineIntel" in p.stdout


def test_glibc_enters_the_kernel_through_the_vdso_and_asm_int80_is_priced_apart(toolchain, kernels, tmp_path):
    cycles, st = _kernel(kernels, "getpid")
    m = CostModel.default()
    assert cycles == pytest.approx(m.syscall, rel=0.1)
    cycles80, _ = _kernel(kernels, "int80")
    assert cycles80 == pytest.approx(m.syscall + m.syscall_int80, rel=0.1)


def test_calibration_output_validates_and_loads_as_a_cost_model(toolchain, tmp_path):
    from emu.calibration import validate

    out = tmp_path / "cal.json"
    p = subprocess.run([sys.executable, "-m", "emu", "calibrate", "--quick", "-o", str(out)], capture_output=True,
                       text=True, timeout=600)
    assert p.returncode == 0, p.stderr
    doc = json.loads(out.read_text())
    assert validate(doc) == []
    m = doc["measured"]
    assert 0.9 < m["add"] < 1.1  # the reference chain itself
    assert 2 <= m["imul"] <= 5 and m["div"] > m["imul"]
    assert m["load_latency"] < m["l2_latency"] < m["l3_latency"] < m["memory_latency"]
    for section in ("costs", "core"):
        for key, entry in doc[section].items():
            assert entry["source"], (section, key)
    assert doc["machine"]["vendor"] in ("GenuineIntel", "AuthenticAMD")
    # a run loads it
    hello = tmp_path / "h.s"
    hello.write_text(".globl _start\n_start:\n mov $1, %eax\n mov $7, %ebx\n int $0x80\n")
    subprocess.run(["as", "--32", "-o", str(tmp_path / "h.o"), str(hello)], check=True)
    subprocess.run(["ld", "-m", "elf_i386", "-static", "-o", str(tmp_path / "h"), str(tmp_path / "h.o")], check=True)
    r = subprocess.run([sys.executable, "-m", "emu", "run", "--cost-model", str(out), "--stats-json", "/dev/stdout",
                        str(tmp_path / "h")], capture_output=True, text=True)
    assert r.returncode == 7
    st = json.loads(r.stdout)
    assert st["cost_model"]["syscall"]["value"] == doc["costs"]["syscall"]["value"]
    bad = dict(doc, measured=dict(m, imul=500.0))
    assert any("imul" in x for x in validate(bad))
