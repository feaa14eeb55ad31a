/* shared mappings: MAP_SHARED|MAP_ANONYMOUS pages untouched before fork are shared after it; file MAP_SHARED
   pages written by a child are seen by the parent's mapping, by read() and in the file after munmap/msync;
   write() is seen by a mapping; MAP_PRIVATE file pages are copies on write; MADV_WIPEONFORK/DONTFORK;
   MADV_DONTNEED; SIGBUS past the end of the file. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>
static sigjmp_buf jb;
static void on_bus(int sig, siginfo_t *si, void *uc) { (void)uc; printf("signal %d code %d\n", sig, si->si_code); siglongjmp(jb, 1); }
static void child_then_wait(void (*fn)(void *), void *arg) {
    pid_t p = fork();
    if (p == 0) { fn(arg); _exit(0); }
    int st; waitpid(p, &st, 0);
}
static void write42(void *p) { ((int *)p)[0] = 42; ((int *)p)[1024] = 43; }
static void writefile(void *p) { memcpy(p, "child wrote this", 16); }
static void readwipe(void *p) { printf("child sees wipeonfork page: %d\n", *(int *)p); }
int main(void) {
    setvbuf(stdout, 0, _IONBF, 0);
    int *a = mmap(0, 8192, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    child_then_wait(write42, a);
    printf("shared anon after child: %d %d\n", a[0], a[1024]);
    int *pr = mmap(0, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    child_then_wait(write42, pr);
    printf("private anon after child: %d\n", pr[0]);

    char name[] = "shmtestXXXXXX";
    int fd = mkstemp(name);
    char buf[8192]; memset(buf, 'a', sizeof buf);
    write(fd, buf, 6000);
    char *m = mmap(0, 8192, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    child_then_wait(writefile, m);
    printf("parent mapping: %.16s\n", m);
    char rd[17] = {0}; pread(fd, rd, 16, 0);
    printf("read(): %s\n", rd);
    pwrite(fd, "WRITE", 5, 100);
    printf("mapping after write(): %.5s\n", m + 100);
    msync(m, 8192, MS_SYNC);
    char *pm = mmap(0, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    printf("private file mapping: %.16s\n", pm);
    memcpy(pm, "private", 7);
    pread(fd, rd, 16, 0);
    printf("file after a private write: %s; private mapping %.16s; shared %.16s\n", rd, pm, m);
    munmap(m, 8192);
    int fd2 = open(name, O_RDONLY);
    pread(fd2, rd, 16, 0);
    printf("after munmap, through another open: %s\n", rd);
    struct sigaction sa; memset(&sa, 0, sizeof sa); sa.sa_sigaction = on_bus; sa.sa_flags = SA_SIGINFO;
    sigaction(SIGBUS, &sa, 0);
    char *big = mmap(0, 16384, PROT_READ, MAP_SHARED, fd2, 0);
    printf("last partial page tail: %d\n", big[6000]);
    if (sigsetjmp(jb, 1) == 0) printf("past the end: %d\n", big[8192]);
    unlink(name);

    int *w = mmap(0, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    *w = 7;
    printf("wipeonfork: %d\n", madvise(w, 4096, MADV_WIPEONFORK));
    child_then_wait(readwipe, w);
    printf("parent keeps: %d\n", *w);
    printf("wipeonfork on shared: %d\n", madvise(a, 4096, MADV_WIPEONFORK));
    *pr = 5;
    madvise(pr, 4096, MADV_DONTNEED);
    printf("private after DONTNEED: %d\n", *pr);
    a[0] = 9;
    madvise(a, 4096, MADV_DONTNEED);
    printf("shared after DONTNEED: %d\n", a[0]);
    unsigned char vec[4];
    int *r4 = mmap(0, 16384, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    r4[0] = 1; r4[2048] = 1;
    mincore(r4, 16384, vec);
    printf("mincore: %d %d %d %d\n", vec[0] & 1, vec[1] & 1, vec[2] & 1, vec[3] & 1);
    char *g = mremap(r4, 16384, 65536, MREMAP_MAYMOVE);
    printf("mremap keeps contents: %d %d\n", ((int *)g)[0], ((int *)g)[2048]);
    printf("mlock: %d munlock: %d\n", mlock(g, 8192), munlock(g, 8192));
    return 0;
}
