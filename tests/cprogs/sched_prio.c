/* sched_prio.c - nice values, scheduling policies and personality as the kernel keeps them: getpriority's
 * libc value, setpriority and nice (raising for root, the child inherits), policies and their priority
 * ranges, sched_rr_get_interval, personality, PR_SET_NO_NEW_PRIVS, sched_getaffinity's one CPU. */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    errno = 0;
    printf("getpriority: %d errno %d\n", getpriority(PRIO_PROCESS, 0), errno);
    printf("setpriority 5: %d, now %d\n", setpriority(PRIO_PROCESS, 0, 5), getpriority(PRIO_PROCESS, 0));
    printf("nice(3): %d, now %d\n", nice(3), getpriority(PRIO_PROCESS, 0));
    printf("setpriority 100 clamps: %d, now %d\n", setpriority(PRIO_PROCESS, 0, 100), getpriority(PRIO_PROCESS, 0));
    pid_t c = fork();
    if (c == 0) {
        printf("child inherits: %d\n", getpriority(PRIO_PROCESS, 0));
        _exit(0);
    }
    waitpid(c, NULL, 0);
    printf("root lowers it again: %d, now %d\n", setpriority(PRIO_PROCESS, 0, 0), getpriority(PRIO_PROCESS, 0));
    int r = setpriority(7, 0, 0);
    printf("bad which: %d %s\n", r, strerror(errno));
    printf("policy %d, max FIFO %d min RR %d max OTHER %d\n", sched_getscheduler(0), sched_get_priority_max(SCHED_FIFO),
           sched_get_priority_min(SCHED_RR), sched_get_priority_max(SCHED_OTHER));
    struct sched_param p = {.sched_priority = 10};
    r = sched_setscheduler(0, SCHED_OTHER, &p);
    printf("SCHED_OTHER with priority 10: %d %s\n", r, strerror(errno));
    p.sched_priority = 0;
    printf("SCHED_BATCH: %d, policy now %d\n", sched_setscheduler(0, SCHED_BATCH, &p), sched_getscheduler(0));
    sched_getparam(0, &p);
    printf("param %d\n", p.sched_priority);
    struct timespec ts;
    printf("rr interval: %d\n", sched_rr_get_interval(0, &ts));
    printf("personality: %#x, set ADDR_NO_RANDOMIZE: %#x, now %#x\n", personality(0xffffffff),
           personality(ADDR_NO_RANDOMIZE), personality(0xffffffff));
    printf("no_new_privs: %d, set %d, now %d\n", prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0),
           prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0));
    return 0;
}
