/* pyjack real-time engine.
 *
 * Threads, and what each may do here:
 *
 * 1. JACK's process thread runs rt_process() and nothing else of ours. It
 *    copies between JACK port buffers and the rings, zero-fills and counts on
 *    output underrun, drops whole cycles and counts them on input overrun,
 *    updates atomic counters and posts at most one semaphore a cycle. It never
 *    allocates, frees, locks, prints, sleeps or touches Python; the only
 *    system call it may make is that sem_post (a futex wake).
 *
 *    Freewheel is the one exception. JACK is not real time then: it runs
 *    cycles back to back and waits for every client. So while freewheeling,
 *    instead of dropping input on a full ring or zero-filling output on an
 *    empty one (once output has started), the process thread waits for
 *    Python on the `room` semaphore, in 10 ms slices, which Python posts
 *    after each exchange. It stops waiting, and drops and counts as usual,
 *    when freewheel ends, the client is deactivated, closed or shut down,
 *    a port change needs the cycle to end, or Python made no progress
 *    for FREEWHEEL_WAIT_MS (under the 10 s JACK2 waits for a client); after
 *    such a timeout it does not wait again until Python makes progress.
 *    Rendering through process() in freewheel is therefore lossless.
 *
 * 2. JACK's notification thread runs the on_* callbacks below. They update
 *    atomics and push fixed-size rt_event records into a preallocated
 *    lock-free ring, then post a semaphore. Same rules as the process thread:
 *    no allocation, no lock, no printing, no Python. They may call
 *    jack_port_by_id() and jack_port_name(), which only read the client's
 *    shared-memory copy of the graph.
 *
 *    tests/test_rtsafe.py checks rules 1 and 2 by counting the calls made
 *    on both threads with an LD_PRELOAD library.
 *
 * 3. Python threads call every other rt_* function, always outside the GIL
 *    for anything that waits. They serialise among themselves with two
 *    mutexes that the JACK threads never take, always taken in this order:
 *    - ports_lock around every libjack request on the client (port changes,
 *      connections, listing, activation, close; rt_request_begin/end for
 *      those made outside this file): libjack mixes up the replies of
 *      requests sent by two threads at once on one client, and rt_close()
 *      frees the client;
 *    - lock around the tables, rings and stream positions, held only for
 *      copies and table swaps, so process() never waits for a server
 *      round trip of another thread.
 *    Waits are slices of at most the caller's wait_ms so that Python can
 *    answer Ctrl-C and timeouts.
 *
 * Data path: one jack_ringbuffer_t per port and direction, holding float32
 * frames, depth frames deep. The process thread is the writer of the input
 * rings and the reader of the output rings; Python the other end. Each
 * direction is one stream with a frame position that both sides count. A
 * port added while active starts at a known stream position (its base):
 * frames before it read as silence, so ports stay aligned sample for sample.
 *
 * The set of ports the process thread sees is an immutable table swapped
 * atomically. The old table (and any port removed with it) is freed only
 * after the process thread has left every cycle that may have loaded it:
 * the thread counts cycles entered and left, and the swapper waits until
 * the cycles left catch up with the cycles entered at the time of the swap.
 */
#define _GNU_SOURCE
#include "_rt.h"

#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define FRAME_BYTES sizeof(float)
#define EVENT_QUEUE_LENGTH 256
#define FREEWHEEL_WAIT_MS 5000
#define FREEWHEEL_SLICE_MS 10

typedef struct rt_port {
    jack_port_t *port;
    jack_ringbuffer_t *ring;
    int dir;
    /* Stream position of the first frame the ring holds or will hold. */
    _Atomic uint64_t base;
    /* Input ports added while active: the process thread sets base on the
     * first cycle that sees the port, then clears this. */
    atomic_int pending;
} rt_port;

typedef struct rt_table {
    uint32_t count;
    rt_port *ports[];
} rt_table;

/* Where a stream position met a JACK frame time, published by the process
 * thread with a sequence lock and read by Python. */
typedef struct rt_anchor {
    atomic_uint seq;
    _Atomic uint64_t position;
    _Atomic uint32_t time;
    atomic_int valid;
} rt_anchor;

struct rt_engine {
    jack_client_t *client;
    uint32_t depth;
    size_t depth_bytes;
    int processing;
    int mlocked;

    pthread_mutex_t ports_lock; /* Python threads only: port changes and close */
    pthread_mutex_t lock;       /* Python threads only: tables, rings, positions */
    sem_t wake;              /* posted by the process thread for Python */
    atomic_int waiter;       /* a Python thread is about to wait on wake */
    atomic_int busy;         /* a Python thread is inside an exchange */

    atomic_int active;
    atomic_int dead;
    atomic_int closed;

    _Atomic(rt_table *) tables[2];
    atomic_uint_fast64_t cycles_entered;
    atomic_uint_fast64_t cycles_left;

    /* Stream positions. rt_pos is advanced by the process thread (frames
     * written into input rings, frames taken from output rings); py_pos by
     * Python under the lock (frames read, frames queued). */
    _Atomic uint64_t rt_pos[2];
    uint64_t py_pos[2];
    atomic_int output_started;
    rt_anchor anchors[2];

    atomic_uint_fast64_t cycles;
    atomic_uint_fast64_t frames_in;
    atomic_uint_fast64_t frames_out;
    atomic_uint_fast64_t lost_in;
    atomic_uint_fast64_t lost_out;
    atomic_uint_fast64_t xruns;
    uint64_t seen_lost_in;   /* Python, under the lock */
    uint64_t seen_lost_out;
    atomic_uint buffer_size;
    atomic_uint sample_rate;
    atomic_int freewheel;
    /* Freewheel waits of the process thread (see the top of the file). */
    sem_t room;              /* posted by Python for the process thread */
    atomic_int rt_waiting;   /* the process thread is about to wait on room */
    atomic_int fw_gave_up;   /* a wait timed out; none until Python moves */
    atomic_int stopping;     /* deactivate or close under way */
    atomic_int swapping;     /* a port change waits for the cycle to end */

