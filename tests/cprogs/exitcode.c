/* exitcode.c - checks that a non-zero return from main becomes the exit status (3). */
#include <stdio.h>

int main(void)
{
    printf("exiting with status 3\n");
    return 3;
}
