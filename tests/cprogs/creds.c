/* creds.c - the uid/gid family and what it changes: saved ids, capabilities dropped with euid 0 and back,
 * a non-root euid refused another user's mode-600 file and owning the files it creates, kill between users,
 * setuid for good, groups, and the 16-bit calls. Run as root (natively and under the emulator). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fsuid.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static void ids(const char *when)
{
    uid_t r, e, s;
    gid_t gr, ge, gs;
    getresuid(&r, &e, &s);
    getresgid(&gr, &ge, &gs);
    FILE *f = fopen("/proc/self/status", "r");
    char line[256], eff[64] = "?";
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, "CapEff:", 7))
            snprintf(eff, sizeof eff, "%s", strcmp(line + 8, "0000000000000000\n") ? "some" : "none");
    if (f) fclose(f);
    printf("%-28s uid %u/%u/%u gid %u/%u/%u fsuid %d caps %s\n", when, r, e, s, gr, ge, gs, setfsuid(-1), eff);
}

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    if (geteuid() != 0) { printf("needs root\n"); return 0; }
    char dir[] = "/tmp/creds-XXXXXX", secret[64], mine[64];
    mkdtemp(dir);
    chmod(dir, 01777);
    snprintf(secret, sizeof secret, "%s/secret", dir);
    snprintf(mine, sizeof mine, "%s/mine", dir);
    close(open(secret, O_CREAT | O_WRONLY, 0600));
    ids("start");
    pid_t c = fork();
    if (c == 0) {
        printf("setresgid(-1, 65534, -1): %d\n", setresgid(-1, 65534, -1));
        printf("seteuid(65534): %d\n", seteuid(65534));
        ids("after seteuid(65534)");
        int fd = open(secret, O_RDONLY);
        printf("open root's mode-600 file: %d %s\n", fd, fd < 0 ? strerror(errno) : "");
        fd = open(mine, O_CREAT | O_WRONLY, 0644);
        struct stat st;
        fstat(fd, &st);
        printf("created file owner %u group %u\n", st.st_uid, st.st_gid);
        close(fd);
        int r = kill(getppid(), 0);
        printf("kill(root parent, 0): %d %s\n", r, r ? strerror(errno) : "");
        r = setgroups(0, NULL);
        printf("setgroups without CAP_SETGID: %d %s\n", r, r ? strerror(errno) : "");
        printf("seteuid(0) back through the saved uid: %d\n", seteuid(0));
        ids("after seteuid(0)");
        r = setgroups(1, (gid_t[]){7});
        gid_t g[4] = {0};
        int n = getgroups(4, g);
        printf("setgroups(1, {7}): %d, getgroups %d: %u\n", r, n, g[0]);
        printf("setuid(65534): %d\n", setuid(65534));
        ids("after setuid(65534)");
        r = setuid(0);
        printf("setuid(0) again: %d %s\n", r, r ? strerror(errno) : "");
        r = setreuid(-1, 0);
        printf("setreuid(-1, 0): %d %s\n", r, r ? strerror(errno) : "");
        printf("16-bit getuid: %ld\n", syscall(24 /* __NR_getuid, 16-bit on i386 */));
        _exit(0);
    }
    waitpid(c, NULL, 0);
    ids("parent unchanged");
    unlink(secret);
    unlink(mine);
    rmdir(dir);
    return 0;
}