    atomic_uint event_counts[RT_EV_KINDS];
    atomic_int events_enabled;
    jack_ringbuffer_t *events;
    sem_t event_wake;
    atomic_uint_fast64_t events_dropped;
    char shutdown_reason[256];
};

/* ---------------------------------------------------------------------- */
/* Ring access with explicit fences: jack_ringbuffer_t itself has none on  */
/* weakly ordered CPUs.                                                     */

static size_t ring_readable(jack_ringbuffer_t *r)
{
    size_t n = jack_ringbuffer_read_space(r);
    atomic_thread_fence(memory_order_acquire);
    return n;
}

static void ring_put(jack_ringbuffer_t *r, const void *src, size_t bytes)
{
    jack_ringbuffer_data_t v[2];
    jack_ringbuffer_get_write_vector(r, v);
    size_t first = bytes < v[0].len ? bytes : v[0].len;
    memcpy(v[0].buf, src, first);
    if (bytes > first)
        memcpy(v[1].buf, (const char *)src + first, bytes - first);
    atomic_thread_fence(memory_order_release);
    jack_ringbuffer_write_advance(r, bytes);
}

static void ring_get(jack_ringbuffer_t *r, void *dst, size_t bytes)
{
    jack_ringbuffer_data_t v[2];
    jack_ringbuffer_get_read_vector(r, v);
    size_t first = bytes < v[0].len ? bytes : v[0].len;
    memcpy(dst, v[0].buf, first);
    if (bytes > first)
        memcpy((char *)dst + first, v[1].buf, bytes - first);
    atomic_thread_fence(memory_order_release);
    jack_ringbuffer_read_advance(r, bytes);
}

/* Strided variants for Python's arrays: frame_stride bytes between frames. */
static void ring_put_strided(jack_ringbuffer_t *r, const char *src, ptrdiff_t stride, size_t frames)
{
    if (stride == (ptrdiff_t)FRAME_BYTES) {
        ring_put(r, src, frames * FRAME_BYTES);
        return;
    }
    jack_ringbuffer_data_t v[2];
    jack_ringbuffer_get_write_vector(r, v);
    size_t done = 0;
    for (int part = 0; part < 2 && done < frames; part++) {
        float *dst = (float *)v[part].buf;
        size_t n = v[part].len / FRAME_BYTES;
        for (size_t i = 0; i < n && done < frames; i++, done++)
            memcpy(&dst[i], src + (ptrdiff_t)done * stride, FRAME_BYTES);
    }
    atomic_thread_fence(memory_order_release);
    jack_ringbuffer_write_advance(r, frames * FRAME_BYTES);
}

static void ring_get_strided(jack_ringbuffer_t *r, char *dst, ptrdiff_t stride, size_t frames)
{
    if (stride == (ptrdiff_t)FRAME_BYTES) {
        ring_get(r, dst, frames * FRAME_BYTES);
        return;
    }
    jack_ringbuffer_data_t v[2];
    jack_ringbuffer_get_read_vector(r, v);
    size_t done = 0;
    for (int part = 0; part < 2 && done < frames; part++) {
        const float *src = (const float *)v[part].buf;
        size_t n = v[part].len / FRAME_BYTES;
        for (size_t i = 0; i < n && done < frames; i++, done++)
            memcpy(dst + (ptrdiff_t)done * stride, &src[i], FRAME_BYTES);
    }
    atomic_thread_fence(memory_order_release);
    jack_ringbuffer_read_advance(r, frames * FRAME_BYTES);
}

static void fill_zero_strided(char *dst, ptrdiff_t stride, size_t frames)
{
    if (stride == (ptrdiff_t)FRAME_BYTES) {
        memset(dst, 0, frames * FRAME_BYTES);
        return;
    }
    const float zero = 0.0f;
    for (size_t i = 0; i < frames; i++)
        memcpy(dst + (ptrdiff_t)i * stride, &zero, FRAME_BYTES);
}

/* ---------------------------------------------------------------------- */
/* Anchors: a sequence lock with one writer (the process thread).          */

static void anchor_store(rt_anchor *a, uint64_t position, uint32_t time)
{
    unsigned seq = atomic_load_explicit(&a->seq, memory_order_relaxed);
    atomic_store_explicit(&a->seq, seq + 1, memory_order_relaxed);
    atomic_thread_fence(memory_order_release);
    atomic_store_explicit(&a->position, position, memory_order_relaxed);
    atomic_store_explicit(&a->time, time, memory_order_relaxed);
    atomic_store_explicit(&a->valid, 1, memory_order_relaxed);
    atomic_store_explicit(&a->seq, seq + 2, memory_order_release);
}

static int anchor_load(rt_anchor *a, uint64_t *position, uint32_t *time)
{
    for (;;) {
        unsigned before = atomic_load_explicit(&a->seq, memory_order_acquire);
        if (before & 1u)
            continue;
        uint64_t p = atomic_load_explicit(&a->position, memory_order_relaxed);
        uint32_t t = atomic_load_explicit(&a->time, memory_order_relaxed);
        int valid = atomic_load_explicit(&a->valid, memory_order_relaxed);
        atomic_thread_fence(memory_order_acquire);
        if (atomic_load_explicit(&a->seq, memory_order_relaxed) == before) {
            *position = p;
            *time = t;
            return valid;
        }
    }
}

static void anchor_reset(rt_anchor *a)
{
    atomic_store(&a->valid, 0);
    atomic_store(&a->position, 0);
    atomic_store(&a->time, 0);
}

/* ---------------------------------------------------------------------- */
/* The process thread.                                                     */

