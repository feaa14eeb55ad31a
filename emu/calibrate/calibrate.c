/* calibrate.c - the measurements `emu calibrate` makes natively on the host (gcc -m32 -static -O2).
 *
 * Prints one "name value" line per figure, in core cycles (TSC ticks converted through a dependent-add chain,
 * cycles.h), each the best of several timings. Argument "quick" uses fewer repetitions. */
#define _GNU_SOURCE
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cycles.h"

static int reps = 5;

#define BEST(expr)                                                                                                 \
    ({                                                                                                             \
        double _b = 1e30;                                                                                          \
        for (int _r = 0; _r < reps; _r++) {                                                                        \
            double _v = (expr);                                                                                    \
            if (_v < _b)                                                                                           \
                _b = _v;                                                                                           \
        }                                                                                                          \
        _b;                                                                                                        \
    })


#define IMUL10 "imul %%eax, %%eax\n\t" "imul %%eax, %%eax\n\t" "imul %%eax, %%eax\n\t" "imul %%eax, %%eax\n\t" \
               "imul %%eax, %%eax\n\t" "imul %%eax, %%eax\n\t" "imul %%eax, %%eax\n\t" "imul %%eax, %%eax\n\t" \
               "imul %%eax, %%eax\n\t" "imul %%eax, %%eax\n\t"

static double lat_imul(void)
{
    int n = 2000, x = 3;
    uint64_t t0 = tsc();
    __asm__ volatile("1:\n\t" IMUL10 IMUL10 "dec %%ecx\n\tjnz 1b" : "+c"(n), "+a"(x));
    return cyc(t0, tsc(), 2000.0 * 20);
}

/* div r32 with the quotient fed back: eax = (eax / ebx) + big, edx cleared by a zero idiom (no dependency). */
static double lat_div(void)
{
    int n = 4000;
    uint32_t a = 0x7fff1234, d = 0, b = 3, big = 0x50000000;
    uint64_t t0 = tsc();
    __asm__ volatile("1:\n\t"
                     "xor %%edx, %%edx\n\tdiv %%ebx\n\tadd %%esi, %%eax\n\t"
                     "xor %%edx, %%edx\n\tdiv %%ebx\n\tadd %%esi, %%eax\n\t"
                     "xor %%edx, %%edx\n\tdiv %%ebx\n\tadd %%esi, %%eax\n\t"
                     "xor %%edx, %%edx\n\tdiv %%ebx\n\tadd %%esi, %%eax\n\t"
                     "dec %%ecx\n\tjnz 1b"
                     : "+c"(n), "+a"(a), "+d"(d)
                     : "b"(b), "S"(big));
    return cyc(t0, tsc(), 4000.0 * 4) - 1.0; /* minus the add */
}

__attribute__((target("sse2"))) static double lat_addpd(void)
{
    int n = 4000;
    double one[2] __attribute__((aligned(16))) = {1e-9, 1e-9};
    uint64_t t0 = tsc();
    __asm__ volatile("movapd (%1), %%xmm1\n\txorpd %%xmm0, %%xmm0\n\t"
                     "1:\n\t"
                     "addpd %%xmm1, %%xmm0\n\taddpd %%xmm1, %%xmm0\n\taddpd %%xmm1, %%xmm0\n\taddpd %%xmm1, %%xmm0\n\t"
                     "addpd %%xmm1, %%xmm0\n\taddpd %%xmm1, %%xmm0\n\taddpd %%xmm1, %%xmm0\n\taddpd %%xmm1, %%xmm0\n\t"
                     "dec %%ecx\n\tjnz 1b"
                     : "+c"(n)
                     : "r"(one)
                     : "xmm0", "xmm1");
    return cyc(t0, tsc(), 4000.0 * 8);
}

__attribute__((target("sse2"))) static double lat_mulpd(void)
{
    int n = 4000;
    double one[2] __attribute__((aligned(16))) = {1.0, 1.0};
    uint64_t t0 = tsc();
    __asm__ volatile("movapd (%1), %%xmm1\n\tmovapd %%xmm1, %%xmm0\n\t"
                     "1:\n\t"
                     "mulpd %%xmm1, %%xmm0\n\tmulpd %%xmm1, %%xmm0\n\tmulpd %%xmm1, %%xmm0\n\tmulpd %%xmm1, %%xmm0\n\t"
                     "mulpd %%xmm1, %%xmm0\n\tmulpd %%xmm1, %%xmm0\n\tmulpd %%xmm1, %%xmm0\n\tmulpd %%xmm1, %%xmm0\n\t"
                     "dec %%ecx\n\tjnz 1b"
                     : "+c"(n)
                     : "r"(one)
                     : "xmm0", "xmm1");
    return cyc(t0, tsc(), 4000.0 * 8);
}

