/* syscall_decode: one call of each syscall form the trace decodes, for the comparison with native strace. */
#define _GNU_SOURCE
#define _LARGEFILE64_SOURCE
#include <unistd.h>
#include <sys/syscall.h>
#include <fcntl.h>
#include <signal.h>
#include <poll.h>
#include <string.h>
#include <sys/time.h>
#include <sys/stat.h>
#include <time.h>
#include <stdint.h>
#include <sys/prctl.h>
#include <sys/statfs.h>
static void h(int s) { (void)s; }
int main(void) {
    /* Every syscall whose decoding strace has an opinion on, called directly (the guest's syscall(2)), so that
       `emu trace` can be compared with `strace -f` of the native run line by line. Run in an empty directory. */
    char buf[4096];
    int fds[2];
    syscall(SYS_umask, 022);
    syscall(SYS_mkdir, "d1", 0755);
    syscall(SYS_mkdirat, AT_FDCWD, "d2", 0700);
    int fd = syscall(SYS_open, "f1", O_CREAT | O_WRONLY | O_TRUNC, 0644);
    syscall(SYS_write, fd, "hello world\n", 12);
    syscall(SYS_fchmod, fd, 0600);
    syscall(SYS_chmod, "f1", 0640);
    syscall(SYS_fchmodat, AT_FDCWD, "f1", 0644);
    syscall(SYS_chown32, "f1", -1, -1);
    syscall(SYS_lchown32, "f1", 0, 0);
    syscall(SYS_fchown32, fd, -1, 0);
    syscall(SYS_fchownat, AT_FDCWD, "f1", -1, -1, AT_SYMLINK_NOFOLLOW);
    syscall(SYS_chown, "f1", -1, -1);
    syscall(SYS_fchown, fd, 0xffff, 0);
    syscall(SYS_ftruncate, fd, 5);
    syscall(SYS_ftruncate64, fd, 6, 0);
    syscall(SYS_fsync, fd);
    syscall(SYS_fdatasync, fd);
    syscall(SYS_utimensat, AT_FDCWD, "f1", 0, 0);
    struct { int32_t s; int32_t ns; } ts2[2] = {{0, (1<<30)-1}, {0, (1<<30)-2}};
    syscall(SYS_utimensat, AT_FDCWD, "f1", ts2, AT_SYMLINK_NOFOLLOW);
    struct { int32_t s; int32_t ns; } ts3[2] = {{1, 2}, {3, 4}};
    syscall(SYS_utimensat, AT_FDCWD, "f1", ts3, 0);
    syscall(SYS_close, fd);
    syscall(SYS_symlink, "f1", "l1");
    syscall(SYS_link, "f1", "h1");
    syscall(SYS_rename, "h1", "h2");
    syscall(SYS_renameat, AT_FDCWD, "h2", AT_FDCWD, "h3");
    syscall(SYS_renameat2, AT_FDCWD, "h3", AT_FDCWD, "h4", 1);
    syscall(SYS_unlink, "h4");
    syscall(SYS_unlinkat, AT_FDCWD, "l1", 0);
    syscall(SYS_unlinkat, AT_FDCWD, "d2", 0x200);
    syscall(SYS_rmdir, "d1");
    int in = syscall(SYS_open, "f1", O_RDONLY);
    int64_t off = 0;
    syscall(SYS_sendfile64, 1, in, &off, 3);
    syscall(SYS_sendfile64, 1, in, 0, 2);
    int32_t off32 = 1;
    syscall(SYS_sendfile, 1, in, &off32, 2);
    syscall(SYS_close, in);
    syscall(SYS_prctl, PR_SET_NAME, "myname", 0, 0, 0);
    syscall(SYS_prctl, PR_GET_NAME, buf, 0, 0, 0);
    syscall(SYS_prctl, PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
    syscall(SYS_prctl, PR_GET_DUMPABLE, 0, 0, 0, 0);
    syscall(SYS_prctl, PR_SET_DUMPABLE, 1, 0, 0, 0);
    int dfd = syscall(SYS_open, ".", O_RDONLY | O_DIRECTORY);
    syscall(SYS_getdents64, dfd, buf, sizeof buf);
    syscall(SYS_fchdir, dfd);
    syscall(SYS_close, dfd);
    syscall(SYS_pipe, fds);
    syscall(SYS_write, fds[1], "x", 1);
    struct pollfd p[2] = {{fds[0], POLLIN, 0}, {fds[1], POLLOUT|POLLIN, 0}};
    syscall(SYS_poll, p, 2, 0);
    syscall(SYS_poll, p, 1, 10);
    struct { int32_t s; int32_t ns; } t0 = {0, 0};
    uint64_t mask = 1ULL << (SIGUSR1-1);
    syscall(SYS_ppoll, p, 2, &t0, &mask, 8);
    syscall(SYS_ppoll, p, 1, 0, 0, 8);
    fd_set r, w; FD_ZERO(&r); FD_ZERO(&w); FD_SET(fds[0], &r); FD_SET(fds[1], &w);
    struct { int32_t s; int32_t us; } tv0 = {0, 0};
    syscall(SYS__newselect, fds[1]+1, &r, &w, 0, &tv0);
    FD_ZERO(&r); FD_SET(fds[0], &r);
    struct { uint32_t ss; uint32_t n; } sig6 = {(uint32_t)(uintptr_t)&mask, 8};
    syscall(SYS_pselect6, fds[0]+1, &r, 0, 0, &t0, &sig6);
    syscall(SYS_pipe2, fds, O_CLOEXEC | O_NONBLOCK);
    syscall(SYS_pipe2, fds, 0);
    uint64_t pend = 0;
    syscall(SYS_rt_sigpending, &pend, 8);
    uint32_t opend; syscall(SYS_sigpending, &opend);
    syscall(SYS_signal, SIGUSR2, SIG_IGN);
    syscall(SYS_signal, SIGUSR2, h);
    syscall(SYS_signal, SIGUSR2, SIG_DFL);
    uint32_t om = 1u << (SIGINT-1), oo;
    syscall(SYS_sigprocmask, SIG_BLOCK, &om, &oo);
    syscall(SYS_sigprocmask, SIG_UNBLOCK, &om, 0);
    struct { int32_t a, b, c, d; } it = {0, 0, 0, 500000}, old;
    syscall(SYS_setitimer, ITIMER_REAL, &it, &old);
    syscall(SYS_getitimer, ITIMER_REAL, &old);
    struct { int32_t a, b, c, d; } z = {0, 0, 0, 0};
    syscall(SYS_setitimer, ITIMER_REAL, &z, 0);
    syscall(SYS_alarm, 5);
    syscall(SYS_alarm, 0);
    signal(SIGALRM, h);
    syscall(SYS_alarm, 1);
    syscall(SYS_pause);
    uint64_t smask = 0;
    struct { int32_t a, b, c, d; } soon = {0, 0, 0, 10000};
    syscall(SYS_setitimer, ITIMER_REAL, &soon, 0);
    syscall(SYS_rt_sigsuspend, &smask, 8);
    syscall(SYS_setitimer, ITIMER_REAL, &soon, 0);
    syscall(SYS_sigsuspend, 0, 0, 1u << (SIGINT-1));
    uint32_t caph[2] = {0x20080522, 0}, capd[6];
    syscall(SYS_capget, caph, capd);
    capd[0] = capd[3] = 0;
    syscall(SYS_capset, caph, capd);
    capd[1] = 0xffffffff;
    syscall(SYS_capset, caph, capd);
    caph[0] = 1;
    syscall(SYS_capget, caph, 0);
    struct statfs64 sfs;
    syscall(SYS_statfs64, ".", sizeof sfs, &sfs);
    int cfd = syscall(SYS_creat, "f2", 0640);
    syscall(SYS_close, cfd);
    syscall(SYS_unlink, "f2");
    syscall(SYS_unlink, "f1");
    syscall(SYS_exit_group, 0);
}
