/* hello.c - checks the most basic path: printf to stdout and exit status 0. */
#include <stdio.h>

int main(void)
{
    printf("Hello, world!\n");
    return 0;
}
