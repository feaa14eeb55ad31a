/* A dynamically linked program (built without -static): ld.so from the root, libc through mmap, stdio, fork,
   a thread and rdtsc-heavy loader timing, against native. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/wait.h>
#include <unistd.h>

static void *worker(void *arg) {
  return (void *)(long)(strlen((const char *)arg) * 2);
}

int main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IONBF, 0);
  printf("argc=%d argv0-base=%s\n", argc, strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0]);
  printf("AT_BASE set: %d, AT_ENTRY set: %d\n", getauxval(AT_BASE) != 0, getauxval(AT_ENTRY) != 0);
  char *buf = malloc(100000);
  memset(buf, 'x', 99999);
  buf[99999] = 0;
  printf("malloc'd string of %zu\n", strlen(buf));
  pthread_t th;
  void *res;
  pthread_create(&th, NULL, worker, "dynamic");
  pthread_join(th, &res);
  printf("thread returned %ld\n", (long)res);
  pid_t pid = fork();
  if (pid == 0) {
    printf("child sees the same libc: %d\n", getauxval(AT_BASE) != 0);
    exit(5);
  }
  int st;
  waitpid(pid, &st, 0);
  printf("child exit %d\n", WEXITSTATUS(st));
  return 0;
}
