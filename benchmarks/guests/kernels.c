/* kernels.c - small kernels timed in core cycles, natively and under the emulator (benchmarks/cycles.py).
 *
 *   kernels NAME [REPS]    prints "KERNEL name=NAME unit=U cycles=C" (C: core cycles per unit, the best of REPS
 *                          timings after one untimed warm-up run)
 *
 * Natively the cycles are TSC ticks converted through a dependent-add chain (emu/calibrate/cycles.h); under the
 * emulator rdtsc returns the modelled cycle count, and the same conversion gives the model's own cycles. */
#define _GNU_SOURCE
#include <emmintrin.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../emu/calibrate/cycles.h"

static volatile uint32_t sink;
static unsigned char buf[65536] __attribute__((aligned(64))), buf2[65536] __attribute__((aligned(64)));

/* each kernel: one timed run of `units` units, returning cycles per unit */

static double k_lcg(void)
{
    uint32_t x = 1;
    uint64_t t0 = tsc();
    for (int i = 0; i < 100000; i++)
        x = x * 1103515245u + 12345u;
    uint64_t t1 = tsc();
    sink = x;
    return cyc(t0, t1, 100000);
}

static double k_div(void)
{
    uint32_t x = 0x7fff1234, d = 3;
    __asm__ volatile("" : "+r"(d));
    uint64_t t0 = tsc();
    for (int i = 0; i < 20000; i++)
        x = x / d + 0x50000000u;
    uint64_t t1 = tsc();
    sink = x;
    return cyc(t0, t1, 20000);
}

static void **chase_start;
static long chase_bytes;

static double k_chase(void)
{
    return chase(chase_start, 100000);
}

static double k_memset(void)
{
    uint64_t t0 = tsc();
    for (int i = 0; i < 64; i++) {
        memset(buf, i, 4096);
        __asm__ volatile("" ::: "memory");
    }
    return cyc(t0, tsc(), 64);
}

static double k_memcpy(void)
{
    uint64_t t0 = tsc();
    for (int i = 0; i < 64; i++) {
        memcpy(buf2, buf, 4096);
        __asm__ volatile("" ::: "memory");
    }
    return cyc(t0, tsc(), 64);
}

static uint32_t crc_table[256];

static double k_crc32(void)
{
    uint32_t c = 0xFFFFFFFFu;
    uint64_t t0 = tsc();
    for (int r = 0; r < 4; r++)
        for (int i = 0; i < 4096; i++)
            c = crc_table[(c ^ buf[i]) & 0xFF] ^ (c >> 8);
    uint64_t t1 = tsc();
    sink = c;
    return cyc(t0, t1, 4 * 4096);
}

static double k_fnv(void)
{
    uint32_t h = 2166136261u;
    uint64_t t0 = tsc();
    for (int r = 0; r < 4; r++)
        for (int i = 0; i < 4096; i++)
            h = (h ^ buf[i]) * 16777619u;
    uint64_t t1 = tsc();
    sink = h;
    return cyc(t0, t1, 4 * 4096);
}

