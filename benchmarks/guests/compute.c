/* compute.c ITERS - CPU-bound loop: compute_kernel (compute_kernel.S, 17 + 15*ITERS instructions) over a
 * 64 KiB array that is written once before the timed section (so no page fault falls inside it). */
#include <stdint.h>
#include "bench.h"

uint32_t compute_kernel(uint32_t iters, uint32_t *arr);

static uint32_t arr[16384];

int main(int argc, char **argv)
{
    long iters = arg_long(argc, argv, 1, 1000000);
    memset(arr, 1, sizeof arr);
    long long t0 = now_ns();
    uint32_t acc = compute_kernel((uint32_t)iters, arr);
    long long t1 = now_ns();
    result("name=compute iters=%ld insns=%lld checksum=%u ns=%lld", iters, 17 + 15LL * iters, acc, t1 - t0);
    return 0;
}
