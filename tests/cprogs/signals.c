/* signals.c - signal delivery checks: SIGCHLD handler with siginfo, a child killed by SIGTERM,
 * SIGSEGV caught with si_addr and recovered with siglongjmp, SIGALRM + pause, sigsuspend,
 * SA_RESTART vs EINTR on a blocking wait, sigaltstack, blocked signals pending then delivered. */
#define _GNU_SOURCE
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile sig_atomic_t chld_count, last_status, last_code, alrm, usr1, on_alt;
static sigjmp_buf jb;
static volatile void *fault_addr;
static char altstack[65536];

static void on_chld(int sig, siginfo_t *si, void *uc) { (void)sig; (void)uc; chld_count++; last_code = si->si_code; last_status = si->si_status; }
static void on_segv(int sig, siginfo_t *si, void *uc) { (void)sig; (void)uc; fault_addr = si->si_addr; siglongjmp(jb, 1); }
static void on_alrm(int sig) { (void)sig; alrm++; }
static void on_usr1(int sig) { (void)sig; int x; usr1++; on_alt = ((char *)&x >= altstack && (char *)&x < altstack + sizeof altstack); }

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_chld;
    sa.sa_flags = SA_SIGINFO | SA_RESTART;
    sigaction(SIGCHLD, &sa, NULL);

    pid_t p = fork();
    if (p == 0) _exit(7);
    int st;
    while (waitpid(p, &st, 0) < 0 && errno == EINTR) {}
    printf("child exit %d, SIGCHLD handled %d time(s), si_code CLD_EXITED=%d, si_status %d\n",
           WEXITSTATUS(st), chld_count, last_code == CLD_EXITED, last_status);

    p = fork();
    if (p == 0) { for (;;) pause(); }
    kill(p, SIGTERM);
    while (waitpid(p, &st, 0) < 0 && errno == EINTR) {}
    printf("killed child: signaled %d by %s\n", WIFSIGNALED(st), strsignal(WTERMSIG(st)));

    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_segv;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGSEGV, &sa, NULL);
    if (sigsetjmp(jb, 1) == 0) {
        *(volatile int *)0x1234 = 1;
        printf("FAIL: no SIGSEGV\n");
        return 1;
    }
    printf("SIGSEGV caught at si_addr %p\n", (void *)fault_addr);

    signal(SIGALRM, on_alrm);
    alarm(1);
    pause();
    printf("pause returned after SIGALRM (count %d)\n", alrm);

    sigset_t block, old;
    sigemptyset(&block);
    sigaddset(&block, SIGUSR1);
    sigprocmask(SIG_BLOCK, &block, &old);
    raise(SIGUSR1);
    sigset_t pend;
    sigpending(&pend);
    printf("SIGUSR1 pending while blocked: %d, delivered: %d\n", sigismember(&pend, SIGUSR1), usr1);
    stack_t ss = { .ss_sp = altstack, .ss_size = sizeof altstack, .ss_flags = 0 };
    sigaltstack(&ss, NULL);
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_usr1;
    sa.sa_flags = SA_ONSTACK;
    sigaction(SIGUSR1, &sa, NULL);
    sigsuspend(&old);
    printf("sigsuspend returned: SIGUSR1 delivered %d, ran on the alternate stack %d\n", usr1, on_alt);
    sigprocmask(SIG_SETMASK, &old, NULL);

    /* Without SA_RESTART a blocking wait is interrupted: EINTR. */
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_alrm;
    sigaction(SIGALRM, &sa, NULL);
    p = fork();
    if (p == 0) { for (;;) pause(); }
    alarm(1);
    int r = waitpid(p, &st, 0);
    printf("waitpid interrupted: %d errno EINTR %d\n", r, errno == EINTR);
    kill(p, SIGKILL);
    waitpid(p, &st, 0);
    printf("second child killed by %s\n", strsignal(WTERMSIG(st)));
    return 0;
}
