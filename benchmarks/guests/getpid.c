/* getpid.c ITERS - syscall round trip: ITERS x syscall(SYS_getpid) (a real trap each time; glibc caches
 * nothing for syscall()). */
#include <sys/syscall.h>
#include "bench.h"

int main(int argc, char **argv)
{
    long iters = arg_long(argc, argv, 1, 100000), i;
    long sum = 0;
    long long t0 = now_ns();
    for (i = 0; i < iters; i++)
        sum += syscall(SYS_getpid);
    long long t1 = now_ns();
    if (sum != iters * (long)getpid())
        fail("getpid");
    result("name=getpid iters=%ld ns=%lld", iters, t1 - t0);
    return 0;
}
