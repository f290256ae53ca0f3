/* rtprobe: an LD_PRELOAD library that counts forbidden calls made on JACK's
 * process and notification threads.
 *
 * It wraps every jack_set_*_callback so it learns which threads run a
 * client's callbacks: a thread becomes "watched" the first time it enters
 * one. While armed (rtprobe_arm(1), after warm-up), it counts calls of
 * malloc, calloc, realloc, free, the aligned allocators,
 * pthread_mutex_lock and the printf family made on watched threads, twice:
 * calls made inside a callback (our code and what it calls) and calls made
 * anywhere on the thread (JACK's own loop included).
 *
 * Build: cc -shared -fPIC -O2 -o rtprobe.so rtprobe.c -ldl -lpthread
 * Use from the preloaded process through ctypes: rtprobe_arm(int),
 * rtprobe_report(char *buf, int size).
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <jack/jack.h>
#include <jack/metadata.h>
#include <jack/transport.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

enum { F_MALLOC, F_CALLOC, F_REALLOC, F_FREE, F_MEMALIGN, F_MUTEX_LOCK, F_PRINTF, F_COUNT };
static const char *const func_names[F_COUNT] = {
    "malloc", "calloc", "realloc", "free", "memalign", "pthread_mutex_lock", "printf",
};

enum { ROLE_PROCESS = 1, ROLE_NOTIFY = 2 };

#define MAX_THREADS 256

typedef struct slot {
    atomic_int tid;
    atomic_int roles;
    atomic_ulong callbacks[2];          /* process, notify callback entries while armed */
    atomic_ulong in_callback[F_COUNT];  /* calls made inside our callbacks */
    atomic_ulong on_thread[F_COUNT];    /* calls made anywhere on the thread */
} slot;

static slot slots[MAX_THREADS];
static atomic_int slot_count;
static atomic_int armed;

#define TLS __thread __attribute__((tls_model("initial-exec")))
static TLS slot *my_slot;
static TLS int callback_depth;

static void count(int f)
{
    slot *s = my_slot;
    if (s == NULL || !atomic_load_explicit(&armed, memory_order_relaxed))
        return;
    atomic_fetch_add_explicit(&s->on_thread[f], 1, memory_order_relaxed);
    if (callback_depth > 0)
        atomic_fetch_add_explicit(&s->in_callback[f], 1, memory_order_relaxed);
}

/* Called on entry to every wrapped callback: watch this thread. */
static void enter(int role)
{
    if (my_slot == NULL) {
        int i = atomic_fetch_add(&slot_count, 1);
        if (i >= MAX_THREADS)
            abort();
        atomic_store(&slots[i].tid, (int)syscall(SYS_gettid));
        my_slot = &slots[i];
    }
    atomic_fetch_or(&my_slot->roles, role);
    if (atomic_load_explicit(&armed, memory_order_relaxed))
        atomic_fetch_add_explicit(&my_slot->callbacks[role == ROLE_NOTIFY], 1, memory_order_relaxed);
    callback_depth++;
}

static void leave(void) { callback_depth--; }

/* ---------------------------------------------------------------------- */
/* The counted functions.                                                  */

extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void __libc_free(void *);
extern void *__libc_memalign(size_t, size_t);

void *malloc(size_t n) { count(F_MALLOC); return __libc_malloc(n); }
void *calloc(size_t n, size_t size) { count(F_CALLOC); return __libc_calloc(n, size); }
void *realloc(void *p, size_t n) { count(F_REALLOC); return __libc_realloc(p, n); }
void free(void *p) { count(F_FREE); __libc_free(p); }
void *memalign(size_t align, size_t n) { count(F_MEMALIGN); return __libc_memalign(align, n); }
void *aligned_alloc(size_t align, size_t n) { count(F_MEMALIGN); return __libc_memalign(align, n); }

int posix_memalign(void **out, size_t align, size_t n)
{
    count(F_MEMALIGN);
    if (align < sizeof(void *) || (align & (align - 1)) != 0)
        return 22; /* EINVAL */
    void *p = __libc_memalign(align, n);
    if (p == NULL)
        return 12; /* ENOMEM */
    *out = p;
    return 0;
}

/* Look up the next definition of a function once. */
#define NEXT(type, name) \
    static __typeof__(type) real; \
    if (real == NULL) \
        real = (__typeof__(type))dlsym(RTLD_NEXT, name)

int pthread_mutex_lock(pthread_mutex_t *m)
{
    NEXT(int (*)(pthread_mutex_t *), "pthread_mutex_lock");
    count(F_MUTEX_LOCK);
    return real(m);
}

int vfprintf(FILE *f, const char *fmt, va_list ap)
{
    NEXT(int (*)(FILE *, const char *, va_list), "vfprintf");
    count(F_PRINTF);
    return real(f, fmt, ap);
}

int vprintf(const char *fmt, va_list ap) { return vfprintf(stdout, fmt, ap); }

