/* nx: a PROT_READ|PROT_WRITE page does not execute (SIGSEGV, SEGV_ACCERR); after mprotect(PROT_EXEC) it does;
   the stack does not execute; PROT_EXEC without PROT_READ still executes on x86. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
static sigjmp_buf jb;
static volatile int code;
static void on_segv(int sig, siginfo_t *si, void *uc) { (void)sig; (void)uc; code = si->si_code; siglongjmp(jb, 1); }
static int try_call(void *p) {
    code = 0;
    if (sigsetjmp(jb, 1) == 0) { ((int (*)(void))p)(); return 0; }
    return code;
}
int main(void) {
    struct sigaction sa; memset(&sa, 0, sizeof sa); sa.sa_sigaction = on_segv; sa.sa_flags = SA_SIGINFO;
    sigaction(SIGSEGV, &sa, 0);
    unsigned char *p = mmap(0, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    p[0] = 0xb8; p[1] = 42; p[2] = p[3] = p[4] = 0; p[5] = 0xc3;  /* mov $42, %eax; ret */
    printf("rw page: si_code %d\n", try_call(p));
    mprotect(p, 4096, PROT_READ | PROT_EXEC);
    printf("rx page: %d\n", try_call(p) == 0 ? ((int (*)(void))p)() : -1);
    mprotect(p, 4096, PROT_EXEC);
    printf("x-only page: si_code %d\n", try_call(p));
    mprotect(p, 4096, PROT_READ);
    printf("r page: si_code %d\n", try_call(p));
    unsigned char stackcode[8] = {0xb8, 7, 0, 0, 0, 0xc3};
    printf("stack: si_code %d\n", try_call(stackcode));
    return 0;
}
