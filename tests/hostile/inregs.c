/* An in from user mode, with instructions after it in the same translated block: the SIGSEGV's frame must show the
 * registers as they were before the in (Unicorn runs the rest of the block before it stops). */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <ucontext.h>
#include <unistd.h>

static void h(int sig, siginfo_t *si, void *uc_) {
    ucontext_t *uc = uc_;
    greg_t *g = uc->uc_mcontext.gregs;
    (void)si;
    printf("sig %d eax %lx ebx %lx ecx %lx edx %lx esi %lx edi %lx\n", sig, (long)g[REG_EAX], (long)g[REG_EBX],
           (long)g[REG_ECX], (long)g[REG_EDX], (long)g[REG_ESI], (long)g[REG_EDI]);
    fflush(stdout);
    _exit(0);
}

int main(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = h;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGSEGV, &sa, 0);
    __asm__ volatile("mov $0x11111111, %%eax; mov $0x22222222, %%ebx; mov $0x80, %%edx; mov $0x44444444, %%esi\n"
                     "mov $0x55555555, %%edi; mov $3, %%ecx\n"
                     "inb %%dx, %%al; inc %%ebx; inc %%esi; inc %%edi; add $5, %%ecx; push %%eax; push %%eax"
                     ::: "eax", "ebx", "ecx", "edx", "esi", "edi", "memory");
    return 1;
}
