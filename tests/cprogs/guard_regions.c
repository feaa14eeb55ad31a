/* guard_regions: MADV_GUARD_INSTALL makes a range fault (a child touching it dies of SIGSEGV, guards are
   inherited), MADV_GUARD_REMOVE gives it back as fresh zero pages. */
#include <stdio.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>
int main(void){ char *p = mmap(0, 8192, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0); p[0] = 1;
 printf("install %d\n", madvise(p, 4096, 102));
 pid_t c = fork(); if (!c) { p[0] = 2; _exit(0); } int st; waitpid(c, &st, 0); printf("child signal %d\n", WIFSIGNALED(st) ? WTERMSIG(st) : 0);
 printf("remove %d\n", madvise(p, 4096, 103)); c = fork(); if (!c) { p[0] = 2; _exit(3); } waitpid(c, &st, 0); printf("child status %d, value %d\n", WEXITSTATUS(st), p[0]); return 0; }
