/* pidfds: pidfd_open, CLONE_PIDFD through clone3, poll on exit, waitid(P_PIDFD), pidfd_send_signal, pidfd_getfd. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef P_PIDFD
#define P_PIDFD 3
#endif
#define ERR(x) ((x) < 0 ? strerror(errno) : "ok")

static int pidfd_open(pid_t pid, unsigned flags) { return syscall(SYS_pidfd_open, pid, flags); }

int main(void) {
  setvbuf(stdout, NULL, _IONBF, 0);
  int pipefd[2];
  pipe(pipefd);
  pid_t pid = fork();
  if (pid == 0) { char c; read(pipefd[0], &c, 1); _exit(7); }
  int pfd = pidfd_open(pid, 0);
  printf("pidfd_open: %d cloexec=%d\n", pfd > 2, fcntl(pfd, F_GETFD) & FD_CLOEXEC);
  struct pollfd p = {pfd, POLLIN};
  printf("poll while running: %d\n", poll(&p, 1, 0));
  printf("getfd of child's pipe: ");
  int got = syscall(SYS_pidfd_getfd, pfd, pipefd[1], 0);
  printf("%s\n", got >= 0 ? "ok" : strerror(errno));
  write(got, "x", 1);
  int pr = poll(&p, 1, 2000);
  printf("poll after exit: %d revents=%#x\n", pr, p.revents);
  siginfo_t si;
  memset(&si, 0, sizeof si);
  int wr = waitid(P_PIDFD, pfd, &si, WEXITED);
  printf("waitid P_PIDFD: %d code=%d status=%d pid-match=%d\n", wr, si.si_code, si.si_status, si.si_pid == pid);
  p.revents = 0;
  pr = poll(&p, 1, 0);
  printf("poll after reap: %d revents=%#x\n", pr, p.revents);
  printf("send_signal after reap: %s\n", ERR(syscall(SYS_pidfd_send_signal, pfd, SIGTERM, NULL, 0)));
  close(pfd);
  printf("pidfd_open bad: %s %s %s\n", ERR(pidfd_open(0, 0)), ERR(pidfd_open(999999, 0)), ERR(pidfd_open(getpid(), 1)));
  /* clone3 with CLONE_PIDFD */
  int cpfd = -1;
  struct clone_args args;
  memset(&args, 0, sizeof args);
  args.flags = CLONE_PIDFD;
  args.pidfd = (uintptr_t)&cpfd;
  args.exit_signal = SIGCHLD;
  pid_t c = syscall(SYS_clone3, &args, sizeof args);
  if (c == 0) { pause(); _exit(0); }
  printf("clone3 CLONE_PIDFD: child>0=%d pidfd>2=%d\n", c > 0, cpfd > 2);
  printf("send SIGKILL: %s\n", ERR(syscall(SYS_pidfd_send_signal, cpfd, SIGKILL, NULL, 0)));
  int st;
  waitpid(c, &st, 0);
  printf("child killed by %d\n", WTERMSIG(st));
  args.pidfd = 8;  /* a bad pointer */
  printf("clone3 bad pidfd pointer: %s\n", ERR(syscall(SYS_clone3, &args, sizeof args)));
  args.flags = CLONE_PIDFD | CLONE_THREAD | CLONE_SIGHAND | CLONE_VM;
  args.pidfd = (uintptr_t)&cpfd;
  printf("clone3 PIDFD|THREAD: %s\n", ERR(syscall(SYS_clone3, &args, sizeof args)));
  printf("send_signal on non-pidfd: %s\n", ERR(syscall(SYS_pidfd_send_signal, 0, SIGTERM, NULL, 0)));
  return 0;
}