static inline uint64_t min_u64(uint64_t a, uint64_t b) { return a < b ? a : b; }

static inline uint64_t frames_before(uint64_t base, uint64_t position)
{
    return base > position ? base - position : 0;
}

static void wake_python(rt_engine *e)
{
    if (atomic_exchange(&e->waiter, 0))
        sem_post(&e->wake);
}

static void deadline_after(struct timespec *ts, int ms);

/* Freewheel only: called in a loop while the cycle cannot go on without
 * Python. The first call announces the wait and returns so that the caller
 * looks once more; later calls sleep one slice. Returns 0 when the process
 * thread must stop waiting and drop or zero-fill as in real time. */
static int freewheel_wait(rt_engine *e, struct timespec *deadline, int *started)
{
    if (!atomic_load(&e->freewheel) || atomic_load(&e->fw_gave_up) || atomic_load(&e->stopping)
        || atomic_load(&e->swapping) || atomic_load(&e->closed) || atomic_load(&e->dead))
        return 0;
    if (!*started) {
        *started = 1;
        deadline_after(deadline, FREEWHEEL_WAIT_MS);
        wake_python(e);  /* Python must not be asleep while we wait for it */
        atomic_store(&e->rt_waiting, 1);
        return 1;
    }
    struct timespec now, slice;
    deadline_after(&slice, FREEWHEEL_SLICE_MS);
    sem_clockwait(&e->room, CLOCK_MONOTONIC, &slice);  /* timeout or EINTR: look again */
    clock_gettime(CLOCK_MONOTONIC, &now);
    if (now.tv_sec > deadline->tv_sec
        || (now.tv_sec == deadline->tv_sec && now.tv_nsec >= deadline->tv_nsec)) {
        atomic_store(&e->fw_gave_up, 1);
        return 0;
    }
    atomic_store(&e->rt_waiting, 1);
    return 1;
}

/* Python, after it took input or queued output. */
static void wake_rt(rt_engine *e)
{
    atomic_store_explicit(&e->fw_gave_up, 0, memory_order_relaxed);
    if (atomic_exchange(&e->rt_waiting, 0))
        sem_post(&e->room);
}

static int input_fits(rt_engine *e, rt_table *t, size_t bytes)
{
    for (uint32_t i = 0; i < t->count; i++)
        if (jack_ringbuffer_read_space(t->ports[i]->ring) + bytes > e->depth_bytes)
            return 0;
    return 1;
}

static void move_input(rt_engine *e, jack_nframes_t n, jack_nframes_t now)
{
    rt_table *t = atomic_load(&e->tables[RT_INPUT]);
    if (t == NULL || t->count == 0)
        return;
    size_t bytes = (size_t)n * FRAME_BYTES;
    /* Drop the whole cycle for every port if one ring lacks room, so the
     * ports never drift apart. */
    struct timespec deadline;
    int started = 0;
    while (!input_fits(e, t, bytes)) {
        if (!freewheel_wait(e, &deadline, &started)) {
            atomic_fetch_add_explicit(&e->lost_in, n, memory_order_relaxed);
            return;
        }
    }
    uint64_t position = atomic_load_explicit(&e->rt_pos[RT_INPUT], memory_order_relaxed);
    /* Settle every new port's base before writing any frame of this cycle:
     * Python relies on seeing the base once it sees the cycle's frames. */
    for (uint32_t i = 0; i < t->count; i++) {
        rt_port *p = t->ports[i];
        if (atomic_load_explicit(&p->pending, memory_order_acquire)) {
            atomic_store_explicit(&p->base, position, memory_order_relaxed);
            atomic_store_explicit(&p->pending, 0, memory_order_release);
        }
    }
    for (uint32_t i = 0; i < t->count; i++) {
        const float *buf = jack_port_get_buffer(t->ports[i]->port, n);
        ring_put(t->ports[i]->ring, buf, bytes);
    }
    atomic_store_explicit(&e->rt_pos[RT_INPUT], position + n, memory_order_release);
    atomic_fetch_add_explicit(&e->frames_in, n, memory_order_relaxed);
    anchor_store(&e->anchors[RT_INPUT], position, now);
}

static void move_output(rt_engine *e, jack_nframes_t n, jack_nframes_t now)
{
    rt_table *t = atomic_load(&e->tables[RT_OUTPUT]);
    if (t == NULL || t->count == 0)
        return;
    uint64_t position = atomic_load_explicit(&e->rt_pos[RT_OUTPUT], memory_order_relaxed);
    uint64_t take;
    struct timespec deadline;
    int started = 0;
    for (;;) {
        take = n;
        for (uint32_t i = 0; i < t->count; i++) {
            rt_port *p = t->ports[i];
            uint64_t base = atomic_load_explicit(&p->base, memory_order_acquire);
            uint64_t have = frames_before(base, position) + ring_readable(p->ring) / FRAME_BYTES;
            take = min_u64(take, have);
        }
        if (take == n || !atomic_load_explicit(&e->output_started, memory_order_relaxed)
            || !freewheel_wait(e, &deadline, &started))
            break;
    }
    for (uint32_t i = 0; i < t->count; i++) {
        rt_port *p = t->ports[i];
        float *buf = jack_port_get_buffer(p->port, n);
        uint64_t base = atomic_load_explicit(&p->base, memory_order_relaxed);
        uint64_t silent = min_u64(take, frames_before(base, position));
        memset(buf, 0, silent * FRAME_BYTES);
        ring_get(p->ring, buf + silent, (take - silent) * FRAME_BYTES);
        memset(buf + take, 0, (n - take) * FRAME_BYTES);
    }
    atomic_store_explicit(&e->rt_pos[RT_OUTPUT], position + take, memory_order_release);
    if (take > 0) {
        atomic_fetch_add_explicit(&e->frames_out, take, memory_order_relaxed);
        anchor_store(&e->anchors[RT_OUTPUT], position, now);
    }
    if (take < n && atomic_load_explicit(&e->output_started, memory_order_relaxed))
        atomic_fetch_add_explicit(&e->lost_out, n - take, memory_order_relaxed);
}

