/* fpsig.c - a signal handler that uses SSE (built with -msse2 -mfpmath=sse) must not disturb the interrupted
 * code's floating point: the kernel restores the FPU/SSE state at sigreturn. */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>

static volatile int ticks;
static volatile double sink;

static void on_alrm(int sig)
{
    (void)sig;
    double a = 1.5, b = 3.25;
    for (int i = 0; i < 50; i++) { a = a * 1.0001 + b / 7.0; b = b - a * 0.5; }
    sink = a + b;
    ticks++;
}

int main(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_alrm;
    sa.sa_flags = SA_RESTART;
    sigaction(SIGALRM, &sa, NULL);
    struct itimerval it = { {0, 200}, {0, 200} };
    setitimer(ITIMER_REAL, &it, NULL);
    double sum = 0.0, x = 0.0;
    long double ld = 0.0L;
    for (long i = 1; i <= 300000 || ticks < 3; i++) {
        x += 0.5;
        sum += x * 0.25;
        ld += (long double)i * 0.125L;
        if (i == 300000) { double want = 0.125 * (double)i * (i + 1) / 2; 
            printf("sum %s, long double %s\n", sum == want ? "ok" : "WRONG", ld == 0.125L * (long double)i * (i + 1) / 2 ? "ok" : "WRONG"); }
    }
    it.it_value.tv_usec = it.it_interval.tv_usec = 0;
    setitimer(ITIMER_REAL, &it, NULL);
    printf("handler ran: %s\n", ticks >= 3 ? "yes" : "no");
    return 0;
}
