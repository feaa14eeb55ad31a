/* bench.h - shared helpers of the benchmark guests: a monotonic clock, argument parsing and the one
 * machine-readable RESULT line every guest prints (written with write(2), so no stdio buffer is shared with a
 * forked child). */
#ifndef BENCH_H
#define BENCH_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define PAGE 4096

static inline long long now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static inline long arg_long(int argc, char **argv, int i, long dflt)
{
    return i < argc ? strtol(argv[i], NULL, 0) : dflt;
}

static void result(const char *fmt, ...)
{
    char buf[512];
    int n = snprintf(buf, sizeof buf, "RESULT ");
    va_list ap;
    va_start(ap, fmt);
    n += vsnprintf(buf + n, sizeof buf - n - 1, fmt, ap);
    va_end(ap);
    buf[n++] = '\n';
    if (write(1, buf, n) != n)
        _exit(3);
}

static __attribute__((unused)) void fail(const char *what)
{
    char buf[256];
    int n = snprintf(buf, sizeof buf, "FAIL %s\n", what);
    if (write(2, buf, n) < 0)
        _exit(4);
    _exit(2);
}

#endif
