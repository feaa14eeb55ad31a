/* sigchld_pipe.c - a SIGCHLD handler counts children as they end; three children exit with known codes,
 * one is killed with SIGTERM, and one writes a message the parent reads through a pipe. Also checks
 * that writing to a pipe with no reader fails with EPIPE (SIGPIPE ignored). */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile sig_atomic_t reaped;

static void on_chld(int sig)
{
    (void)sig;
    int saved = errno;
    while (waitpid(-1, NULL, WNOHANG) > 0)
        reaped++;
    errno = saved;
}

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    int fds[2];
    if (pipe(fds) < 0) { printf("FAIL: pipe\n"); return 1; }
    pid_t writer = fork();
    if (writer == 0) {
        close(fds[0]);
        const char msg[] = "hello through the pipe, from the child\n";
        for (int i = 0; i < 3; i++)
            write(fds[1], msg, sizeof msg - 1);
        _exit(0);
    }
    close(fds[1]);
    char buf[256];
    size_t total = 0;
    ssize_t n;
    int lines = 0;
    while ((n = read(fds[0], buf, sizeof buf)) > 0) {
        for (ssize_t i = 0; i < n; i++) lines += buf[i] == '\n';
        total += (size_t)n;
    }
    printf("read %zu bytes, %d lines, then EOF (%zd)\n", total, lines, n);
    close(fds[0]);
    int st;
    waitpid(writer, &st, 0);

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_chld;
    sa.sa_flags = SA_RESTART | SA_NOCLDSTOP;
    sigaction(SIGCHLD, &sa, NULL);
    sigset_t block, old;
    sigemptyset(&block);
    sigaddset(&block, SIGCHLD);
    sigprocmask(SIG_BLOCK, &block, &old);
    for (int i = 1; i <= 3; i++)
        if (fork() == 0) _exit(i);
    pid_t victim = fork();
    if (victim == 0) { for (;;) pause(); }
    kill(victim, SIGTERM);
    while (reaped < 4)
        sigsuspend(&old);
    sigprocmask(SIG_SETMASK, &old, NULL);
    printf("SIGCHLD handler reaped %d children\n", (int)reaped);
    signal(SIGCHLD, SIG_DFL); /* the handler would race the waitpid below for the next child */

    signal(SIGPIPE, SIG_IGN);
    if (pipe(fds) < 0) { printf("FAIL: pipe 2\n"); return 1; }
    close(fds[0]);
    errno = 0;
    n = write(fds[1], "x", 1);
    printf("write to a pipe without readers: %zd, errno EPIPE %d\n", n, errno == EPIPE);

    signal(SIGPIPE, SIG_DFL);
    pid_t p = fork();
    if (p == 0) { write(fds[1], "x", 1); _exit(0); }
    waitpid(p, &st, 0);
    printf("child writing to a broken pipe: killed by %s\n", WIFSIGNALED(st) ? strsignal(WTERMSIG(st)) : "nothing");
    return 0;
}
