/* getrusage_times: RUSAGE_SELF, RUSAGE_CHILDREN (a reaped child's time) and RUSAGE_THREAD report CPU time, an
   unknown who is EINVAL; times come from the cycle model, so only whether they are positive is printed. */
#include <stdio.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>
#include <errno.h>
int main(void){ struct rusage r; volatile long x = 0; for (long i = 0; i < 20000000; i++) x += i;
 printf("self %d utime>0 %d\n", getrusage(RUSAGE_SELF, &r), r.ru_utime.tv_sec > 0 || r.ru_utime.tv_usec > 0);
 pid_t c = fork(); if (!c) { for (long i = 0; i < 20000000; i++) x += i; _exit(0); } waitpid(c, 0, 0);
 printf("children %d utime>0 %d\n", getrusage(RUSAGE_CHILDREN, &r), r.ru_utime.tv_sec > 0 || r.ru_utime.tv_usec > 0);
 printf("thread %d\n", getrusage(1, &r)); int rv = getrusage(-2, &r); printf("bad who %d %d\n", rv, errno);
 return 0; }
