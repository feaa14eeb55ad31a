/* eventfds.c - eventfd (counting, semaphore mode, EAGAIN, a reader woken by another process's write), timerfd
 * (one-shot and periodic expirations, gettime, disarm) and epoll (level- and edge-triggered, EPOLLONESHOT,
 * over pipes, eventfds and timerfds, the errors of epoll_ctl, an epoll inside poll). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <unistd.h>

static int wait_n(int ep, int timeout)
{
    struct epoll_event ev[8];
    int n = epoll_wait(ep, ev, 8, timeout);
    printf("  epoll_wait -> %d:", n);
    for (int i = 0; i < n; i++)
        printf(" [%s%s data %llu]", ev[i].events & EPOLLIN ? "IN" : "", ev[i].events & EPOLLOUT ? "OUT" : "",
               (unsigned long long)ev[i].data.u64);
    printf("\n");
    return n;
}

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    uint64_t v;
    int e = eventfd(3, EFD_NONBLOCK);
    v = 4;
    write(e, &v, 8);
    read(e, &v, 8);
    printf("eventfd count: %llu\n", (unsigned long long)v);
    int r = read(e, &v, 8);
    printf("empty nonblocking read: %d %s\n", r, strerror(errno));
    close(e);
    int s = eventfd(2, EFD_SEMAPHORE);
    read(s, &v, 8);
    printf("semaphore read: %llu", (unsigned long long)v);
    read(s, &v, 8);
    printf(" %llu\n", (unsigned long long)v);
    pid_t c = fork();
    if (c == 0) {
        usleep(50000);
        v = 7;
        write(s, &v, 8);
        _exit(0);
    }
    read(s, &v, 8); /* blocks until the child writes */
    printf("woken by the child's write: %llu\n", (unsigned long long)v);
    waitpid(c, NULL, 0);
    v = UINT64_MAX;
    r = write(s, &v, 8);
    printf("write 2^64-1: %d %s; short read: %zd %s\n", r, strerror(errno), read(s, &v, 4), strerror(errno));

    int tf = timerfd_create(CLOCK_MONOTONIC, 0);
    struct itimerspec its = {{0, 0}, {0, 50 * 1000 * 1000}}, cur;
    timerfd_settime(tf, 0, &its, NULL);
    timerfd_gettime(tf, &cur);
    printf("armed: %s\n", cur.it_value.tv_nsec > 0 && cur.it_value.tv_nsec <= 50000000 ? "yes" : "no");
    read(tf, &v, 8);
    printf("one-shot expirations: %llu\n", (unsigned long long)v);
    its.it_interval.tv_nsec = 20 * 1000 * 1000;
    its.it_value.tv_nsec = 20 * 1000 * 1000;
    timerfd_settime(tf, 0, &its, NULL);
    usleep(110000);
    read(tf, &v, 8);
    printf("periodic expirations after 110 ms: %s\n", v >= 3 && v <= 6 ? "3..6" : "other");
    memset(&its, 0, sizeof its);
    timerfd_settime(tf, 0, &its, &cur);
    printf("disarmed; old interval %ld ns\n", cur.it_interval.tv_nsec);
    fcntl(tf, F_SETFL, O_NONBLOCK);
    r = read(tf, &v, 8);
    printf("read a disarmed timer: %d %s\n", r, strerror(errno));

    int ep = epoll_create1(EPOLL_CLOEXEC);
    int p[2];
    pipe(p);
    int ev = eventfd(0, EFD_NONBLOCK);
    struct epoll_event a = {.events = EPOLLIN, .data.u64 = 1}, b = {.events = EPOLLIN | EPOLLET, .data.u64 = 2};
    epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &a);
    epoll_ctl(ep, EPOLL_CTL_ADD, ev, &b);
    printf("nothing ready, timeout 0:\n");
    wait_n(ep, 0);
    write(p[1], "x", 1);
    v = 1;
    write(ev, &v, 8);
    printf("both ready:\n");
    wait_n(ep, 100);
    printf("again: the level-triggered pipe only:\n");
    wait_n(ep, 0);
    struct pollfd pf = {.fd = ep, .events = POLLIN};
    printf("poll on the epoll: %d revents %#x\n", poll(&pf, 1, 0), pf.revents);
    struct epoll_event o = {.events = EPOLLOUT | EPOLLONESHOT, .data.u64 = 3};
    epoll_ctl(ep, EPOLL_CTL_ADD, p[1], &o);
    char buf[8];
    read(p[0], buf, 1);
    printf("one-shot writer:\n");
    wait_n(ep, 0);
    printf("disarmed until MOD:\n");
    wait_n(ep, 0);
    epoll_ctl(ep, EPOLL_CTL_MOD, p[1], &o);
    printf("after MOD:\n");
    wait_n(ep, 0);
    pid_t c2 = fork();
    if (c2 == 0) {
        usleep(50000);
        write(p[1], "y", 1);
        _exit(0);
    }
    struct epoll_event only = {.events = EPOLLIN, .data.u64 = 1};
    epoll_ctl(ep, EPOLL_CTL_DEL, p[1], NULL);
    epoll_ctl(ep, EPOLL_CTL_MOD, p[0], &only);
    printf("blocking until another process writes:\n");
    wait_n(ep, 5000);
    waitpid(c2, NULL, 0);
    char path[] = "/tmp/epoll-XXXXXX";
    int reg = mkstemp(path);
    unlink(path);
    r = epoll_ctl(ep, EPOLL_CTL_ADD, reg, &a);
    printf("regular file: %d %s\n", r, strerror(errno));
    r = epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &a);
    printf("twice: %d %s\n", r, strerror(errno));
    r = epoll_ctl(ep, EPOLL_CTL_DEL, reg, NULL);
    printf("delete unknown: %d %s\n", r, strerror(errno));
    r = epoll_ctl(ep, EPOLL_CTL_ADD, ep, &a);
    printf("itself: %d %s\n", r, strerror(errno));
    int ep2 = epoll_create(1);
    epoll_ctl(ep2, EPOLL_CTL_ADD, ep, &a);
    r = epoll_ctl(ep, EPOLL_CTL_ADD, ep2, &a);
    printf("loop: %d %s\n", r, strerror(errno));
    r = epoll_wait(ep, NULL, 0, 0);
    printf("maxevents 0: %d %s\n", r, strerror(errno));
    return 0;
}
