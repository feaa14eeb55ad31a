/* cycles.h - core-cycle measurement for i386 guests (emu calibrate and benchmarks/guests/kernels.c).
 *
 * rdtsc counts at the TSC's rate, which is not the core clock (turbo, power states, a VM's scaling). A chain of
 * dependent adds runs at one add per core cycle on every x86 core, so timing one gives the TSC ticks per core
 * cycle; every other figure is converted through it. Under the emulator rdtsc returns the modelled cycle count
 * and the same chain gives the model's ratio (1.0), so one program reports core cycles both ways. */
#ifndef EMU_CYCLES_H
#define EMU_CYCLES_H
#include <stdint.h>
#include <stdlib.h>

static inline uint64_t tsc(void)
{
    uint32_t lo, hi;
    __asm__ volatile("lfence\n\trdtsc\n\tlfence" : "=a"(lo), "=d"(hi)::"memory");
    return ((uint64_t)hi << 32) | lo;
}

#define ADD10 "add %%eax, %%eax\n\t" "add %%eax, %%eax\n\t" "add %%eax, %%eax\n\t" "add %%eax, %%eax\n\t" \
              "add %%eax, %%eax\n\t" "add %%eax, %%eax\n\t" "add %%eax, %%eax\n\t" "add %%eax, %%eax\n\t" \
              "add %%eax, %%eax\n\t" "add %%eax, %%eax\n\t"

/* TSC ticks per core cycle: the best of 7 timings of 50 x 2,000 dependent adds. */
static double ticks_per_cycle(void)
{
    double best = 1e30;
    for (int rep = 0; rep < 7; rep++) {
        int n = 2000, x = 1;
        uint64_t t0 = tsc();
        __asm__ volatile("1:\n\t" ADD10 ADD10 ADD10 ADD10 ADD10 "dec %%ecx\n\tjnz 1b" : "+c"(n), "+a"(x));
        uint64_t t1 = tsc();
        double r = (double)(t1 - t0) / (2000.0 * 50);
        if (r < best)
            best = r;
    }
    return best;
}

static double tpc; /* TSC ticks per core cycle, once ticks_per_cycle() has run */

/* core cycles per op between two tsc() readings */
static inline double cyc(uint64_t t0, uint64_t t1, double ops) { return (double)(t1 - t0) / tpc / ops; }

static uint32_t rng = 12345;
static uint32_t next_rand(void)
{
    rng = rng * 1103515245u + 12345u;
    return rng >> 8;
}

/* A random cyclic chase through n slots spaced stride bytes apart (offset: an extra byte offset per slot, to
 * spread one-per-page slots over the cache sets); returns the start. */
static void **make_chase(char *base, long n, long stride, long offset)
{
    long *perm = malloc(n * sizeof(long));
    for (long i = 0; i < n; i++)
        perm[i] = i;
    for (long i = n - 1; i > 0; i--) { /* Sattolo: one cycle through every slot */
        long j = next_rand() % i;
        long t = perm[i];
        perm[i] = perm[j];
        perm[j] = t;
    }
    for (long i = 0; i < n; i++) {
        long a = perm[i], b = perm[(i + 1) % n];
        *(void **)(base + a * stride + (a * offset) % stride) = base + b * stride + (b * offset) % stride;
    }
    void **start = (void **)(base + perm[0] * stride + (perm[0] * offset) % stride);
    free(perm);
    return start;
}

static double chase(void **p, long steps)
{
    for (long i = 0; i < steps / 4; i++) /* warm up */
        p = (void **)*p;
    uint64_t t0 = tsc();
    for (long i = 0; i < steps; i += 8) {
        p = (void **)*p; p = (void **)*p; p = (void **)*p; p = (void **)*p;
        p = (void **)*p; p = (void **)*p; p = (void **)*p; p = (void **)*p;
    }
    uint64_t t1 = tsc();
    __asm__ volatile("" ::"r"(p));
    return cyc(t0, t1, (double)steps);
}

#endif
