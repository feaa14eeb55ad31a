/* fork_tree.c - checks many nested forks and wait statuses: every node at depth
 * < 6 forks two children and exits with the sum of their exit statuses; leaves
 * exit with 1.  The root (depth 0) prints the total, which must be 64. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#define DEPTH 6

static int node(int depth)
{
    pid_t kids[2];
    int i, st, sum = 0;

    if (depth == DEPTH)
        return 1;
    for (i = 0; i < 2; i++) {
        kids[i] = fork();
        if (kids[i] < 0)
            return -1000;
        if (kids[i] == 0)
            _exit(node(depth + 1));
    }
    for (i = 0; i < 2; i++) {
        if (waitpid(kids[i], &st, 0) != kids[i] || !WIFEXITED(st))
            return -1000;
        sum += WEXITSTATUS(st);
    }
    return sum;
}

int main(void)
{
    int leaves;

    fflush(stdout);
    leaves = node(0);
    printf("leaves: %d\n", leaves);
    if (leaves != 1 << DEPTH) {
        printf("FAIL: expected %d\n", 1 << DEPTH);
        return 1;
    }
    return 0;
}