static int cmp_int(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

static int sortbuf[2048];

static double k_qsort(void)
{
    for (int i = 0; i < 2048; i++)
        sortbuf[i] = (int)next_rand();
    uint64_t t0 = tsc();
    qsort(sortbuf, 2048, sizeof(int), cmp_int);
    return cyc(t0, tsc(), 2048);
}

static double dx[2048] __attribute__((aligned(16))), dy[2048] __attribute__((aligned(16)));

__attribute__((target("sse2"))) static double k_dot(void)
{
    __m128d acc0 = _mm_setzero_pd(), acc1 = _mm_setzero_pd();
    uint64_t t0 = tsc();
    for (int r = 0; r < 4; r++)
        for (int i = 0; i < 2048; i += 4) {
            acc0 = _mm_add_pd(acc0, _mm_mul_pd(_mm_load_pd(dx + i), _mm_load_pd(dy + i)));
            acc1 = _mm_add_pd(acc1, _mm_mul_pd(_mm_load_pd(dx + i + 2), _mm_load_pd(dy + i + 2)));
        }
    uint64_t t1 = tsc();
    double out[2];
    _mm_storeu_pd(out, _mm_add_pd(acc0, acc1));
    sink = (uint32_t)out[0];
    return cyc(t0, t1, 4 * 2048);
}

/* a branch on each byte of 64 KiB of random bytes: taken half the time, unpredictably */
static double k_branchy(void)
{
    uint32_t a = 0, b = 0;
    uint64_t t0 = tsc();
    for (int i = 0; i < 65536; i++) {
        if (buf[i] & 0x80) {
            a += buf[i];
            __asm__ volatile("" : "+r"(a)); /* keeps it a branch (no if-conversion) */
        } else {
            b ^= i;
            __asm__ volatile("" : "+r"(b));
        }
    }
    uint64_t t1 = tsc();
    sink = a + b;
    return cyc(t0, t1, 65536);
}

/* a branch on a bit of an LCG step (the condition resolves at the end of a 4-cycle chain) */
static double k_branch_lcg(void)
{
    uint32_t x = 1, a = 0;
    uint64_t t0 = tsc();
    for (int i = 0; i < 65536; i++) {
        x = x * 1103515245u + 12345u;
        if (x & 0x10000) {
            a += 3;
            __asm__ volatile("" : "+r"(a));
        }
    }
    uint64_t t1 = tsc();
    sink = a + x;
    return cyc(t0, t1, 65536);
}

/* ---- kernel events ---- */

static double k_int80(void)
{
    uint64_t t0 = tsc();
    for (int i = 0; i < 200; i++) {
        int r;
        __asm__ volatile("int $0x80" : "=a"(r) : "a"(20) : "memory");
    }
    return cyc(t0, tsc(), 200);
}

static double k_getpid(void)
{
    uint64_t t0 = tsc();
    for (int i = 0; i < 200; i++)
        syscall(SYS_getpid);
    return cyc(t0, tsc(), 200);
}

static double k_zero_fill(void)
{
    char *m = mmap(0, 512 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    uint64_t t0 = tsc();
    for (int i = 0; i < 512; i++)
        m[i * 4096] = 1;
    double r = cyc(t0, tsc(), 512);
    munmap(m, 512 * 4096);
    return r;
}

static double cow_result[2];

static void cow_run(void)
{
    char *m = mmap(0, 512 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    double *shared = mmap(0, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    for (int i = 0; i < 512; i++)
        m[i * 4096] = 1;
    pid_t pid = fork();
    if (pid == 0) {
        uint64_t t0 = tsc();
        for (int i = 0; i < 512; i++)
            m[i * 4096] = 2;
        shared[0] = cyc(t0, tsc(), 512);
        _exit(0);
    }
    waitpid(pid, 0, 0);
    uint64_t t0 = tsc();
    for (int i = 0; i < 512; i++)
        m[i * 4096] = 3;
    cow_result[1] = cyc(t0, tsc(), 512);
    cow_result[0] = shared[0];
    munmap(m, 512 * 4096);
    munmap(shared, 4096);
}

static double k_cow_copy(void)
{
    cow_run();
    return cow_result[0];
}

static double k_cow_reuse(void)
{
    cow_run();
    return cow_result[1];
}

static double k_fork(void)
{
    uint64_t t0 = tsc();
    for (int i = 0; i < 10; i++) {
        pid_t pid = fork();
        if (pid == 0)
            _exit(0);
        waitpid(pid, 0, 0);
    }
    return cyc(t0, tsc(), 10);
}

static double k_pingpong(void)
{
    int ab[2], ba[2];
    if (pipe(ab) || pipe(ba))
        return -1;
    char c = 0;
    pid_t pid = fork();
    if (pid == 0) {
        for (int i = 0; i < 200; i++)
            if (read(ab[0], &c, 1) != 1 || write(ba[1], &c, 1) != 1)
                _exit(1);
        _exit(0);
    }
    uint64_t t0 = tsc();
    for (int i = 0; i < 200; i++)
        if (write(ab[1], &c, 1) != 1 || read(ba[0], &c, 1) != 1)
            return -1;
    double r = cyc(t0, tsc(), 200);
    waitpid(pid, 0, 0);
    close(ab[0]);
    close(ab[1]);
    close(ba[0]);
    close(ba[1]);
    return r;
}

static const struct {
    const char *name, *unit;
    double (*fn)(void);
    long chase_kib;
} KERNELS[] = {
    {"lcg", "iteration", k_lcg, 0},
    {"div", "iteration", k_div, 0},
    {"chase_16k", "load", k_chase, 16},
    {"chase_256k", "load", k_chase, 256},
    {"chase_2m", "load", k_chase, 2048},
    {"chase_64m", "load", k_chase, 65536},
    {"memset_4k", "call", k_memset, 0},
    {"memcpy_4k", "call", k_memcpy, 0},
    {"crc32", "byte", k_crc32, 0},
    {"fnv1a", "byte", k_fnv, 0},
    {"qsort", "element", k_qsort, 0},
    {"dot_sse2", "element", k_dot, 0},
    {"branchy", "byte", k_branchy, 0},
    {"branch_lcg", "iteration", k_branch_lcg, 0},
    {"int80", "call", k_int80, 0},
    {"getpid", "call", k_getpid, 0},
    {"zero_fill", "page", k_zero_fill, 0},
    {"cow_copy", "page", k_cow_copy, 0},
    {"cow_reuse", "page", k_cow_reuse, 0},
    {"fork", "fork+exit+wait", k_fork, 0},
    {"pingpong", "round trip", k_pingpong, 0},
};

int main(int argc, char **argv)
{
    if (argc < 2) {
        for (unsigned i = 0; i < sizeof KERNELS / sizeof KERNELS[0]; i++)
            printf("%s\n", KERNELS[i].name);
        return 0;
    }
    int reps = argc > 2 ? atoi(argv[2]) : 5;
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(0, &one);
    sched_setaffinity(0, sizeof one, &one); /* one CPU, as the model has */
    for (int i = 0; i < 65536; i++)
        buf[i] = (unsigned char)(next_rand() >> 4);
    for (int i = 0; i < 256; i++) {
        uint32_t c = (uint32_t)i;
        for (int k = 0; k < 8; k++)
            c = c & 1 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        crc_table[i] = c;
    }
    for (int i = 0; i < 2048; i++) {
        dx[i] = i * 0.5;
        dy[i] = 1.0 / (i + 1);
    }
    for (unsigned i = 0; i < sizeof KERNELS / sizeof KERNELS[0]; i++) {
        if (strcmp(argv[1], KERNELS[i].name))
            continue;
        if (KERNELS[i].chase_kib) {
            chase_bytes = KERNELS[i].chase_kib << 10;
            char *m = mmap(0, chase_bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
            chase_start = make_chase(m, chase_bytes / 64, 64, 0);
        }
        tpc = ticks_per_cycle();
        KERNELS[i].fn(); /* warm-up: caches, predictors, first-touch faults */
        double best = 1e30;
        for (int r = 0; r < reps; r++) {
            double v = KERNELS[i].fn();
            if (v < best)
                best = v;
        }
        printf("KERNEL name=%s unit=%s cycles=%.4f tpc=%.4f\n", KERNELS[i].name, KERNELS[i].unit, best, tpc);
        return 0;
    }
    fprintf(stderr, "kernels: unknown kernel %s (run without arguments for the list)\n", argv[1]);
    return 2;
}