int fprintf(FILE *f, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vfprintf(f, fmt, ap);
    va_end(ap);
    return n;
}

int printf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vfprintf(stdout, fmt, ap);
    va_end(ap);
    return n;
}

int vdprintf(int fd, const char *fmt, va_list ap)
{
    NEXT(int (*)(int, const char *, va_list), "vdprintf");
    count(F_PRINTF);
    return real(fd, fmt, ap);
}

int dprintf(int fd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vdprintf(fd, fmt, ap);
    va_end(ap);
    return n;
}

int puts(const char *s)
{
    NEXT(int (*)(const char *), "puts");
    count(F_PRINTF);
    return real(s);
}

int fputs(const char *s, FILE *f)
{
    NEXT(int (*)(const char *, FILE *), "fputs");
    count(F_PRINTF);
    return real(s, f);
}

void perror(const char *s)
{
    NEXT(void (*)(const char *), "perror");
    count(F_PRINTF);
    real(s);
}

/* Fortified builds (-D_FORTIFY_SOURCE) call these instead of printf. */
int __vfprintf_chk(FILE *f, int flag, const char *fmt, va_list ap)
{
    NEXT(int (*)(FILE *, int, const char *, va_list), "__vfprintf_chk");
    count(F_PRINTF);
    return real(f, flag, fmt, ap);
}

int __vprintf_chk(int flag, const char *fmt, va_list ap) { return __vfprintf_chk(stdout, flag, fmt, ap); }

int __fprintf_chk(FILE *f, int flag, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = __vfprintf_chk(f, flag, fmt, ap);
    va_end(ap);
    return n;
}

int __printf_chk(int flag, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = __vfprintf_chk(stdout, flag, fmt, ap);
    va_end(ap);
    return n;
}

/* ---------------------------------------------------------------------- */
/* Callback wrappers. Each registration gets a small record holding the    */
/* client's function and argument; JACK calls the wrapper with the record. */

typedef struct wrapped {
    void (*fn)(void);
    void *arg;
} wrapped;

static wrapped *wrap(void (*fn)(void), void *arg)
{
    wrapped *w = __libc_malloc(sizeof *w);  /* never freed: a few per client */
    w->fn = fn;
    w->arg = arg;
    return w;
}

#define FN(type) ((type)w->fn)

static int w_process(jack_nframes_t n, void *a)
{
    wrapped *w = a;
    enter(ROLE_PROCESS);
    int rc = FN(JackProcessCallback)(n, w->arg);
    leave();
    return rc;
}

static int w_sync(jack_transport_state_t st, jack_position_t *pos, void *a)
{
    wrapped *w = a;
    enter(ROLE_PROCESS);
    int rc = FN(JackSyncCallback)(st, pos, w->arg);
    leave();
    return rc;
}

static void w_timebase(jack_transport_state_t st, jack_nframes_t n, jack_position_t *pos, int new_pos, void *a)
{
    wrapped *w = a;
    enter(ROLE_PROCESS);
    FN(JackTimebaseCallback)(st, n, pos, new_pos, w->arg);
    leave();
}

static int w_nframes(jack_nframes_t n, void *a)  /* buffer size, sample rate */
{
    wrapped *w = a;
    enter(ROLE_NOTIFY);
    int rc = FN(JackBufferSizeCallback)(n, w->arg);
    leave();
    return rc;
}

static int w_void(void *a)  /* xrun, graph order */
{
    wrapped *w = a;
    enter(ROLE_NOTIFY);
    int rc = FN(JackXRunCallback)(w->arg);
    leave();
    return rc;
}

static void w_freewheel(int starting, void *a)
{
    wrapped *w = a;
    enter(ROLE_NOTIFY);
    FN(JackFreewheelCallback)(starting, w->arg);
    leave();
}

static void w_client_registration(const char *name, int reg, void *a)
{
    wrapped *w = a;
    enter(ROLE_NOTIFY);
    FN(JackClientRegistrationCallback)(name, reg, w->arg);
    leave();
}

static void w_port_registration(jack_port_id_t id, int reg, void *a)
{
    wrapped *w = a;
    enter(ROLE_NOTIFY);
    FN(JackPortRegistrationCallback)(id, reg, w->arg);
    leave();
}

static void w_port_connect(jack_port_id_t x, jack_port_id_t y, int connected, void *a)
{
    wrapped *w = a;
    enter(ROLE_NOTIFY);
    FN(JackPortConnectCallback)(x, y, connected, w->arg);
    leave();
}

static void w_port_rename(jack_port_id_t id, const char *old_name, const char *new_name, void *a)
{
    wrapped *w = a;
    enter(ROLE_NOTIFY);
    FN(JackPortRenameCallback)(id, old_name, new_name, w->arg);
    leave();
}

static void w_latency(jack_latency_callback_mode_t mode, void *a)
{
    wrapped *w = a;
    enter(ROLE_NOTIFY);
    FN(JackLatencyCallback)(mode, w->arg);
    leave();
}