static int rt_process(jack_nframes_t n, void *arg)
{
    rt_engine *e = arg;
    atomic_fetch_add(&e->cycles_entered, 1);
    jack_nframes_t now = jack_last_frame_time(e->client);
    move_input(e, n, now);
    move_output(e, n, now);
    atomic_fetch_add_explicit(&e->cycles, 1, memory_order_relaxed);
    atomic_fetch_add(&e->cycles_left, 1);
    wake_python(e);
    return 0;
}

/* ---------------------------------------------------------------------- */
/* The notification thread.                                                */

static void copy_name(char *dst, const char *src)
{
    if (src == NULL) {
        dst[0] = '\0';
        return;
    }
    size_t n = strnlen(src, RT_NAME_SIZE - 1);
    memcpy(dst, src, n);
    dst[n] = '\0';
}

static void port_name_of(rt_engine *e, jack_port_id_t id, char *dst)
{
    jack_port_t *port = jack_port_by_id(e->client, id);
    copy_name(dst, port ? jack_port_name(port) : NULL);
}

/* Count the event for check_events(); queue a record when Python asked for
 * them. Called from the notification thread only (single producer). */
static void push_event(rt_engine *e, const rt_event *ev)
{
    atomic_fetch_add(&e->event_counts[ev->kind], 1);
    if (!atomic_load(&e->events_enabled))
        return;
    if (jack_ringbuffer_write_space(e->events) < sizeof(rt_event)) {
        atomic_fetch_add(&e->events_dropped, 1);
        return;
    }
    ring_put(e->events, ev, sizeof(rt_event));
    sem_post(&e->event_wake);
}

static void push_simple(rt_engine *e, uint32_t kind, int32_t value)
{
    rt_event ev;
    ev.kind = kind;
    ev.value = value;
    ev.a[0] = ev.b[0] = '\0';
    push_event(e, &ev);
}

static int on_xrun(void *arg)
{
    rt_engine *e = arg;
    atomic_fetch_add(&e->xruns, 1);
    push_simple(e, RT_EV_XRUN, 0);
    return 0;
}

static int on_graph_order(void *arg)
{
    push_simple(arg, RT_EV_GRAPH_ORDER, 0);
    return 0;
}

static void on_port_registration(jack_port_id_t id, int registered, void *arg)
{
    rt_engine *e = arg;
    rt_event ev;
    ev.kind = RT_EV_PORT_REGISTRATION;
    ev.value = registered;
    port_name_of(e, id, ev.a);
    ev.b[0] = '\0';
    push_event(e, &ev);
}

static void on_port_connect(jack_port_id_t a, jack_port_id_t b, int connected, void *arg)
{
    rt_engine *e = arg;
    rt_event ev;
    ev.kind = RT_EV_PORT_CONNECT;
    ev.value = connected;
    port_name_of(e, a, ev.a);
    port_name_of(e, b, ev.b);
    push_event(e, &ev);
}

static void on_port_rename(jack_port_id_t id, const char *old_name, const char *new_name, void *arg)
{
    (void)id;
    rt_event ev;
    ev.kind = RT_EV_PORT_RENAME;
    ev.value = 0;
    copy_name(ev.a, old_name);
    copy_name(ev.b, new_name);
    push_event(arg, &ev);
}

static void on_client_registration(const char *name, int registered, void *arg)
{
    rt_event ev;
    ev.kind = RT_EV_CLIENT_REGISTRATION;
    ev.value = registered;
    copy_name(ev.a, name);
    ev.b[0] = '\0';
    push_event(arg, &ev);
}

static void on_freewheel(int starting, void *arg)
{
    rt_engine *e = arg;
    atomic_store(&e->freewheel, starting != 0);
    atomic_store(&e->fw_gave_up, 0);
    sem_post(&e->room);  /* a waiting process thread looks at the flag again */
    push_simple(e, RT_EV_FREEWHEEL, starting != 0);
}

/* JACK may call these two on the process thread with the cycle suspended,
 * so they only touch atomics; Python builds their events from the counts. */
static int on_buffer_size(jack_nframes_t n, void *arg)
{
    rt_engine *e = arg;
    atomic_store(&e->buffer_size, n);
    atomic_fetch_add(&e->event_counts[RT_EV_BUFFER_SIZE], 1);
    return 0;
}

static int on_sample_rate(jack_nframes_t n, void *arg)
{
    rt_engine *e = arg;
    atomic_store(&e->sample_rate, n);
    atomic_fetch_add(&e->event_counts[RT_EV_SAMPLE_RATE], 1);
    return 0;
}

/* Runs on whichever JACK thread noticed the server go away. */
static void on_shutdown(jack_status_t code, const char *reason, void *arg)
{
    (void)code;
    rt_engine *e = arg;
    if (reason != NULL) {
        size_t n = strnlen(reason, sizeof e->shutdown_reason - 1);
        memcpy(e->shutdown_reason, reason, n);
        e->shutdown_reason[n] = '\0';
    }
    atomic_store(&e->dead, 1);
    atomic_fetch_add(&e->event_counts[RT_EV_SHUTDOWN], 1);
    sem_post(&e->wake);
    sem_post(&e->event_wake);
}

/* ---------------------------------------------------------------------- */
/* Python threads: lifetime.                                               */

