/* waitsig.c - wait and signal corners as Linux has them: children of a parent ignoring SIGCHLD (SIG_IGN or
 * SA_NOCLDWAIT) are reaped at exit and wait gives ECHILD; the core-dump bit follows RLIMIT_CORE; waitid with
 * WSTOPPED|WNOWAIT reports a stopped child and leaves it reportable; sigqueue values reach si_value and
 * sigtimedwait; rt_sigtimedwait times out with EAGAIN; rt_tgsigqueueinfo cannot impersonate kill(); tgkill
 * of a real-time signal over RLIMIT_SIGPENDING is EAGAIN; wait4 reports the child's CPU time. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void ignored_children(int how)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = how ? SIG_DFL : SIG_IGN;
    sa.sa_flags = how ? SA_NOCLDWAIT : 0;
    sigaction(SIGCHLD, &sa, NULL);
    pid_t a = fork();
    if (a == 0) _exit(3);
    pid_t b = fork();
    if (b == 0) { usleep(50000); _exit(4); }
    int st, r = wait(&st);
    printf("%s: wait %d %s\n", how ? "SA_NOCLDWAIT" : "SIG_IGN", r, r < 0 ? strerror(errno) : "reaped");
    sa.sa_handler = SIG_DFL;
    sa.sa_flags = 0;
    sigaction(SIGCHLD, &sa, NULL);
}

static void core_bit(rlim_t soft, const char *dir)
{
    struct rlimit rl = {soft, RLIM_INFINITY};
    pid_t p = fork();
    if (p == 0) {
        setrlimit(RLIMIT_CORE, &rl);
        if (chdir(dir) != 0) _exit(1);
        abort();
    }
    int st;
    waitpid(p, &st, 0);
    printf("RLIMIT_CORE %lu in %s: signaled %d sig %d core %d\n", (unsigned long)soft,
           dir[1] == 'p' ? "/proc" : "a writable directory", WIFSIGNALED(st), WTERMSIG(st), WCOREDUMP(st) ? 1 : 0);
}

static void stopped_nowait(void)
{
    pid_t p = fork();
    if (p == 0) { raise(SIGSTOP); _exit(7); }
    siginfo_t si;
    memset(&si, 0, sizeof si);
    int r = waitid(P_PID, p, &si, WSTOPPED | WNOWAIT);
    printf("waitid WSTOPPED|WNOWAIT: %d code %s status %d pid ok %d\n", r,
           si.si_code == CLD_STOPPED ? "CLD_STOPPED" : "other", si.si_status, si.si_pid == p);
    int st;
    r = waitpid(p, &st, WUNTRACED);
    printf("still reportable: %d stopped %d sig %d\n", r == p, WIFSTOPPED(st), WSTOPSIG(st));
    kill(p, SIGCONT);
    memset(&si, 0, sizeof si);
    r = waitid(P_PID, p, &si, WEXITED);
    printf("waitid WEXITED: %d code %s status %d\n", r, si.si_code == CLD_EXITED ? "CLD_EXITED" : "other",
           si.si_status);
}

static void queued_values(void)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGRTMIN + 1);
    sigaddset(&set, SIGUSR1);
    sigprocmask(SIG_BLOCK, &set, NULL);
    union sigval v;
    for (int i = 0; i < 3; i++) {
        v.sival_int = 40 + i;
        sigqueue(getpid(), SIGRTMIN + 1, v);
    }
    siginfo_t si;
    for (int i = 0; i < 3; i++) {
        int s = sigwaitinfo(&set, &si);
        printf("sigwaitinfo: rt+%d code SI_QUEUE %d value %d pid ok %d\n", s - SIGRTMIN, si.si_code == SI_QUEUE,
               si.si_value.sival_int, si.si_pid == getpid());
    }
    struct timespec ts = {0, 20 * 1000 * 1000};
    int r = sigtimedwait(&set, &si, &ts);
    printf("sigtimedwait with nothing pending: %d %s\n", r, strerror(errno));
    pid_t p = fork();
    if (p == 0) { usleep(20000); kill(getppid(), SIGUSR1); _exit(0); }
    int sig;
    r = sigwait(&set, &sig);
    printf("sigwait: %d %s\n", r, sig == SIGUSR1 ? "SIGUSR1" : "other");
    waitpid(p, NULL, 0);
    memset(&si, 0, sizeof si);
    si.si_code = SI_USER;
    r = syscall(SYS_rt_tgsigqueueinfo, getppid(), getppid(), SIGUSR1, &si);
    printf("rt_tgsigqueueinfo SI_USER to another process: %d %s\n", r, strerror(errno));
    si.si_code = SI_TKILL;
    r = syscall(SYS_rt_sigqueueinfo, getppid(), SIGUSR1, &si);
    printf("rt_sigqueueinfo SI_TKILL to another process: %d %s\n", r, strerror(errno));

    struct rlimit rl = {0, 0}, old; /* 0: the host's other queued signals (per user) cannot change the count */
    getrlimit(RLIMIT_SIGPENDING, &old);
    setrlimit(RLIMIT_SIGPENDING, &rl);
    int fails = 0;
    for (int i = 0; i < 4; i++)
        if (syscall(SYS_tgkill, getpid(), syscall(SYS_gettid), SIGRTMIN + 1) < 0 && errno == EAGAIN)
            fails++;
    printf("tgkill over RLIMIT_SIGPENDING 0: %d EAGAIN\n", fails);
    setrlimit(RLIMIT_SIGPENDING, &old);
    while (sigtimedwait(&set, &si, &(struct timespec){0, 0}) > 0)
        ;
}

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    ignored_children(0);
    ignored_children(1);
    char dir[] = "/tmp/waitsig-XXXXXX", core[64];
    if (!mkdtemp(dir)) return 1;
    core_bit(0, dir);
    core_bit(1000, dir); /* under binfmt_elf's minimum: no dump */
    core_bit(1 << 20, "/proc"); /* the dump cannot be written there */
    core_bit(RLIM_INFINITY, dir);
    snprintf(core, sizeof core, "%s/core", dir);
    unlink(core); /* a native run leaves one (core_pattern "core"); the model writes none */
    rmdir(dir);
    stopped_nowait();
    queued_values();
    pid_t p = fork();
    if (p == 0) { volatile unsigned x = 1; for (int i = 0; i < 10000000; i++) x *= 3; _exit(0); } /* ~10 ms natively: several ticks of CPU-time sampling */
    struct rusage ru;
    int st;
    wait4(p, &st, 0, &ru);
    printf("wait4 rusage has the child's user time: %s\n", ru.ru_utime.tv_sec || ru.ru_utime.tv_usec ? "yes" : "no");
    return 0;
}