/* store, then load the same address, the loaded value feeding the next store */
static double lat_store_forward(void)
{
    int n = 4000;
    uint32_t cell[16] __attribute__((aligned(64))) = {0}, x = 1;
    uint64_t t0 = tsc();
    __asm__ volatile("1:\n\t"
                     "mov %%eax, (%2)\n\tmov (%2), %%eax\n\tmov %%eax, (%2)\n\tmov (%2), %%eax\n\t"
                     "mov %%eax, (%2)\n\tmov (%2), %%eax\n\tmov %%eax, (%2)\n\tmov (%2), %%eax\n\t"
                     "dec %%ecx\n\tjnz 1b"
                     : "+c"(n), "+a"(x)
                     : "r"(cell)
                     : "memory");
    return cyc(t0, tsc(), 4000.0 * 4);
}

/* ---- pointer chases ------------------------------------------------------------------------------------- */

static double chase_lines(long bytes, long steps)
{
    char *m = mmap(0, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    void **p = make_chase(m, bytes / 64, 64, 0);
    double r = BEST(chase(p, steps));
    munmap(m, bytes);
    return r;
}

static double chase_pages(long pages, long steps)
{
    char *m = mmap(0, pages * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    void **p = make_chase(m, pages, 4096, 64 * 17);
    double r = BEST(chase(p, steps));
    munmap(m, pages * 4096);
    return r;
}

/* ---- branches and strings --------------------------------------------------------------------------------- */

/* A branch on each byte of 64 KiB: all zero (always the same way) or random (half mispredicted; 64 KiB of outcomes
 * is more than a predictor learns). The condition comes from a load, so the branch resolves a load and a test
 * after it is fetched. */
static unsigned char bits[65536];

static double branch_loop(void)
{
    int n = 65536, acc = 0;
    const unsigned char *b = bits;
    uint64_t t0 = tsc();
    __asm__ volatile("1:\n\t"
                     "movzbl -1(%2,%0), %%edx\n\t"
                     "test $0x80, %%edx\n\t"
                     "jz 2f\n\t"
                     "add $3, %1\n\t"
                     "2:\n\t"
                     "dec %0\n\tjnz 1b"
                     : "+c"(n), "+r"(acc)
                     : "r"(b)
                     : "edx");
    return cyc(t0, tsc(), 65536.0);
}

static double mispredict(void)
{
    memset(bits, 0, sizeof bits);
    branch_loop();
    double steady = BEST(branch_loop());
    for (int i = 0; i < 65536; i++)
        bits[i] = (unsigned char)(next_rand() >> 3);
    branch_loop();
    double random = BEST(branch_loop());
    return (random - steady) * 2.0; /* half the random branches are mispredicted */
}

static char src[65536] __attribute__((aligned(64))), dst[65536] __attribute__((aligned(64)));

static double rep_movsb(long bytes)
{
    uint64_t t0 = tsc();
    for (int i = 0; i < 16; i++) {
        void *d = dst, *s = src;
        long c = bytes;
        __asm__ volatile("rep movsb" : "+D"(d), "+S"(s), "+c"(c)::"memory");
    }
    return cyc(t0, tsc(), 16.0);
}

static double rep_stosb(long bytes)
{
    uint64_t t0 = tsc();
    for (int i = 0; i < 16; i++) {
        void *d = dst;
        long c = bytes;
        __asm__ volatile("rep stosb" : "+D"(d), "+c"(c) : "a"(0) : "memory");
    }
    return cyc(t0, tsc(), 16.0);
}

/* ---- kernel events ----------------------------------------------------------------------------------------- */

static double glibc_syscall_cost(void)
{
    int n = 20000;
    uint64_t t0 = tsc();
    for (int i = 0; i < n; i++)
        syscall(SYS_getpid);
    return cyc(t0, tsc(), n);
}

static double syscall_cost(void)
{
    int n = 20000;
    uint64_t t0 = tsc();
    for (int i = 0; i < n; i++) {
        int r;
        __asm__ volatile("int $0x80" : "=a"(r) : "a"(20) : "memory");
    }
    return cyc(t0, tsc(), n);
}

static double zero_fill(long pages)
{
    char *m = mmap(0, pages * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    uint64_t t0 = tsc();
    for (long i = 0; i < pages; i++)
        m[i * 4096] = 1;
    double r = cyc(t0, tsc(), pages);
    munmap(m, pages * 4096);
    return r;
}

/* fork with `pages` resident: the child's writes (copies), then the parent's after the child exited (reuses) */
static void cow(long pages, double *copy, double *reuse)
{
    char *m = mmap(0, pages * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    double *shared = mmap(0, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    for (long i = 0; i < pages; i++)
        m[i * 4096] = 1;
    pid_t pid = fork();
    if (pid == 0) {
        uint64_t t0 = tsc();
        for (long i = 0; i < pages; i++)
            m[i * 4096] = 2;
        shared[0] = cyc(t0, tsc(), pages);
        _exit(0);
    }
    waitpid(pid, 0, 0);
    uint64_t t0 = tsc();
    for (long i = 0; i < pages; i++)
        m[i * 4096] = 3;
    *reuse = cyc(t0, tsc(), pages);
    *copy = shared[0];
    munmap(m, pages * 4096);
    munmap(shared, 4096);
}

static double fork_cost(long pages)
{
    char *m = mmap(0, pages * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    for (long i = 0; i < pages; i++)
        m[i * 4096] = 1;
    int n = 20;
    uint64_t t0 = tsc();
    for (int i = 0; i < n; i++) {
        pid_t pid = fork();
        if (pid == 0)
            _exit(0);
        waitpid(pid, 0, 0);
    }
    double r = cyc(t0, tsc(), n);
    munmap(m, pages * 4096);
    return r;
}

static double vfork_cost(void)
{
    int n = 20;
    uint64_t t0 = tsc();
    for (int i = 0; i < n; i++) {
        pid_t pid = vfork();
        if (pid == 0)
            _exit(0);
        waitpid(pid, 0, 0);
    }
    return cyc(t0, tsc(), n);
}

/* pipe ping-pong between two processes on one CPU: a round trip is two switches and four syscalls */
static double pingpong(void)
{
    int ab[2], ba[2];
    if (pipe(ab) || pipe(ba))
        return -1;
    int n = 2000;
    char c = 0;
    pid_t pid = fork();
    if (pid == 0) {
        for (int i = 0; i < n; i++)
            if (read(ab[0], &c, 1) != 1 || write(ba[1], &c, 1) != 1)
                _exit(1);
        _exit(0);
    }
    uint64_t t0 = tsc();
    for (int i = 0; i < n; i++)
        if (write(ab[1], &c, 1) != 1 || read(ba[0], &c, 1) != 1)
            return -1;
    double r = cyc(t0, tsc(), n);
    waitpid(pid, 0, 0);
    close(ab[0]); close(ab[1]); close(ba[0]); close(ba[1]);
    return r;
}

static double tsc_ghz(void)
{
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    uint64_t t0 = tsc();
    do
        clock_gettime(CLOCK_MONOTONIC, &b);
    while ((b.tv_sec - a.tv_sec) * 1000000000LL + (b.tv_nsec - a.tv_nsec) < 50000000LL);
    uint64_t t1 = tsc();
    return (double)(t1 - t0) / ((b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec));
}

int main(int argc, char **argv)
{
    int quick = argc > 1 && !strcmp(argv[1], "quick");
    if (quick)
        reps = 3;
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(0, &one);
    sched_setaffinity(0, sizeof one, &one); /* one CPU, as the model has; children inherit it */
    tpc = ticks_per_cycle();
    double ghz = tsc_ghz();
    printf("ticks_per_cycle %.4f\n", tpc);
    printf("tsc_ghz %.4f\n", ghz);
    printf("frequency_ghz %.4f\n", ghz / tpc);
    printf("add %.3f\n", BEST(({
                              int n = 2000, x = 1;
                              uint64_t t0 = tsc();
                              __asm__ volatile("1:\n\t" ADD10 ADD10 ADD10 ADD10 ADD10 "dec %%ecx\n\tjnz 1b"
                                               : "+c"(n), "+a"(x));
                              cyc(t0, tsc(), 2000.0 * 50);
                          })));
    printf("imul %.3f\n", BEST(lat_imul()));
    printf("div %.3f\n", BEST(lat_div()));
    printf("addpd %.3f\n", BEST(lat_addpd()));
    printf("mulpd %.3f\n", BEST(lat_mulpd()));
    printf("store_forward %.3f\n", BEST(lat_store_forward()));
    long steps = quick ? 200000 : 1000000;
    double l1 = chase_lines(16 << 10, steps);
    double tlb2 = chase_pages(256, steps) - l1; /* 256 pages: past the L1 TLB, within the L2 TLB; lines in L1 */
    double l2 = chase_lines(128 << 10, steps);  /* 32 pages: within the L1 TLB; past the L1 cache */
    double walk = chase_pages(8192, steps) - l2; /* 8,192 pages: past both TLBs; 512 KiB of lines, in L2 */
    double mem = chase_lines(32L << 20, steps / 2) - walk; /* 32 MiB: past every cache and both TLBs */
    /* the last-level cache: where the latency climbs from the L2's to the memory's (emu calibrate derives the L3's
     * latency and size from these, with the model's own L2 hit rate) */
    long sizes[] = {2048, 3072, 4096, 6144, 8192, 16384};
    for (int i = 0; i < 6; i++)
        printf("chase_%ld_kib %.3f\n", sizes[i], chase_lines(sizes[i] << 10, steps / 2) - tlb2);
    printf("load_latency %.3f\n", l1);
    printf("l2_latency %.3f\n", l2);
    printf("tlb2_latency %.3f\n", tlb2);
    printf("walk_latency %.3f\n", walk);
    printf("memory_latency %.3f\n", mem);
    printf("mispredict_loaded %.3f\n", mispredict());
    rep_movsb(4096);
    double m4k = BEST(rep_movsb(4096)), m16 = BEST(rep_movsb(16));
    rep_stosb(4096);
    double s4k = BEST(rep_stosb(4096)), s16 = BEST(rep_stosb(16));
    printf("rep_movs_bytes_per_cycle %.3f\n", (4096 - 16) / (m4k - m16));
    printf("rep_stos_bytes_per_cycle %.3f\n", (4096 - 16) / (s4k - s16));
    printf("rep_start %.3f\n", (m16 + s16) / 2);
    double sc = BEST(syscall_cost()), fast = BEST(glibc_syscall_cost());
    printf("int80_round_trip %.1f\n", sc);
    printf("syscall %.1f\n", fast);
    printf("zero_fill %.1f\n", BEST(zero_fill(quick ? 1024 : 4096)));
    double copy = 1e30, reuse = 1e30;
    for (int r = 0; r < reps; r++) {
        double c, u;
        cow(quick ? 1024 : 4096, &c, &u);
        if (c < copy)
            copy = c;
        if (u < reuse)
            reuse = u;
    }
    printf("cow_copy %.1f\n", copy);
    printf("cow_reuse %.1f\n", reuse);
    double f16 = BEST(fork_cost(16)), fbig = BEST(fork_cost(16384));
    printf("fork_pte %.2f\n", (fbig - f16) / (16384 - 16));
    double rt = BEST(pingpong());
    double cs = (rt - 4 * fast) / 2; /* glibc's read and write enter the fast way */
    printf("context_switch %.1f\n", cs);
    printf("syscall_int80 %.1f\n", sc > fast ? sc - fast : 0);
    /* vfork+exit+wait: three syscalls and two switches besides the task's own cost */
    double v = BEST(vfork_cost()), task = v - 3 * fast - 2 * cs;
    printf("vfork_loop %.1f\nfork_loop_16 %.1f\n", v, f16);
    printf("clone_task %.1f\n", task > 0 ? task : 0);
    /* fork with 16 pages, less the vfork loop, the PTE copies and the child's two COW copies (stack, data) */
    double mm = f16 - v - 16 * (fbig - f16) / (16384 - 16) - 2 * copy;
    printf("fork_mm %.1f\n", mm > 0 ? mm : 0);
    return 0;
}
