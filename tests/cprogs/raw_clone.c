/* raw_clone.c - checks the clone syscall with various flags, via glibc clone()
 * and malloc'd stacks (children only touch globals; they make no libc calls
 * because they share the parent's TLS):
 *  (a) CLONE_VM|SIGCHLD: the child's write to a global is seen by the parent;
 *  (b) CLONE_VFORK|CLONE_VM|SIGCHLD: the parent resumes only after the child
 *      has exited (a global the child sets last is already set);
 *  (c) CLONE_PARENT_SETTID: *ptid == returned tid (with and without CLONE_VM);
 *  (d) exit signal 0 (a "clone child"): waitpid without __WCLONE gives ECHILD,
 *      waitpid with __WCLONE reaps it and gets its exit status;
 *  (e) exit signal SIGUSR1 with a handler installed: the parent gets SIGUSR1
 *      when the child exits; reaped with __WCLONE. Needs signal delivery to
 *      handlers, so it runs only as `raw_clone signals`. */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define STACK_SIZE (64 * 1024)

static volatile int global_a;
static volatile int vfork_done;
static volatile int got_usr1;

static void fail(const char *msg)
{
    printf("FAIL: %s (errno %s)\n", msg, strerror(errno));
    exit(1);
}

static void *stack_top(void)
{
    char *s = malloc(STACK_SIZE);
    if (!s)
        fail("malloc stack");
    return s + STACK_SIZE;
}

static int child_set_global(void *arg)
{
    global_a = (int)(long)arg;
    return 11;
}

static int child_vfork(void *arg)
{
    volatile unsigned long spin;
    int i;
    (void)arg;
    for (i = 0; i < 20; i++) {
        sched_yield();                 /* give the parent a chance to run */
        for (spin = 0; spin < 100000; spin++)
            ;
    }
    vfork_done = 1;
    return 12;
}

static int child_plain(void *arg)
{
    return (int)(long)arg;
}

static void on_usr1(int sig)
{
    (void)sig;
    got_usr1 = 1;
}

static int reap(pid_t pid, int flags)
{
    int st;
    if (waitpid(pid, &st, flags) != pid)
        fail("waitpid");
    if (!WIFEXITED(st))
        fail("child did not exit normally");
    return WEXITSTATUS(st);
}

int main(int argc, char **argv)
{
    pid_t pid, ptid;
    int r;

    /* (a) */
    pid = clone(child_set_global, stack_top(), CLONE_VM | SIGCHLD, (void *)1234L);
    if (pid < 0)
        fail("clone a");
    r = reap(pid, 0);
    printf("(a) CLONE_VM: global=%d exit=%d\n", global_a, r);
    if (global_a != 1234 || r != 11)
        fail("(a)");

    /* (b) */
    pid = clone(child_vfork, stack_top(), CLONE_VFORK | CLONE_VM | SIGCHLD, NULL);
    if (pid < 0)
        fail("clone b");
    printf("(b) CLONE_VFORK: done flag when parent resumed=%d\n", vfork_done);
    if (!vfork_done)
        fail("(b) parent resumed before the CLONE_VFORK child exited");
    r = reap(pid, 0);
    printf("(b) exit=%d\n", r);
    if (r != 12)
        fail("(b) exit");

    /* (c) */
    ptid = -1;
    pid = clone(child_plain, stack_top(), CLONE_VM | CLONE_PARENT_SETTID | SIGCHLD,
                (void *)3L, &ptid);
    if (pid < 0)
        fail("clone c");
    r = reap(pid, 0);
    printf("(c) CLONE_VM|CLONE_PARENT_SETTID: %s, exit=%d\n",
           ptid == pid ? "ptid matches" : "ptid MISMATCH", r);
    if (ptid != pid)
        fail("(c)");
    ptid = -1;
    pid = clone(child_plain, stack_top(), CLONE_PARENT_SETTID | SIGCHLD,
                (void *)4L, &ptid);
    if (pid < 0)
        fail("clone c2");
    r = reap(pid, 0);
    printf("(c) CLONE_PARENT_SETTID without CLONE_VM: %s, exit=%d\n",
           ptid == pid ? "ptid matches" : "ptid MISMATCH", r);
    if (ptid != pid)
        fail("(c2)");

    /* (d) */
    pid = clone(child_plain, stack_top(), CLONE_VM, (void *)21L);
    if (pid < 0)
        fail("clone d");
    {
        int st;
        pid_t w = waitpid(pid, &st, WNOHANG);
        if (w == -1 && errno == ECHILD)
            printf("(d) exit signal 0: waitpid without __WCLONE: ECHILD\n");
        else
            printf("(d) exit signal 0: waitpid without __WCLONE returned %s\n",
                   w == -1 ? strerror(errno) : w == 0 ? "0" : "the pid");
    }
    r = reap(pid, __WCLONE);
    printf("(d) waitpid with __WCLONE: exit=%d\n", r);
    if (r != 21)
        fail("(d)");

    /* (e) */
    if (argc > 1 && strcmp(argv[1], "signals") == 0) {
        signal(SIGUSR1, on_usr1);
        pid = clone(child_plain, stack_top(), CLONE_VM | SIGUSR1, (void *)22L);
        if (pid < 0)
            fail("clone e");
        r = reap(pid, __WCLONE);
        printf("(e) exit signal SIGUSR1: exit=%d got_usr1=%d\n", r, got_usr1);
        if (r != 22 || !got_usr1)
            fail("(e)");
    }

    printf("raw clone ok\n");
    return 0;
}
