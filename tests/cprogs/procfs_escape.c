/* procfs_escape.c - what a guest can reach through /proc: its own memory through /proc/self/mem (and nothing of
 * the emulator's), no host process (argv[1] is the emulator's host pid), no path out of the root through
 * /proc/self/root, and only its own descriptors in /proc/self/fd. Prints one line per probe. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char secret[64] = "guest memory";

int main(int argc, char **argv)
{
    int fd = open("/proc/self/mem", O_RDWR);
    char buf[64] = {0};
    ssize_t n = pread(fd, buf, sizeof buf, (off_t)(unsigned long)secret);
    printf("mem read own: %zd %s\n", n, buf);
    n = pwrite(fd, "written via mem", 16, (off_t)(unsigned long)secret);
    printf("mem write own: %zd now %s\n", n, secret);
    n = pread(fd, buf, 16, (off_t)0x10000000);
    printf("mem read unmapped: %zd %s\n", n, n < 0 ? strerror(errno) : "data");
    n = pread(fd, buf, 16, (off_t)0xffffe000u);
    printf("mem read top page: %zd %s\n", n, n < 0 ? strerror(errno) : "data");
    close(fd);

    fd = open("/proc/1/mem", O_RDONLY);
    printf("init mem: %s\n", fd < 0 ? strerror(errno) : "opened");
    if (fd >= 0) {
        n = read(fd, buf, 16);
        printf("init mem read: %zd\n", n);
        close(fd);
    }

    char path[64];
    snprintf(path, sizeof path, "/proc/%s/status", argc > 1 ? argv[1] : "0");
    FILE *f = fopen(path, "r");
    if (!f) {
        printf("host pid status: %s\n", strerror(errno));
    } else {
        char line[256];
        if (fgets(line, sizeof line, f))
            printf("host pid status first line: %s", line);
        fclose(f);
    }
    snprintf(path, sizeof path, "/proc/%s/exe", argc > 1 ? argv[1] : "0");
    char target[512];
    n = readlink(path, target, sizeof target - 1);
    printf("host pid exe: %s\n", n < 0 ? strerror(errno) : "a link");

    struct stat a, b, c;
    stat("/", &a);
    stat("/proc/self/root/..", &b);
    stat("/proc/self/root/../../..", &c);
    printf("root/.. is /: %d %d\n", a.st_ino == b.st_ino && a.st_dev == b.st_dev, a.st_ino == c.st_ino);

    int extra = open("/", O_RDONLY | O_DIRECTORY);
    DIR *d = opendir("/proc/self/fd");
    int count = 0, bad = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        count++;
        int num = atoi(e->d_name);
        if (fcntl(num, F_GETFD) < 0) bad++;
    }
    closedir(d);
    printf("fd entries: %d, not the guest's: %d\n", count, bad);
    close(extra);

    f = fopen("/proc/self/maps", "r");
    char line[512];
    int unicorn = 0, python = 0, self = 0, wide = 0;
    while (fgets(line, sizeof line, f)) {
        unicorn += strstr(line, "unicorn") != NULL;
        python += strstr(line, "python") != NULL;
        self += strstr(line, "procfs_escape") != NULL;
        wide += strchr(line, '-') - line > 8;
    }
    fclose(f);
    printf("maps: own %d, unicorn %d, python %d, 64-bit addresses %d\n", self > 0, unicorn, python, wide);
    f = fopen("/proc/self/status", "r");
    fgets(line, sizeof line, f);
    printf("status: %s", line);
    fclose(f);
    return 0;
}
