#define _GNU_SOURCE
#include <errno.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <x86intrin.h>
#define R(x) do { long r = (x); printf("%-40s %ld %s\n", #x, r, r < 0 ? strerror(errno) : ""); } while (0)
int main(void) {
  setvbuf(stdout, NULL, _IONBF, 0);
  R(prctl(PR_GET_SECCOMP));
  R(prctl(PR_CAPBSET_READ, 5));
  R(prctl(PR_CAPBSET_READ, 99));
  R(prctl(PR_SET_TIMING, 1));
  R(prctl(PR_GET_TIMING));
  R(prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, 5, 0, 0));
  R(prctl(PR_CAP_AMBIENT, 99, 5, 0, 0));
  R(prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0));
  R(prctl(PR_GET_THP_DISABLE, 0, 0, 0, 0));
  R(prctl(PR_GET_SECUREBITS));
  pid_t p = fork();
  if (p == 0) {
    prctl(PR_CAPBSET_DROP, 5);
    printf("child bset read 5 after drop: %d\n", prctl(PR_CAPBSET_READ, 5));
    int tsc;
    prctl(PR_SET_TSC, PR_TSC_SIGSEGV);
    prctl(PR_GET_TSC, &tsc);
    printf("tsc mode %d\n", tsc);
    unsigned long long v = __rdtsc();
    printf("rdtsc survived %d\n", v > 0);
    _exit(0);
  }
  int st;
  waitpid(p, &st, 0);
  printf("child: signaled=%d sig=%d\n", WIFSIGNALED(st), WIFSIGNALED(st) ? WTERMSIG(st) : 0);
  printf("parent bset 5: %d\n", prctl(PR_CAPBSET_READ, 5));
  p = fork();
  if (p == 0) {
    prctl(PR_SET_SECCOMP, SECCOMP_MODE_STRICT);
    write(1, "strict: write ok\n", 17);
    syscall(SYS_getpid);
    write(1, "not reached\n", 12);
    syscall(SYS_exit, 0);
  }
  waitpid(p, &st, 0);
  printf("strict child: signaled=%d sig=%d\n", WIFSIGNALED(st), WIFSIGNALED(st) ? WTERMSIG(st) : 0);
  return 0;
}