rt_engine *rt_create(uint32_t depth_frames)
{
    if (depth_frames == 0)
        return NULL;
    rt_engine *e = calloc(1, sizeof *e);
    if (e == NULL)
        return NULL;
    e->depth = depth_frames;
    e->depth_bytes = (size_t)depth_frames * FRAME_BYTES;
    e->mlocked = 1;
    e->events = jack_ringbuffer_create(EVENT_QUEUE_LENGTH * sizeof(rt_event));
    if (e->events == NULL) {
        free(e);
        return NULL;
    }
    jack_ringbuffer_mlock(e->events);
    memset(e->events->buf, 0, e->events->size);
    pthread_mutex_init(&e->ports_lock, NULL);
    pthread_mutex_init(&e->lock, NULL);
    sem_init(&e->wake, 0, 0);
    sem_init(&e->event_wake, 0, 0);
    sem_init(&e->room, 0, 0);
    return e;
}

int rt_attach(rt_engine *e, jack_client_t *client, int processing)
{
    e->client = client;
    e->processing = processing;
    atomic_store(&e->buffer_size, jack_get_buffer_size(client));
    atomic_store(&e->sample_rate, jack_get_sample_rate(client));
    int rc = 0;
    if (processing)
        rc |= jack_set_process_callback(client, rt_process, e);
    jack_on_info_shutdown(client, on_shutdown, e);
    rc |= jack_set_xrun_callback(client, on_xrun, e);
    rc |= jack_set_graph_order_callback(client, on_graph_order, e);
    rc |= jack_set_port_registration_callback(client, on_port_registration, e);
    rc |= jack_set_port_connect_callback(client, on_port_connect, e);
    rc |= jack_set_port_rename_callback(client, on_port_rename, e);
    rc |= jack_set_client_registration_callback(client, on_client_registration, e);
    rc |= jack_set_freewheel_callback(client, on_freewheel, e);
    rc |= jack_set_buffer_size_callback(client, on_buffer_size, e);
    rc |= jack_set_sample_rate_callback(client, on_sample_rate, e);
    return rc ? -1 : 0;
}

jack_client_t *rt_client(rt_engine *e) { return e->client; }

static void free_port(rt_port *p)
{
    if (p->ring)
        jack_ringbuffer_free(p->ring);
    free(p);
}

void rt_close(rt_engine *e)
{
    pthread_mutex_lock(&e->ports_lock);
    pthread_mutex_lock(&e->lock);
    if (atomic_exchange(&e->closed, 1)) {
        pthread_mutex_unlock(&e->lock);
        pthread_mutex_unlock(&e->ports_lock);
        return;
    }
    sem_post(&e->wake);
    sem_post(&e->event_wake);
    atomic_store(&e->stopping, 1);
    sem_post(&e->room);
    if (e->client != NULL) {
        /* Closing deactivates: after it no JACK thread of ours runs. */
        jack_client_close(e->client);
        e->client = NULL;
    }
    atomic_store(&e->active, 0);
    for (int dir = 0; dir < 2; dir++) {
        rt_table *t = atomic_exchange(&e->tables[dir], NULL);
        if (t == NULL)
            continue;
        for (uint32_t i = 0; i < t->count; i++)
            free_port(t->ports[i]);
        free(t);
    }
    pthread_mutex_unlock(&e->lock);
    pthread_mutex_unlock(&e->ports_lock);
}

void rt_destroy(rt_engine *e)
{
    if (e == NULL)
        return;
    rt_close(e);
    jack_ringbuffer_free(e->events);
    sem_destroy(&e->wake);
    sem_destroy(&e->event_wake);
    sem_destroy(&e->room);
    pthread_mutex_destroy(&e->lock);
    pthread_mutex_destroy(&e->ports_lock);
    free(e);
}

static int gone(rt_engine *e)
{
    if (atomic_load(&e->closed))
        return RT_CLOSED;
    if (atomic_load(&e->dead))
        return RT_SHUTDOWN;
    return RT_OK;
}

int rt_activate(rt_engine *e)
{
    pthread_mutex_lock(&e->ports_lock);
    pthread_mutex_lock(&e->lock);
    int rc = gone(e);
    if (rc == RT_OK && !atomic_load(&e->active)) {
        /* The process thread is not running: both ends are ours. */
        for (int dir = 0; dir < 2; dir++) {
            rt_table *t = atomic_load(&e->tables[dir]);
            for (uint32_t i = 0; t && i < t->count; i++) {
                jack_ringbuffer_reset(t->ports[i]->ring);
                atomic_store(&t->ports[i]->base, 0);
                atomic_store(&t->ports[i]->pending, 0);
            }
            atomic_store(&e->rt_pos[dir], 0);
            e->py_pos[dir] = 0;
            anchor_reset(&e->anchors[dir]);
        }
        atomic_store(&e->output_started, 0);
        atomic_store(&e->stopping, 0);
        atomic_store(&e->fw_gave_up, 0);
        e->seen_lost_in = atomic_load(&e->lost_in);
        e->seen_lost_out = atomic_load(&e->lost_out);
        if (jack_activate(e->client) == 0)
            atomic_store(&e->active, 1);
        else
            rc = -1;
    }
    pthread_mutex_unlock(&e->lock);
    pthread_mutex_unlock(&e->ports_lock);
    return rc;
}

int rt_deactivate(rt_engine *e)
{
    pthread_mutex_lock(&e->ports_lock);
    pthread_mutex_lock(&e->lock);
    int rc = gone(e);
    if (rc == RT_OK && atomic_load(&e->active)) {
        atomic_store(&e->stopping, 1);
        sem_post(&e->room);
        if (jack_deactivate(e->client) == 0)
            atomic_store(&e->active, 0);
        else
            rc = -1;
    }
    pthread_mutex_unlock(&e->lock);
    pthread_mutex_unlock(&e->ports_lock);
    sem_post(&e->wake);
    return rc;
}

int rt_is_active(rt_engine *e) { return atomic_load(&e->active); }

