/* args_env.c - checks argv/envp setup: prints argc, each argv[i] and the value
 * of EMU_TEST_VAR (or "(unset)"); exit status is argc. */
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
    const char *v = getenv("EMU_TEST_VAR");
    int i;

    printf("argc=%d\n", argc);
    for (i = 0; i < argc; i++)
        printf("argv[%d]=%s\n", i, argv[i]);
    if (argv[argc] != NULL) {
        printf("FAIL: argv[argc] not NULL\n");
        return 1;
    }
    printf("EMU_TEST_VAR=%s\n", v ? v : "(unset)");
    return argc;
}
