/* no_restorer: handlers installed without SA_RESTORER return through the kernel's sigreturn trampolines (the
   32-bit vDSO's natively), since the non-executable stack refuses the frame's own retcode. */
#include <stdio.h>
#include <signal.h>
#include <unistd.h>
#include <sys/syscall.h>
#include <string.h>
static volatile int got;
static void h(int s) { got = s; }
int main(void) {
    struct { void *h; unsigned long flags; void *restorer; unsigned long long mask; } ka;
    memset(&ka, 0, sizeof ka); ka.h = h; /* no SA_RESTORER: the kernel's own trampoline returns */
    syscall(SYS_rt_sigaction, SIGUSR1, &ka, 0, 8);
    syscall(SYS_kill, getpid(), SIGUSR1);
    printf("rt handler ran and returned: %d\n", got);
    struct { void *h; unsigned long mask; unsigned long flags; void *restorer; } oa;
    memset(&oa, 0, sizeof oa); oa.h = h;
    syscall(SYS_sigaction, SIGUSR2, &oa, 0);
    syscall(SYS_kill, getpid(), SIGUSR2);
    printf("old handler ran and returned: %d\n", got);
    return 0;
}
