/* thread_exec.c - a second thread calls execve: every other thread dies, and the new program keeps the
 * process's pid (the exec'ing thread takes over the leader's id, as Linux's de_thread does). */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static char pidbuf[32];

static void *run(void *arg)
{
    (void)arg;
    char *argv[] = {"thread_exec", "after", pidbuf, NULL};
    execv("/proc/self/exe", argv);
    printf("FAIL: execv\n");
    exit(1);
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "after") == 0) {
        printf("after exec: same pid %d, tid == pid %d\n", getpid() == atoi(argv[2]),
               (int)gettid() == (int)getpid());
        return 4;
    }
    pid_t p = fork();
    if (p == 0) {
        snprintf(pidbuf, sizeof pidbuf, "%d", (int)getpid());
        pthread_t th;
        pthread_create(&th, NULL, run, NULL);
        for (;;) pause();
    }
    int st;
    waitpid(p, &st, 0);
    printf("parent: child %s with %d\n", WIFEXITED(st) ? "exited" : "was killed", WEXITSTATUS(st));
    return 0;
}
