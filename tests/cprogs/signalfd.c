/* signalfd.c - signals read from a signalfd: EAGAIN when none is pending, poll readiness, a queued SIGUSR1 and a child's SIGCHLD with its pid and status. */
#include <signal.h>
#include <stdio.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <poll.h>
#include <unistd.h>
#include <errno.h>
#include <string.h>
int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    sigset_t m;
    sigemptyset(&m);
    sigaddset(&m, SIGUSR1);
    sigaddset(&m, SIGCHLD);
    sigprocmask(SIG_BLOCK, &m, NULL);
    int fd = signalfd(-1, &m, SFD_NONBLOCK);
    struct signalfd_siginfo si;
    int r = read(fd, &si, sizeof si);
    printf("empty: %d %s\n", r, strerror(errno));
    kill(getpid(), SIGUSR1);
    struct pollfd p = {fd, POLLIN, 0};
    printf("poll %d\n", poll(&p, 1, 0));
    r = read(fd, &si, sizeof si);
    printf("read %d signo %u code %d pid ok %d\n", r, si.ssi_signo, si.ssi_code, si.ssi_pid == (unsigned)getpid());
    pid_t c = fork();
    if (c == 0) { usleep(30000); _exit(3); }
    p.revents = 0;
    printf("poll for SIGCHLD %d\n", poll(&p, 1, 2000));
    r = read(fd, &si, sizeof si);
    printf("read %d signo %u status %d pid ok %d\n", r, si.ssi_signo, si.ssi_status, si.ssi_pid == (unsigned)c);
    return 0;
}
