"""The cycle model, rdtsc and virtual time (emu.costmodel, emu.cpu)."""

import json
import subprocess
import sys

import pytest

from emu.costmodel import DEFAULT_COSTS, CostModel
from kernel_model.task import Task

RDTSC_C = r"""
#include <stdio.h>
#include <time.h>
#include <x86intrin.h>
int main(void) {
    unsigned long long a = __rdtsc();
    volatile int s = 0;
    for (int i = 0; i < 1000; i++) s += i;
    unsigned long long b = __rdtsc();
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    printf("rdtsc delta %llu mono %ld.%09ld\n", b - a, (long)t.tv_sec, t.tv_nsec);
    return 0;
}
"""


def test_every_default_cost_names_its_source():
    for key, (value, source) in DEFAULT_COSTS.items():
        assert value >= 0 and len(source) > 10, key
    assert set(CostModel().describe()) == set(DEFAULT_COSTS)


def test_cycles_are_instructions_times_cpi_plus_priced_events():
    t = Task(1, "x")
    t.insns, t.syscalls, t.switches, t.tlb_fills, t.fork_ptes = 1000, 2, 1, 10, 5
    t.acct.counts[2] = 3  # cow_copy
    m = CostModel(cpi=2.0, syscall=100, context_switch=50, tlb_fill=1, fork_pte=4, cow_copy=1000)
    assert m.cycles(t) == 1000 * 2 + 2 * 100 + 50 + 10 + 5 * 4 + 3 * 1000
    assert sum(m.breakdown(t).values()) == m.cycles(t)
    assert m.cycles(t, extra_insns=10) == m.cycles(t) + 20


def test_cost_model_file_overrides_some_keys_and_rejects_bad_ones(tmp_path):
    good = tmp_path / "c.json"
    good.write_text(json.dumps({"cpi": 0.5, "cow_copy": 123}))
    m = CostModel.from_file(str(good))
    assert m.cpi == 0.5 and m.cow_copy == 123 and m.syscall == CostModel.default().syscall
    for bad in ({"nope": 1}, {"cpi": -1}, {"cpi": "x"}, [1, 2], {"frequency_ghz": 0}):
        p = tmp_path / "bad.json"
        p.write_text(json.dumps(bad))
        with pytest.raises(ValueError):
            CostModel.from_file(str(p))


def test_bad_cost_model_file_is_one_line_and_exit_1(tmp_path, asm_build):
    p = tmp_path / "bad.json"
    p.write_text("{not json")
    r = subprocess.run([sys.executable, "-m", "emu", "run", "--cost-model", str(p), f"{asm_build}/hello"],
                       capture_output=True, text=True)
    assert r.returncode == 1
    assert r.stderr.count("\n") == 1 and r.stderr.startswith("emu: cost model") and "Traceback" not in r.stderr


@pytest.fixture(scope="module")
def rdtsc_prog(tmp_path_factory, toolchain):
    d = tmp_path_factory.mktemp("rdtsc")
    src = d / "rdtsc.c"
    src.write_text(RDTSC_C)
    subprocess.run(["gcc", "-m32", "-static", "-O1", "-o", str(d / "rdtsc"), str(src)], check=True)
    return str(d / "rdtsc")


def run_emu(*args):
    r = subprocess.run([sys.executable, "-m", "emu", "run", *args], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    return r.stdout


def test_rdtsc_returns_the_models_cycles_and_repeats_exactly(rdtsc_prog):
    out1 = run_emu("--virtual-time", rdtsc_prog)
    out2 = run_emu("--virtual-time", rdtsc_prog)
    assert out1 == out2
    delta = int(out1.split()[2])
    # the pipeline model: each iteration's volatile s += i is a load, an add and a store chained through memory
    # (store forwarding), a few cycles, with no kernel event between the two reads
    assert 1000 <= delta <= 10000
    flat = int(run_emu("--virtual-time", "--cycle-model", "flat", rdtsc_prog).split()[2])
    assert 5000 <= flat <= 8000  # about 6 instructions per iteration at CPI 1


def test_cpi_from_cost_model_scales_rdtsc(rdtsc_prog, tmp_path):
    p = tmp_path / "c.json"
    p.write_text(json.dumps({"cpi": 2.0}))
    base = int(run_emu("--cycle-model", "flat", rdtsc_prog).split()[2])
    doubled = int(run_emu("--cycle-model", "flat", "--cost-model", str(p), rdtsc_prog).split()[2])
    assert doubled == 2 * base


def test_virtual_time_monotonic_clock_starts_near_zero(rdtsc_prog):
    out = run_emu("--virtual-time", rdtsc_prog)
    sec = float(out.split()[-1])
    assert 0 < sec < 0.1


SLEEP_C = r"""
#include <stdio.h>
#include <time.h>
int main(void)
{
    struct timespec a, b, req = {1000, 0};
    clock_gettime(CLOCK_MONOTONIC, &a);
    nanosleep(&req, NULL);
    clock_gettime(CLOCK_MONOTONIC, &b);
    printf("slept %ld s\n", (long)(b.tv_sec - a.tv_sec));
    return 0;
}
"""


def test_virtual_time_sleeps_take_no_host_time(tmp_path, toolchain):
    src = tmp_path / "sleep.c"
    src.write_text(SLEEP_C)
    subprocess.run(["gcc", "-m32", "-static", "-O1", "-o", str(tmp_path / "sleep"), str(src)], check=True)
    # 1000 s of guest sleep inside run_emu's 60 s timeout: the idle machine jumps to the deadline.
    assert run_emu("--virtual-time", str(tmp_path / "sleep")) == "slept 1000 s\n"
