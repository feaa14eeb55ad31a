/* pthreads.c - checks threads (clone with CLONE_VM|CLONE_SETTLS|..., futex):
 * 4 threads each increment a shared counter 100000 times under a mutex; each
 * thread sets a __thread variable to its index and checks it at the end;
 * pthread_join collects a per-thread return value.  Prints "counter=400000"
 * and "tls ok". */
#include <pthread.h>
#include <stdio.h>
#include <stdint.h>

#define NTHREADS 4
#define ITERS 100000

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static long counter;
static __thread int tls_index = -1;
static __thread int tls_initialised = 1234;   /* .tdata, not .tbss */

static void *worker(void *arg)
{
    int idx = (int)(intptr_t)arg;
    int i;

    if (tls_index != -1 || tls_initialised != 1234)
        return (void *)(intptr_t)-1;          /* fresh TLS block expected */
    tls_index = idx;
    for (i = 0; i < ITERS; i++) {
        pthread_mutex_lock(&lock);
        counter++;
        pthread_mutex_unlock(&lock);
        if ((i & 0xfff) == 0)
            sched_yield();
    }
    if (tls_index != idx)
        return (void *)(intptr_t)-2;
    return (void *)(intptr_t)(idx + 100);
}

int main(void)
{
    pthread_t th[NTHREADS];
    int i, ok = 1;

    tls_index = 99;
    for (i = 0; i < NTHREADS; i++)
        if (pthread_create(&th[i], NULL, worker, (void *)(intptr_t)i) != 0) {
            printf("FAIL: pthread_create %d\n", i);
            return 1;
        }
    for (i = 0; i < NTHREADS; i++) {
        void *ret;
        if (pthread_join(th[i], &ret) != 0) {
            printf("FAIL: pthread_join %d\n", i);
            return 1;
        }
        if ((intptr_t)ret != i + 100) {
            printf("FAIL: thread %d returned %d\n", i, (int)(intptr_t)ret);
            ok = 0;
        }
    }
    printf("counter=%ld\n", counter);
    if (counter != (long)NTHREADS * ITERS) {
        printf("FAIL: counter\n");
        return 1;
    }
    if (tls_index != 99) {
        printf("FAIL: main thread tls changed to %d\n", tls_index);
        return 1;
    }
    if (!ok)
        return 1;
    printf("tls ok\n");
    return 0;
}