int rt_request_begin(rt_engine *e)
{
    pthread_mutex_lock(&e->ports_lock);
    int rc = gone(e);
    if (rc != RT_OK)
        pthread_mutex_unlock(&e->ports_lock);
    return rc;
}

void rt_request_end(rt_engine *e) { pthread_mutex_unlock(&e->ports_lock); }

/* ---------------------------------------------------------------------- */
/* Python threads: ports.                                                  */

/* Swap in a new table and wait until the process thread can no longer be
 * using the old one. Returns 1 when the old table and anything only it
 * referenced may be freed; 0 if the process thread seems stuck (then we
 * leak rather than risk a use after free). Called with e->lock held. */
static int publish_table(rt_engine *e, int dir, rt_table *fresh, rt_table **old)
{
    *old = atomic_exchange(&e->tables[dir], fresh);
    uint_fast64_t entered = atomic_load(&e->cycles_entered);
    /* A freewheel cycle may be waiting for Python, which is us: stop it. */
    atomic_store(&e->swapping, 1);
    sem_post(&e->room);
    int safe = 0;
    for (int i = 0; i < 20000 && !safe; i++) {  /* 2 s */
        safe = atomic_load(&e->cycles_left) >= entered;
        if (!safe)
            usleep(100);
    }
    atomic_store(&e->swapping, 0);
    return safe;
}

static rt_table *table_with(rt_table *t, rt_port *add, rt_port *drop)
{
    uint32_t count = t ? t->count : 0;
    rt_table *fresh = malloc(sizeof *fresh + (count + 1) * sizeof(rt_port *));
    if (fresh == NULL)
        return NULL;
    fresh->count = 0;
    for (uint32_t i = 0; i < count; i++)
        if (t->ports[i] != drop)
            fresh->ports[fresh->count++] = t->ports[i];
    if (add)
        fresh->ports[fresh->count++] = add;
    return fresh;
}

jack_port_t *rt_register_port(rt_engine *e, const char *name, unsigned long flags, int *error)
{
    int dir = (flags & JackPortIsInput) ? RT_INPUT : RT_OUTPUT;
    /* The server round trip runs under ports_lock only, so process() in
     * another thread keeps moving audio meanwhile. */
    pthread_mutex_lock(&e->ports_lock);
    jack_port_t *port = NULL;
    rt_port *p = NULL;
    *error = gone(e);
    if (*error != RT_OK)
        goto out;
    p = calloc(1, sizeof *p);
    if (p != NULL)  /* +1: a jack ring holds one byte less than its size */
        p->ring = jack_ringbuffer_create(e->depth_bytes + 1);
    if (p == NULL || p->ring == NULL) {
        *error = RT_NOMEM;
        goto out;
    }
    if (jack_ringbuffer_mlock(p->ring) != 0)
        e->mlocked = 0;
    memset(p->ring->buf, 0, p->ring->size);  /* touch every page before use */
    p->dir = dir;
    p->port = port = jack_port_register(e->client, name, JACK_DEFAULT_AUDIO_TYPE, flags, 0);
    if (port == NULL) {
        *error = -1;
        goto out;
    }
    pthread_mutex_lock(&e->lock);
    rt_table *fresh = table_with(atomic_load(&e->tables[dir]), p, NULL);
    if (fresh == NULL) {
        pthread_mutex_unlock(&e->lock);
        jack_port_unregister(e->client, port);
        port = NULL;
        *error = RT_NOMEM;
        goto out;
    }
    if (atomic_load(&e->active)) {
        if (dir == RT_INPUT)
            atomic_store(&p->pending, 1);
        else
            atomic_store(&p->base, e->py_pos[RT_OUTPUT]);
    }
    rt_table *old;
    if (publish_table(e, dir, fresh, &old))
        free(old);
    pthread_mutex_unlock(&e->lock);
    p = NULL;  /* the table owns it now */
out:
    if (p != NULL)
        free_port(p);
    pthread_mutex_unlock(&e->ports_lock);
    return port;
}

static int is_ours(rt_engine *e, jack_port_t *port)
{
    for (int dir = 0; dir < 2; dir++) {
        rt_table *t = atomic_load(&e->tables[dir]);
        for (uint32_t i = 0; t && i < t->count; i++)
            if (t->ports[i]->port == port)
                return 1;
    }
    return 0;
}

/* JACK2 frees a port's id at once but drops its connections only from the
 * next cycle's graph on: a port registered in between (by any client) can
 * get the id and inherit the stale connections, and process threads then
 * mix wrong buffers or recurse without end in jack_port_get_buffer(). So
 * our port is disconnected first, and its id is given back only after the
 * server has started two new cycles. While the client is active this is
 * done every time: jack_port_connected() reads the graph of the running
 * cycle, which does not yet show a connection made a moment ago. An
 * inactive client cannot get new connections, and that graph still shows
 * the ones deactivation removed, so the check is enough there. Called with
 * ports_lock held (not lock), so process() goes on while it waits. Returns
 * gone(e) after. */
static int disconnect_and_settle(rt_engine *e, jack_port_t *port)
{
    if (!is_ours(e, port))
        return RT_OK;
    if (!atomic_load(&e->active) && jack_port_connected(port) <= 0)
        return RT_OK;
    if (jack_port_disconnect(e->client, port) != 0)
        return RT_OK;
    jack_nframes_t rate = jack_get_sample_rate(e->client);
    jack_nframes_t size = jack_get_buffer_size(e->client);
    uint_fast64_t target = atomic_load(&e->cycles_entered) + 2;
    /* A freewheel cycle may be waiting for Python, which is us: stop it. */
    atomic_store(&e->swapping, 1);
    sem_post(&e->room);
    int i = 0;
    while (e->processing && atomic_load(&e->active) && atomic_load(&e->cycles_entered) < target
           && i++ < 20000)
        usleep(100);  /* at most 2 s */
    atomic_store(&e->swapping, 0);
    if (atomic_load(&e->cycles_entered) < target && rate > 0)
        usleep((useconds_t)(2000000.0 * size / rate) + 1000);  /* no cycles of ours to watch */
    return gone(e);
}

