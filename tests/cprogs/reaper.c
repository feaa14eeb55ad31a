/* reaper.c - orphans go to the nearest PR_SET_CHILD_SUBREAPER ancestor (who can wait for them), or to init;
 * PR_SET_PDEATHSIG delivers its signal when the parent dies; timer slack reads back. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    int fds[2];
    if (pipe(fds)) return 1;
    pid_t top = getpid();
    prctl(PR_SET_CHILD_SUBREAPER, 1);
    int is;
    prctl(PR_GET_CHILD_SUBREAPER, &is);
    printf("subreaper: %d\n", is);
    pid_t mid = fork();
    if (mid == 0) {
        pid_t grandchild = fork();
        if (grandchild == 0) {
            prctl(PR_SET_PDEATHSIG, SIGUSR1);
            sigset_t set;
            sigemptyset(&set);
            sigaddset(&set, SIGUSR1);
            sigprocmask(SIG_BLOCK, &set, NULL);
            close(fds[0]);
            write(fds[1], "r", 1); /* ready */
            int sig;
            sigwait(&set, &sig); /* the parent's death sends it */
            printf("grandchild: got %s, new parent is the subreaper: %d\n", sig == SIGUSR1 ? "SIGUSR1" : "?",
                   getppid() == top);
            _exit(5);
        }
        char c;
        read(fds[0], &c, 1);
        _exit(0); /* orphan the grandchild */
    }
    close(fds[1]);
    int st;
    pid_t r;
    int n = 0;
    int got[4];
    while ((r = wait(&st)) > 0 && n < 4) /* the middle child, then the adopted grandchild */
        got[n++] = (r == mid) * 100 + WEXITSTATUS(st);
    for (int i = 0; i < n; i++) /* printed after both, so the grandchild's line always comes first */
        printf("reaped %s status %d\n", got[i] >= 100 ? "middle" : "grandchild", got[i] % 100);
    prctl(PR_SET_TIMERSLACK, 1000);
    printf("timer slack %d\n", prctl(PR_GET_TIMERSLACK));
    return 0;
}
