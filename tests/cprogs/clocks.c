/* clocks.c - time follows the host's clock: a nanosleep takes its time on CLOCK_MONOTONIC, times() ticks move
 * with it, a sleep interrupted by a signal reports the time left, CPU-time clocks count the process's own work
 * (less than the wall time it slept), and an interval timer fires on schedule. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <sys/times.h>
#include <time.h>
#include <unistd.h>

static double now(clockid_t c)
{
    struct timespec ts;
    clock_gettime(c, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static volatile int alarms;
static void on_alrm(int sig) { (void)sig; alarms++; }

int main(void)
{
    double t0 = now(CLOCK_MONOTONIC), c0 = now(CLOCK_PROCESS_CPUTIME_ID);
    struct tms tb;
    clock_t k0 = times(&tb);
    struct timespec req = {0, 300 * 1000 * 1000}, rem;
    int r = nanosleep(&req, NULL);
    double slept = now(CLOCK_MONOTONIC) - t0;
    clock_t k1 = times(&tb);
    printf("nanosleep %d, slept at least 0.3 s: %s, under 2 s: %s\n", r, slept >= 0.3 ? "yes" : "no",
           slept < 2 ? "yes" : "no");
    printf("times() moved by 25..200 ticks: %s\n", k1 - k0 >= 25 && k1 - k0 <= 200 ? "yes" : "no");
    double cpu = now(CLOCK_PROCESS_CPUTIME_ID) - c0;
    printf("cpu time while sleeping under 0.2 s: %s\n", cpu >= 0 && cpu < 0.2 ? "yes" : "no");
    volatile unsigned x = 1;
    double c1 = now(CLOCK_THREAD_CPUTIME_ID);
    for (int i = 0; i < 2000000; i++) x = x * 1103515245u + 12345u;
    printf("busy loop uses thread cpu time: %s\n", now(CLOCK_THREAD_CPUTIME_ID) > c1 ? "yes" : "no");

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_alrm;
    sigaction(SIGALRM, &sa, NULL);
    struct itimerval it = {{0, 0}, {0, 200 * 1000}};
    setitimer(ITIMER_REAL, &it, NULL);
    req.tv_sec = 3;
    req.tv_nsec = 0;
    t0 = now(CLOCK_MONOTONIC);
    r = nanosleep(&req, &rem);
    int e = errno;
    slept = now(CLOCK_MONOTONIC) - t0;
    printf("interrupted: %d %s, alarms %d, after 0.2..1.5 s: %s, rem 1.5..2.9 s: %s\n", r, strerror(e), alarms,
           slept >= 0.2 && slept < 1.5 ? "yes" : "no",
           rem.tv_sec + rem.tv_nsec / 1e9 > 1.5 && rem.tv_sec + rem.tv_nsec / 1e9 < 2.9 ? "yes" : "no");

    it.it_interval.tv_usec = it.it_value.tv_usec = 100 * 1000;
    setitimer(ITIMER_REAL, &it, NULL);
    t0 = now(CLOCK_MONOTONIC);
    while (alarms < 4)
        pause();
    slept = now(CLOCK_MONOTONIC) - t0;
    printf("three 100 ms periods took 0.3..1.5 s: %s\n", slept >= 0.29 && slept < 1.5 ? "yes" : "no");
    time_t a = time(NULL), b = now(CLOCK_REALTIME);
    printf("time() agrees with CLOCK_REALTIME: %s\n", b - a <= 1 ? "yes" : "no");
    return 0;
}