int rt_unregister_port(rt_engine *e, jack_port_t *port)
{
    pthread_mutex_lock(&e->ports_lock);
    int rc = gone(e);
    rt_port *p = NULL;
    rt_table *old = NULL;
    int safe = 0;
    if (rc == RT_OK)
        rc = disconnect_and_settle(e, port);
    if (rc != RT_OK)
        goto out;
    pthread_mutex_lock(&e->lock);
    rc = RT_NO_PORT;
    for (int dir = 0; dir < 2 && rc == RT_NO_PORT; dir++) {
        rt_table *t = atomic_load(&e->tables[dir]);
        for (uint32_t i = 0; t && i < t->count; i++) {
            if (t->ports[i]->port != port)
                continue;
            rt_table *fresh = table_with(t, NULL, t->ports[i]);
            if (fresh == NULL) {
                rc = RT_NOMEM;
                break;
            }
            p = t->ports[i];
            safe = publish_table(e, dir, fresh, &old);
            rc = RT_OK;
            break;
        }
    }
    pthread_mutex_unlock(&e->lock);
    if (rc == RT_OK) {
        /* The process thread no longer sees the port: JACK may drop it. */
        rc = jack_port_unregister(e->client, port) == 0 ? RT_OK : -1;
        if (safe) {
            free(old);
            free_port(p);
        }
    }
out:
    pthread_mutex_unlock(&e->ports_lock);
    return rc;
}

uint32_t rt_port_count(rt_engine *e, int dir)
{
    pthread_mutex_lock(&e->lock);
    rt_table *t = atomic_load(&e->tables[dir]);
    uint32_t n = t ? t->count : 0;
    pthread_mutex_unlock(&e->lock);
    return n;
}

/* Under lock, not ports_lock: jack_port_name() only reads shared memory,
 * every port in a table is registered (ports join a table after
 * registering and leave it before unregistering, both under lock), and
 * rt_close() takes lock before it closes the client. So listing ports
 * never waits behind a port change's server round trips. */
uint32_t rt_port_names(rt_engine *e, int dir, char (*names)[RT_NAME_SIZE], uint32_t max)
{
    pthread_mutex_lock(&e->lock);
    rt_table *t = atomic_load(&e->tables[dir]);
    uint32_t n = t ? t->count : 0;
    for (uint32_t i = 0; i < n && i < max; i++)
        copy_name(names[i], jack_port_name(t->ports[i]->port));
    pthread_mutex_unlock(&e->lock);
    return n;
}

/* ---------------------------------------------------------------------- */
/* Python threads: moving frames. All with e->lock held.                   */

static uint64_t input_available(rt_engine *e, rt_table *t)
{
    uint64_t position = e->py_pos[RT_INPUT];
    uint64_t avail = UINT64_MAX;
    for (uint32_t i = 0; i < t->count; i++) {
        rt_port *p = t->ports[i];
        if (atomic_load_explicit(&p->pending, memory_order_acquire))
            continue;  /* silent until the process thread starts it */
        uint64_t base = atomic_load_explicit(&p->base, memory_order_relaxed);
        uint64_t have = frames_before(base, position) + ring_readable(p->ring) / FRAME_BYTES;
        avail = min_u64(avail, have);
    }
    return avail == UINT64_MAX ? 0 : avail;
}

static void read_input(rt_engine *e, rt_table *t, const rt_block *in, uint32_t offset, uint32_t frames)
{
    uint64_t position = e->py_pos[RT_INPUT];
    for (uint32_t i = 0; i < t->count; i++) {
        rt_port *p = t->ports[i];
        char *row = in->data + (ptrdiff_t)i * in->row_stride + (ptrdiff_t)offset * in->frame_stride;
        uint64_t silent = frames;
        /* A port still pending has no frames at or before anything counted
         * as available, because its base is settled before a cycle's frames
         * are written. */
        if (!atomic_load_explicit(&p->pending, memory_order_acquire))
            silent = min_u64(frames, frames_before(atomic_load(&p->base), position));
        fill_zero_strided(row, in->frame_stride, silent);
        ring_get_strided(p->ring, row + (ptrdiff_t)silent * in->frame_stride, in->frame_stride,
                         frames - silent);
    }
    e->py_pos[RT_INPUT] = position + frames;
}

static uint64_t output_space(rt_engine *e, rt_table *t)
{
    uint64_t space = UINT64_MAX;
    for (uint32_t i = 0; i < t->count; i++) {
        size_t used = jack_ringbuffer_read_space(t->ports[i]->ring);
        space = min_u64(space, (e->depth_bytes - used) / FRAME_BYTES);
    }
    return space;
}

static void write_output(rt_engine *e, rt_table *t, const rt_block *out, uint32_t offset, uint32_t frames)
{
    for (uint32_t i = 0; i < t->count; i++) {
        const char *row = out->data + (ptrdiff_t)i * out->row_stride + (ptrdiff_t)offset * out->frame_stride;
        ring_put_strided(t->ports[i]->ring, row, out->frame_stride, frames);
    }
    e->py_pos[RT_OUTPUT] += frames;
    atomic_store(&e->output_started, 1);
}

static void deadline_after(struct timespec *ts, int ms)
{
    clock_gettime(CLOCK_MONOTONIC, ts);
    ts->tv_sec += ms / 1000;
    ts->tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec += 1;
        ts->tv_nsec -= 1000000000L;
    }
}

/* Wait on s until posted or the deadline; 0 when posted. */
static int wait_until(sem_t *s, const struct timespec *deadline)
{
    for (;;) {
        if (sem_clockwait(s, CLOCK_MONOTONIC, deadline) == 0)
            return 0;
        if (errno != EINTR)
            return -1;
    }
}

