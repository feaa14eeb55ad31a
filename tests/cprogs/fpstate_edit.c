/* fpstate: a handler reads the interrupted x87/SSE state from its frame's fpstate (struct _fpstate_32: the fsave
   header, then the fxsave image), changes ST(0) and MXCSR there, and sigreturn hands the changes back (x87 from the fsave header, SSE
   from the fxsave image, as Linux restores an ia32 frame). */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <ucontext.h>
#include <unistd.h>
static void handler(int sig, siginfo_t *si, void *ctx) {
    (void)sig; (void)si;
    ucontext_t *uc = ctx;
    unsigned char *fp = (unsigned char *)uc->uc_mcontext.fpregs;
    unsigned short cw = *(unsigned short *)fp, magic = *(unsigned short *)(fp + 110);
    unsigned char *fx = fp + 112;
    unsigned int mx = *(unsigned int *)(fx + 24);
    double st0;
    long double v; memcpy(&v, fx + 32, 10); st0 = (double)v;
    printf("handler: cw %#x magic %#x mxcsr %#x st0 %g\n", cw, magic, mx, st0);
    unsigned short hcw; __asm__ volatile("fnstcw %0" : "=m"(hcw));
    unsigned int hmx; __asm__ volatile("stmxcsr %0" : "=m"(hmx));
    printf("handler's own state: cw %#x mxcsr %#x\n", hcw, hmx);
    long double nv = 2.5L; memcpy(fx + 32, &nv, 10);  /* the fxsave copy: ignored for an ia32 frame */
    long double hv = 3.75L; memcpy(fp + 28, &hv, 10);  /* the fsave header's ST(0): what comes back */
    *(unsigned int *)(fx + 24) = mx | 0x6000;  /* round toward zero */
}
int main(void) {
    setvbuf(stdout, 0, _IONBF, 0);
    struct sigaction sa; memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = handler; sa.sa_flags = SA_SIGINFO;
    sigaction(SIGUSR1, &sa, 0);
    double in = 7.25, out = 0;
    int pid = getpid();
    unsigned short cw = 0x27f;  /* 53-bit precision, so the handler sees a changed control word */
    __asm__ volatile("fldcw %0" :: "m"(cw));
    __asm__ volatile("fldl %1\n\t"
                     "movl $37, %%eax\n\t"
                     "int $0x80\n\t"
                     "fstpl %0"
                     : "=m"(out) : "m"(in), "b"(pid), "c"(SIGUSR1) : "eax", "memory");
    unsigned int mx; __asm__ volatile("stmxcsr %0" : "=m"(mx));
    printf("after sigreturn: st0 was %g, mxcsr %#x\n", out, mx);
    return 0;
}
