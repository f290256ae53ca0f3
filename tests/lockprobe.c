/* lockprobe: an LD_PRELOAD library that watches two things pyjack's engine
 * (the _core extension) does on Python's side:
 *
 * - pthread_mutex_lock calls made from _core while the calling thread holds
 *   the GIL (a lock taken with the GIL held stalls every Python thread while
 *   another thread holds it);
 * - sem_clockwait calls made from _core that return at once with a post, so
 *   that stale posts (left from earlier waits) show up as waits that did not
 *   wait.
 *
 * Counts only while armed. Use through ctypes: lockprobe_arm(int),
 * lockprobe_gil_locks(), lockprobe_posted_waits().
 * Build: cc -shared -fPIC -O2 -o lockprobe.so lockprobe.c -ldl -lpthread
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>

static atomic_int armed;
static atomic_long gil_locks, posted_waits;
static __thread int inside;  /* dladdr() may lock: do not count ourselves */

static int from_core(void *address)
{
    Dl_info info;
    return dladdr(address, &info) && info.dli_fname && strstr(info.dli_fname, "/_core");
}

static int holds_gil(void)
{
    static int (*check)(void);
    if (check == NULL)
        check = (int (*)(void))dlsym(RTLD_DEFAULT, "PyGILState_Check");
    return check != NULL && check();
}

int pthread_mutex_lock(pthread_mutex_t *m)
{
    static int (*real)(pthread_mutex_t *);
    if (real == NULL)
        real = (int (*)(pthread_mutex_t *))dlsym(RTLD_NEXT, "pthread_mutex_lock");
    if (atomic_load_explicit(&armed, memory_order_relaxed) && !inside) {
        inside = 1;
        if (from_core(__builtin_return_address(0)) && holds_gil())
            atomic_fetch_add(&gil_locks, 1);
        inside = 0;
    }
    return real(m);
}

int sem_clockwait(sem_t *s, clockid_t clock, const struct timespec *deadline)
{
    static int (*real)(sem_t *, clockid_t, const struct timespec *);
    if (real == NULL)
        real = (int (*)(sem_t *, clockid_t, const struct timespec *))dlsym(RTLD_NEXT, "sem_clockwait");
    void *caller = __builtin_return_address(0);
    int rc = real(s, clock, deadline);
    if (rc == 0 && atomic_load_explicit(&armed, memory_order_relaxed) && !inside) {
        inside = 1;
        if (from_core(caller))
            atomic_fetch_add(&posted_waits, 1);
        inside = 0;
    }
    return rc;
}

void lockprobe_arm(int on) { atomic_store(&armed, on); }
long lockprobe_gil_locks(void) { return atomic_load(&gil_locks); }
long lockprobe_posted_waits(void) { return atomic_load(&posted_waits); }
