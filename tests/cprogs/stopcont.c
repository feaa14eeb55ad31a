/* stopcont.c - SIGSTOP / SIGCONT: waitpid(WUNTRACED) reports the stop, WCONTINUED the continue, SIGCHLD
 * carries CLD_STOPPED / CLD_CONTINUED, and a stopped child can still be killed. */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile sig_atomic_t codes[8], ncodes;

static void on_chld(int sig, siginfo_t *si, void *uc)
{
    (void)sig; (void)uc;
    if (ncodes < 8) codes[ncodes++] = si->si_code;
}

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_chld;
    sa.sa_flags = SA_SIGINFO | SA_RESTART;
    sigaction(SIGCHLD, &sa, NULL);
    int fds[2];
    pipe(fds);
    pid_t p = fork();
    if (p == 0) {
        char c;
        close(fds[1]);
        read(fds[0], &c, 1); /* returns after the parent has stopped and continued us */
        _exit(c);
    }
    close(fds[0]);
    int st;
    kill(p, SIGSTOP);
    waitpid(p, &st, WUNTRACED);
    printf("stopped: %d by %s\n", WIFSTOPPED(st), strsignal(WSTOPSIG(st)));
    kill(p, SIGCONT);
    waitpid(p, &st, WCONTINUED);
    printf("continued: %d\n", WIFCONTINUED(st));
    write(fds[1], "\x05", 1);
    waitpid(p, &st, 0);
    printf("exited: %d with %d\n", WIFEXITED(st), WEXITSTATUS(st));
    /* Only the first two: whether the exit's SIGCHLD is handled before this line races natively. */
    printf("SIGCHLD codes:");
    for (int i = 0; i < ncodes && i < 2; i++) printf(" %s", codes[i] == CLD_STOPPED ? "CLD_STOPPED" : codes[i] == CLD_CONTINUED ? "CLD_CONTINUED" : codes[i] == CLD_EXITED ? "CLD_EXITED" : "other");
    printf("\n");
    p = fork();
    if (p == 0) { for (;;) pause(); }
    kill(p, SIGSTOP);
    waitpid(p, &st, WUNTRACED);
    kill(p, SIGKILL);
    waitpid(p, &st, 0);
    printf("stopped child killed: %d by %s\n", WIFSIGNALED(st), strsignal(WTERMSIG(st)));
    return 0;
}
