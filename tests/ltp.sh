#!/usr/bin/env bash
# Run LTP's syscall tests natively and under the emulator with LTP's unmodified harness, through the shared
# runner (../shared/ltp/run.sh: it builds LTP from the tarball there as static i386 binaries and compares each
# test's exit status and TPASS/TFAIL/TBROK/TCONF counts with the native run).
#
#   tests/ltp.sh                          the tracked tests (shared/ltp/tests.txt)
#   TESTS=all ONLY='^(mmap|shm)' tests/ltp.sh   every built test whose name matches
#   JOBS=2 tests/ltp.sh                   two tests at a time (timing-sensitive native tests may be perturbed)
#
#   LTP_ROOT=/tmp/i386root tests/ltp.sh  the emulated runs inside an `emu rootfs` root (i386 /bin/sh for popen)
#
# DIRS adds the memory, SysV IPC, time, signal-queue, identity, scheduling and file/socket/event directories of
# issues 10-12 to the runner's default list; TESTS=all runs every test built from them. Any variable of run.sh's header
# (LTP_BUILD, LTP_WORK, TESTS, ONLY, JOBS, NATIVE_TIMEOUT, EMU_TIMEOUT) passes through. Not part of CI (the build
# takes about 1.5 minutes and the tracked tests about 12).
set -u
here=$(cd "$(dirname "$0")/.." && pwd)
runner=${LTP_RUNNER:-$here/../shared/ltp/run.sh}
[[ -f $runner ]] || { echo "ltp.sh: no LTP runner at $runner (the shared/ directory next to the checkout)" >&2; exit 2; }
export PROJ=$here
# LTP_ROOT=DIR (an `emu rootfs` i386 root) runs the emulated tests inside it with the host's /tmp bound in, so
# that the tests' popen()/system() reach Debian's i386 /bin/sh (LTP's kernel-config checks: zcat /proc/config.gz)
if [[ -n ${LTP_ROOT:-} ]]; then
  export EMU=${EMU:-"python3 -m emu run --root $LTP_ROOT --bind /tmp --kernel-config"}
fi
export EMU=${EMU:-"python3 -m emu run"}
export DIRS=${DIRS:-"fork vfork clone clone3 wait wait4 waitpid waitid execve execl execle execlp execv execvp exit
  exit_group getpid getppid gettid set_tid_address futex pipe pipe2 kill tgkill rt_sigaction sigaction rt_sigprocmask
  sigsuspend rt_sigsuspend brk mmap munmap mprotect madvise dup dup2 dup3 fcntl getrusage mremap msync mlock munlock
  mlockall munlockall mincore shmget shmat shmdt shmctl semget semop semctl msgget msgsnd msgrcv msgctl
  alarm nanosleep clock_nanosleep getitimer setitimer rt_sigqueueinfo rt_sigtimedwait rt_tgsigqueueinfo sigwait
  sigwaitinfo sigtimedwait times sysinfo getcpu setpgid setsid getsid
  creat mknod mknodat statfs fstatfs fallocate flock socketpair socket bind listen accept connect send recv sendmsg
  recvmsg eventfd eventfd2 timerfd signalfd epoll_create epoll_ctl epoll_wait inotify_init sched_getaffinity
  sched_setaffinity sched_getscheduler sched_setscheduler sched_getparam sched_setparam sched_get_priority_max
  sched_get_priority_min sched_rr_get_interval getpriority setpriority nice personality modify_ldt capget capset
  setuid setgid setreuid setregid setresuid setresgid getresuid getresgid setfsuid setfsgid getgroups setgroups
  getuid geteuid getgid getegid prctl accept4 getsockopt setsockopt getsockname getpeername sendto recvfrom sendmmsg
  recvmmsg socketcall inotify"}
exec bash "$runner" "$@"