static void w_property_change(jack_uuid_t subject, const char *key, jack_property_change_t change,
                              void *a)
{
    wrapped *w = a;
    enter(ROLE_NOTIFY);
    FN(JackPropertyChangeCallback)(subject, key, change, w->arg);
    leave();
}

static void w_info_shutdown(jack_status_t code, const char *reason, void *a)
{
    wrapped *w = a;
    enter(ROLE_NOTIFY);
    FN(JackInfoShutdownCallback)(code, reason, w->arg);
    leave();
}

static void w_shutdown(void *a)
{
    wrapped *w = a;
    enter(ROLE_NOTIFY);
    FN(JackShutdownCallback)(w->arg);
    leave();
}

#define SETTER(ret, name, type, wrapper) \
    ret name(jack_client_t *c, type fn, void *arg) \
    { \
        NEXT(ret (*)(jack_client_t *, type, void *), #name); \
        if (fn == NULL) \
            return real(c, fn, arg); \
        return real(c, (type)wrapper, wrap((void (*)(void))fn, arg)); \
    }

SETTER(int, jack_set_process_callback, JackProcessCallback, w_process)
SETTER(int, jack_set_sync_callback, JackSyncCallback, w_sync)
SETTER(int, jack_set_buffer_size_callback, JackBufferSizeCallback, w_nframes)
SETTER(int, jack_set_sample_rate_callback, JackSampleRateCallback, w_nframes)
SETTER(int, jack_set_xrun_callback, JackXRunCallback, w_void)
SETTER(int, jack_set_graph_order_callback, JackGraphOrderCallback, w_void)
SETTER(int, jack_set_freewheel_callback, JackFreewheelCallback, w_freewheel)
SETTER(int, jack_set_client_registration_callback, JackClientRegistrationCallback, w_client_registration)
SETTER(int, jack_set_port_registration_callback, JackPortRegistrationCallback, w_port_registration)
SETTER(int, jack_set_port_connect_callback, JackPortConnectCallback, w_port_connect)
SETTER(int, jack_set_port_rename_callback, JackPortRenameCallback, w_port_rename)
SETTER(int, jack_set_latency_callback, JackLatencyCallback, w_latency)
SETTER(int, jack_set_property_change_callback, JackPropertyChangeCallback, w_property_change)

int jack_set_timebase_callback(jack_client_t *c, int conditional, JackTimebaseCallback fn, void *arg)
{
    NEXT(int (*)(jack_client_t *, int, JackTimebaseCallback, void *), "jack_set_timebase_callback");
    if (fn == NULL)
        return real(c, conditional, fn, arg);
    return real(c, conditional, w_timebase, wrap((void (*)(void))fn, arg));
}

void jack_on_info_shutdown(jack_client_t *c, JackInfoShutdownCallback fn, void *arg)
{
    NEXT(void (*)(jack_client_t *, JackInfoShutdownCallback, void *), "jack_on_info_shutdown");
    real(c, fn ? w_info_shutdown : NULL, fn ? wrap((void (*)(void))fn, arg) : arg);
}

void jack_on_shutdown(jack_client_t *c, JackShutdownCallback fn, void *arg)
{
    NEXT(void (*)(jack_client_t *, JackShutdownCallback, void *), "jack_on_shutdown");
    real(c, fn ? w_shutdown : NULL, fn ? wrap((void (*)(void))fn, arg) : arg);
}

/* ---------------------------------------------------------------------- */
/* Control, called by the test through ctypes.                            */

void rtprobe_arm(int on) { atomic_store(&armed, on != 0); }

/* One line per watched thread and one per nonzero counter:
 *   thread <tid> roles=<process,notify> process=<n> notify=<n>
 *   count <tid> <function> <in_callback> <on_thread>
 * Returns the length written (truncated to size - 1). */
int rtprobe_report(char *buf, int size)
{
    int used = 0;
    int n = atomic_load(&slot_count);
    for (int i = 0; i < n && used < size; i++) {
        slot *s = &slots[i];
        int roles = atomic_load(&s->roles);
        used += snprintf(buf + used, size - used, "thread %d roles=%s%s%s process=%lu notify=%lu\n",
                         atomic_load(&s->tid), roles & ROLE_PROCESS ? "process" : "",
                         roles == (ROLE_PROCESS | ROLE_NOTIFY) ? "," : "",
                         roles & ROLE_NOTIFY ? "notify" : "", atomic_load(&s->callbacks[0]),
                         atomic_load(&s->callbacks[1]));
        for (int f = 0; f < F_COUNT && used < size; f++) {
            unsigned long in = atomic_load(&s->in_callback[f]);
            unsigned long on = atomic_load(&s->on_thread[f]);
            if (in || on)
                used += snprintf(buf + used, size - used, "count %d %s %lu %lu\n",
                                 atomic_load(&s->tid), func_names[f], in, on);
        }
    }
    return used < size ? used : size - 1;
}
