/* inotify events for the file operations of the program itself, against native. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *names[] = {"ACCESS", "MODIFY", "ATTRIB", "CLOSE_WRITE", "CLOSE_NOWRITE", "OPEN", "MOVED_FROM",
                              "MOVED_TO", "CREATE", "DELETE", "DELETE_SELF", "MOVE_SELF"};

static void drain(int fd, int wd_dir, int wd_file) {
  char buf[4096] __attribute__((aligned(8)));
  unsigned int cookie = 0;
  for (;;) {
    int n = read(fd, buf, sizeof buf);
    if (n <= 0) break;
    for (char *p = buf; p < buf + n;) {
      struct inotify_event *e = (struct inotify_event *)p;
      printf("  %s:", e->wd == wd_dir ? "dir" : e->wd == wd_file ? "file" : "?");
      for (int i = 0; i < 12; i++) if (e->mask & (1u << i)) printf(" %s", names[i]);
      if (e->mask & IN_ISDIR) printf(" ISDIR");
      if (e->mask & IN_IGNORED) printf(" IGNORED");
      if (e->mask & IN_Q_OVERFLOW) printf(" Q_OVERFLOW");
      if (e->len) printf(" name=%s", e->name);
      if (e->cookie) { printf(" cookie=%s", cookie == 0 || cookie == e->cookie ? "same" : "new"); cookie = e->cookie; }
      printf("\n");
      p += sizeof *e + e->len;
    }
  }
}

int main(void) {
  setvbuf(stdout, NULL, _IONBF, 0);
  char dir[] = "/tmp/emu-inotify-XXXXXX";
  if (!mkdtemp(dir) || chdir(dir)) return 1;
  int in = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  printf("init1: %d flags-nonblock=%d\n", in >= 0, !!(fcntl(in, F_GETFL) & O_NONBLOCK));
  int wd_dir = inotify_add_watch(in, ".", IN_ALL_EVENTS);
  close(open("f", O_CREAT | O_WRONLY, 0644));
  int wd_file = inotify_add_watch(in, "f", IN_ALL_EVENTS);
  printf("wds: %d %d same-again=%d\n", wd_dir, wd_file, inotify_add_watch(in, "f", IN_MODIFY) == wd_file);
  inotify_add_watch(in, "f", IN_ALL_EVENTS);
  printf("creation:\n");
  drain(in, wd_dir, wd_file);
  int fd = open("f", O_RDWR);
  write(fd, "hello", 5);
  write(fd, "again", 5);
  lseek(fd, 0, SEEK_SET);
  char b[8];
  read(fd, b, 3);
  fchmod(fd, 0600);
  int avail = 0;
  ioctl(in, FIONREAD, &avail);
  printf("FIONREAD>0: %d\n", avail > 0);
  close(fd);
  printf("read/write/chmod/close:\n");
  drain(in, wd_dir, wd_file);
  mkdir("sub", 0755);
  rename("f", "g");
  truncate("g", 1);
  printf("mkdir/rename/truncate:\n");
  drain(in, wd_dir, wd_file);
  unlink("g");
  rmdir("sub");
  printf("unlink/rmdir:\n");
  drain(in, wd_dir, wd_file);
  struct pollfd p = {in, POLLIN};
  printf("poll empty: %d\n", poll(&p, 1, 0));
  printf("rm_watch: %d, again: %s\n", inotify_rm_watch(in, wd_dir), inotify_rm_watch(in, wd_dir) ? strerror(errno) : "ok");
  drain(in, wd_dir, wd_file);
  printf("add no events: %s\n", inotify_add_watch(in, ".", 0) < 0 ? strerror(errno) : "ok");
  printf("add missing: %s\n", inotify_add_watch(in, "nope", IN_ALL_EVENTS) < 0 ? strerror(errno) : "ok");
  printf("onlydir on file: %s\n", inotify_add_watch(in, "/etc/passwd", IN_ONLYDIR | IN_OPEN) < 0 ? strerror(errno) : "ok");
  printf("read too small: ");
  int w = inotify_add_watch(in, ".", IN_CREATE);
  close(open("zz", O_CREAT | O_WRONLY, 0644));
  printf("%s\n", read(in, b, 4) < 0 ? strerror(errno) : "ok");
  unlink("zz");
  inotify_rm_watch(in, w);
  close(in);
  chdir("/");
  rmdir(dir);
  return 0;
}
