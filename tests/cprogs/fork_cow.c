/* fork_cow.c - checks copy-on-write fork semantics: a 64-page global array is
 * filled, the process forks, the child rewrites every page and verifies, the
 * parent waits and verifies its copy is unchanged.  Also checks WEXITSTATUS. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#define PAGES 64
#define PAGE 4096

static unsigned char arr[PAGES * PAGE];

int main(void)
{
    pid_t pid;
    int i, st;

    for (i = 0; i < PAGES * PAGE; i++)
        arr[i] = (unsigned char)(i / PAGE + 1);

    fflush(stdout);
    pid = fork();
    if (pid < 0) {
        printf("FAIL: fork\n");
        return 1;
    }
    if (pid == 0) {
        for (i = 0; i < PAGES * PAGE; i++)
            arr[i] = (unsigned char)(0xC0 ^ (i / PAGE));
        for (i = 0; i < PAGES * PAGE; i++)
            if (arr[i] != (unsigned char)(0xC0 ^ (i / PAGE))) {
                printf("FAIL: child page %d\n", i / PAGE);
                fflush(stdout);
                _exit(1);
            }
        printf("child: modified and verified %d pages\n", PAGES);
        fflush(stdout);
        _exit(42);
    }
    if (waitpid(pid, &st, 0) != pid) {
        printf("FAIL: waitpid\n");
        return 1;
    }
    if (!WIFEXITED(st)) {
        printf("FAIL: child did not exit normally (status 0x%x)\n", st);
        return 1;
    }
    printf("parent: child exit status %d\n", WEXITSTATUS(st));
    for (i = 0; i < PAGES * PAGE; i++)
        if (arr[i] != (unsigned char)(i / PAGE + 1)) {
            printf("FAIL: parent page %d changed\n", i / PAGE);
            return 1;
        }
    printf("parent: %d pages unchanged\n", PAGES);
    if (WEXITSTATUS(st) != 42) {
        printf("FAIL: expected child status 42\n");
        return 1;
    }
    printf("fork cow ok\n");
    return 0;
}
