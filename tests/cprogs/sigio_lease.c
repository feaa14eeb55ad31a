/* Signal-driven I/O (O_ASYNC, F_SETOWN(_EX), F_SETSIG) and leases (F_SETLEASE/F_GETLEASE, breaking by another
   process's open, downgrade), truncate(2), F_CREATED_QUERY, against native. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef F_CREATED_QUERY
#define F_CREATED_QUERY 1028
#endif
#define ERR(x) ((x) < 0 ? strerror(errno) : "ok")

static void sigio_on_pipe(void) {
  int p[2];
  pipe(p);
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGIO);
  sigaddset(&set, SIGUSR1);
  sigprocmask(SIG_BLOCK, &set, NULL);
  printf("getown default %d getsig default %d\n", fcntl(p[0], F_GETOWN), fcntl(p[0], F_GETSIG));
  fcntl(p[0], F_SETOWN, getpid());
  fcntl(p[0], F_SETFL, O_ASYNC | O_NONBLOCK);
  struct f_owner_ex ex;
  fcntl(p[0], F_GETOWN_EX, &ex);
  printf("owner_ex type %d pid-is-me %d\n", ex.type, ex.pid == getpid());
  if (fork() == 0) { write(p[1], "a", 1); _exit(0); }
  wait(NULL);
  struct timespec to = {2, 0};
  siginfo_t si;
  int s = sigtimedwait(&set, &si, &to);
  printf("default signal: %s\n", s == SIGIO ? "SIGIO" : "other");
  char c;
  read(p[0], &c, 1);
  fcntl(p[0], F_SETSIG, SIGUSR1);
  printf("getsig %d\n", fcntl(p[0], F_GETSIG));
  write(p[1], "b", 1);
  s = sigtimedwait(&set, &si, &to);
  printf("setsig: sig=%s code=%d fd-match=%d band=%#lx\n", s == SIGUSR1 ? "SIGUSR1" : "other", si.si_code,
         si.si_fd == p[0], (long)si.si_band);
  printf("setown bad pid: %s\n", ERR(fcntl(p[0], F_SETOWN, 999999)));
  ex.type = 7;
  printf("setown_ex bad type: %s\n", ERR(fcntl(p[0], F_SETOWN_EX, &ex)));
  printf("setsig bad: %s\n", ERR(fcntl(p[0], F_SETSIG, 200)));
  fcntl(p[0], F_SETOWN, -getpgrp());
  printf("getown pgrp-negated %d\n", fcntl(p[0], F_GETOWN) == -getpgrp());
  close(p[0]); close(p[1]);
}

static void leases(void) {
  const char *f = "lease-test.tmp";
  unlink(f);
  int fd = open(f, O_CREAT | O_RDWR, 0644);
  printf("created query: %d\n", fcntl(fd, F_CREATED_QUERY, 0));
  printf("read lease on rdwr fd: %s\n", ERR(fcntl(fd, F_SETLEASE, F_RDLCK)));
  printf("write lease sole opener: %s getlease=%d\n", ERR(fcntl(fd, F_SETLEASE, F_WRLCK)), fcntl(fd, F_GETLEASE));
  printf("unlock: %s, unlock again: %s\n", ERR(fcntl(fd, F_SETLEASE, F_UNLCK)), ERR(fcntl(fd, F_SETLEASE, F_UNLCK)));
  close(fd);
  fd = open(f, O_RDONLY);
  printf("created query reopen: %d\n", fcntl(fd, F_CREATED_QUERY, 0));
  int fd2 = open(f, O_RDONLY);
  printf("write lease with another opener: %s\n", ERR(fcntl(fd, F_SETLEASE, F_WRLCK)));
  close(fd2);
  printf("write lease: %s\n", ERR(fcntl(fd, F_SETLEASE, F_WRLCK)));
  printf("bad type: %s\n", ERR(fcntl(fd, F_SETLEASE, 9)));
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGIO);
  sigprocmask(SIG_BLOCK, &set, NULL);
  int sync[2];
  pipe(sync);
  pid_t pid = fork();
  if (pid == 0) {
    int n = open(f, O_RDONLY | O_NONBLOCK);
    printf("child nonblocking open: %s\n", n < 0 ? strerror(errno) : "opened");
    write(sync[1], "s", 1);
    n = open(f, O_RDONLY);
    printf("child open after downgrade: %s\n", n < 0 ? strerror(errno) : "opened");
    _exit(0);
  }
  struct timespec to = {5, 0};
  int s = sigtimedwait(&set, NULL, &to);
  char c;
  read(sync[0], &c, 1);  /* the child has printed */
  printf("holder got %s, getlease while breaking=%d\n", s == SIGIO ? "SIGIO" : "nothing", fcntl(fd, F_GETLEASE));
  s = sigtimedwait(&set, NULL, &(struct timespec){0, 300000000});
  printf("downgrade: %s\n", ERR(fcntl(fd, F_SETLEASE, F_RDLCK)));
  waitpid(pid, NULL, 0);
  printf("getlease after: %d\n", fcntl(fd, F_GETLEASE));
  pid = fork();
  if (pid == 0) {
    int r = truncate(f, 0);
    printf("child truncate: %s\n", ERR(r));
    _exit(0);
  }
  s = sigtimedwait(&set, NULL, &to);
  int unlocked = fcntl(fd, F_SETLEASE, F_UNLCK);
  const char *how = ERR(unlocked);
  waitpid(pid, NULL, 0); /* the unlock let the child's truncate finish: its line comes first, natively too */
  printf("holder got %s before truncate; unlock %s\n", s == SIGIO ? "SIGIO" : "nothing", how);
  close(fd);
  printf("truncate dir: %s, missing: %s, negative: %s\n", ERR(truncate("/", 0)), ERR(truncate("no-such-file", 0)),
         ERR(truncate(f, -1)));
  int p[2];
  pipe(p);
  printf("lease on pipe: %s\n", ERR(fcntl(p[0], F_SETLEASE, F_RDLCK)));
  unlink(f);
}

int main(void) {
  setvbuf(stdout, NULL, _IONBF, 0);
  char dir[] = "/tmp/emu-lease-XXXXXX";
  if (!mkdtemp(dir) || chdir(dir) < 0) return 1;
  sigio_on_pipe();
  leases();
  chdir("/");
  rmdir(dir);
  return 0;
}
