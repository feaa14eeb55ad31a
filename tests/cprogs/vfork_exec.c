/* vfork_exec.c - checks vfork shares memory with the parent (a local written by
 * the child is seen by the parent, which is suspended until the child _exits),
 * then vfork + execv("/proc/self/exe", {"vfork_exec", "child"}) and the exit
 * status (7) of the exec'd child. */
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    volatile int shared = 1;
    pid_t pid;
    int st;

    if (argc > 1 && strcmp(argv[1], "child") == 0) {
        printf("exec'd child running (argv[0]=%s)\n", argv[0]);
        return 7;
    }

    fflush(stdout);
    pid = vfork();
    if (pid < 0) {
        printf("FAIL: vfork\n");
        return 1;
    }
    if (pid == 0) {
        shared = 99;
        _exit(5);
    }
    if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st)) {
        printf("FAIL: waitpid 1\n");
        return 1;
    }
    printf("shared after vfork child: %d, child exit %d\n", shared, WEXITSTATUS(st));
    if (shared != 99) {
        printf("FAIL: vfork child write not visible\n");
        return 1;
    }

    fflush(stdout);
    pid = vfork();
    if (pid < 0) {
        printf("FAIL: vfork 2\n");
        return 1;
    }
    if (pid == 0) {
        char *const av[] = { "vfork_exec", "child", NULL };
        execv("/proc/self/exe", av);
        _exit(127);
    }
    if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st)) {
        printf("FAIL: waitpid 2\n");
        return 1;
    }
    printf("child exit %d\n", WEXITSTATUS(st));
    return WEXITSTATUS(st) == 7 ? 0 : 1;
}