int rt_exchange_begin(rt_engine *e)
{
    int expected = 0;
    return atomic_compare_exchange_strong(&e->busy, &expected, 1) ? RT_OK : RT_BUSY;
}

void rt_exchange_end(rt_engine *e) { atomic_store(&e->busy, 0); }

int rt_exchange(rt_engine *e, const rt_block *out, const rt_block *in,
                uint32_t nframes, uint32_t *done, int wait_ms)
{
    struct timespec deadline;
    deadline_after(&deadline, wait_ms);
    /* Requests larger than half a ring go in pieces, so the process thread
     * always has room for the next cycle while Python copies. */
    uint32_t piece = e->depth / 2 ? e->depth / 2 : 1;
    pthread_mutex_lock(&e->lock);
    for (;;) {
        int rc = gone(e);
        if (rc == RT_OK && !atomic_load(&e->active))
            rc = RT_INACTIVE;
        rt_table *tin = atomic_load(&e->tables[RT_INPUT]);
        rt_table *tout = atomic_load(&e->tables[RT_OUTPUT]);
        uint32_t nin = tin ? tin->count : 0, nout = tout ? tout->count : 0;
        if (rc == RT_OK && (nin != in->rows || nout != out->rows))
            rc = RT_PORTS_CHANGED;
        if (rc != RT_OK || *done >= nframes) {
            pthread_mutex_unlock(&e->lock);
            return rc;
        }
        uint32_t chunk = nframes - *done < piece ? nframes - *done : piece;
        for (int attempt = 0; attempt < 2; attempt++) {
            uint64_t have = nin ? input_available(e, tin) : UINT64_MAX;
            uint64_t room = nout ? output_space(e, tout) : UINT64_MAX;
            if (have >= chunk && room >= chunk)
                break;
            if (attempt == 0) {
                /* Announce the wait, then look once more so a cycle that
                 * ran in between cannot be missed. */
                atomic_store(&e->waiter, 1);
                continue;
            }
            pthread_mutex_unlock(&e->lock);
            if (wait_until(&e->wake, &deadline) != 0)
                return RT_AGAIN;
            pthread_mutex_lock(&e->lock);
            chunk = 0;  /* look again from the top */
        }
        if (chunk == 0)
            continue;
        if (nin) {
            read_input(e, tin, in, *done, chunk);
            wake_rt(e);
            uint64_t lost = atomic_load(&e->lost_in);
            if (lost != e->seen_lost_in) {
                e->seen_lost_in = lost;
                *done += chunk;
                pthread_mutex_unlock(&e->lock);
                return RT_INPUT_SYNC;
            }
        }
        if (nout) {
            uint64_t lost = atomic_load(&e->lost_out);
            if (lost != e->seen_lost_out) {
                e->seen_lost_out = lost;
                *done += chunk;
                pthread_mutex_unlock(&e->lock);
                return RT_OUTPUT_SYNC;
            }
            write_output(e, tout, out, *done, chunk);
            wake_rt(e);
        }
        *done += chunk;
    }
}

/* ---------------------------------------------------------------------- */
/* Python threads: counters, time, events.                                 */

void rt_get_stats(rt_engine *e, rt_stats *s)
{
    s->cycles = atomic_load(&e->cycles);
    s->frames_in = atomic_load(&e->frames_in);
    s->frames_out = atomic_load(&e->frames_out);
    s->lost_in = atomic_load(&e->lost_in);
    s->lost_out = atomic_load(&e->lost_out);
    s->xruns = atomic_load(&e->xruns);
    s->events_dropped = atomic_load(&e->events_dropped);
    s->buffer_size = atomic_load(&e->buffer_size);
    s->sample_rate = atomic_load(&e->sample_rate);
    s->depth = e->depth;
    s->shutdown = atomic_load(&e->dead);
    s->freewheel = atomic_load(&e->freewheel);
    s->mlocked = e->mlocked;
}

uint64_t rt_position(rt_engine *e, int dir)
{
    pthread_mutex_lock(&e->lock);
    uint64_t p = e->py_pos[dir];
    pthread_mutex_unlock(&e->lock);
    return p;
}

int rt_frame_time_of(rt_engine *e, int dir, uint64_t position, jack_nframes_t *time)
{
    uint64_t at;
    uint32_t t;
    if (!anchor_load(&e->anchors[dir], &at, &t))
        return -1;
    /* Frame times wrap at 2^32 like JACK's own. */
    *time = (jack_nframes_t)(t + (uint32_t)(position - at));
    return 0;
}

void rt_take_event_counts(rt_engine *e, uint32_t counts[RT_EV_KINDS])
{
    for (int k = 0; k < RT_EV_KINDS; k++)
        counts[k] = atomic_exchange(&e->event_counts[k], 0);
}

void rt_set_event_queue(rt_engine *e, int enabled)
{
    atomic_store(&e->events_enabled, enabled != 0);
}

int rt_pop_event(rt_engine *e, rt_event *ev)
{
    pthread_mutex_lock(&e->lock);
    int got = ring_readable(e->events) >= sizeof(rt_event);
    if (got)
        ring_get(e->events, ev, sizeof(rt_event));
    pthread_mutex_unlock(&e->lock);
    return got;
}

int rt_wait_event(rt_engine *e, int wait_ms)
{
    int rc = gone(e);
    if (rc != RT_OK)
        return rc;
    if (ring_readable(e->events) >= sizeof(rt_event))
        return RT_OK;
    struct timespec deadline;
    deadline_after(&deadline, wait_ms);
    return wait_until(&e->event_wake, &deadline) == 0 ? RT_OK : RT_AGAIN;
}

const char *rt_shutdown_reason(rt_engine *e) { return e->shutdown_reason; }
