/* fork_exit_loop.c - checks process creation/teardown at volume: forks 200
 * children one at a time, child i does _exit(i & 0xff), the parent waits for
 * each and sums the exit statuses (expected 19900). */
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

#define N 200

int main(void)
{
    long sum = 0, expect = 0;
    int i, st;

    fflush(stdout);
    for (i = 0; i < N; i++) {
        pid_t pid = fork();
        if (pid < 0) {
            printf("FAIL: fork %d\n", i);
            return 1;
        }
        if (pid == 0)
            _exit(i & 0xff);
        if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st)) {
            printf("FAIL: waitpid %d\n", i);
            return 1;
        }
        sum += WEXITSTATUS(st);
        expect += i & 0xff;
    }
    printf("children: %d sum: %ld\n", N, sum);
    if (sum != expect) {
        printf("FAIL: expected %ld\n", expect);
        return 1;
    }
    return 0;
}
