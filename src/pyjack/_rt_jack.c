/* pyjack real-time engine: everything JACK's threads run, and nothing else.
 *
 * 1. JACK's process thread runs rt_jack_process(). It copies between JACK
 *    port buffers and the rings, zero-fills and counts on output underrun,
 *    drops whole cycles and counts them on input overrun, updates atomic
 *    counters and wakes waiting Python threads (a semaphore post for
 *    process() once the frames it waits for have moved, a futex wake for
 *    rt_wait_moved(), each only when someone waits). It never allocates, frees, locks, prints, sleeps or touches
 *    Python; the only system calls it may make are those wake-ups.
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
 *    set_freewheel() arms the engine (fw_mode) before it asks the server,
 *    so it waits from the first freewheel cycle on, not only from the
 *    freewheel callback on; the callback's end of freewheel disarms it.
 *
 * 2. JACK's notification thread runs the rt_jack_* callbacks below. They
 *    update atomics and push fixed-size rt_event records into a preallocated
 *    ring, then post a semaphore. Same rules as the process thread. They may
 *    call jack_port_by_id() and jack_port_name(), which only read the
 *    client's shared-memory copy of the graph.
 *
 * This file is compiled on its own so that .ci/rtcheck can prove with nm
 * that it calls no allocator, mutex or printf; tests/test_rtsafe.py checks
 * the same at run time with an LD_PRELOAD library.
 */
#define _GNU_SOURCE
#include "_rt_internal.h"

#include <jack/statistics.h>
#include <string.h>

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

/* ---------------------------------------------------------------------- */
/* The process thread.                                                     */

static void wake_python(rt_engine *e)
{
    if (atomic_exchange(&e->waiter, 0))
        sem_post(&e->wake);
}

/* After a cycle: wake process() once the frames it lacks have moved. The
 * fence orders this cycle's counters before the look at waiter, as
 * rt_exchange() stores waiter before it looks at the rings again. */
static void wake_python_when_due(rt_engine *e)
{
    atomic_thread_fence(memory_order_seq_cst);
    if (!atomic_load_explicit(&e->waiter, memory_order_acquire))  /* then its targets */
        return;
    if (atomic_load_explicit(&e->frames_in, memory_order_relaxed)
            < atomic_load_explicit(&e->wake_in_at, memory_order_relaxed)
        && atomic_load_explicit(&e->frames_out, memory_order_relaxed)
            < atomic_load_explicit(&e->wake_out_at, memory_order_relaxed))
        return;
    wake_python(e);
}

/* Freewheel only: called in a loop while the cycle cannot go on without
 * Python. The first call announces the wait and returns so that the caller
 * looks once more; later calls sleep one slice. Returns 0 when the process
 * thread must stop waiting and drop or zero-fill as in real time. */
static int freewheel_wait(rt_engine *e, struct timespec *deadline, int *started)
{
    /* set_freewheel() arms the engine before the server freewheels and
     * keeps it armed until the server reports the end (fw_mode). */
    int wheeling = atomic_load(&e->freewheel) || atomic_load(&e->fw_mode) != RT_FW_FOLLOW;
    if (!wheeling || atomic_load(&e->fw_gave_up) || atomic_load(&e->stopping)
        || atomic_load(&e->swapping) || atomic_load(&e->closed) || atomic_load(&e->dead))
        return 0;
    if (!*started) {
        *started = 1;
        deadline_after(deadline, FREEWHEEL_WAIT_MS);
        wake_python(e);  /* Python must not be asleep while we wait for it */
        sem_drain(&e->room);  /* posts meant for earlier waits */
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

static int input_fits(rt_table *t, size_t bytes)
{
    for (uint32_t i = 0; i < t->count; i++)
        if (ring_writable(&t->ports[i]->ring) < bytes)
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
    while (!input_fits(t, bytes)) {
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
        ring_write(&t->ports[i]->ring, buf, bytes);
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
            uint64_t have = frames_before(base, position) + ring_readable(&p->ring) / FRAME_BYTES;
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
        ring_read(&p->ring, buf + silent, (take - silent) * FRAME_BYTES);
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

int rt_jack_process(jack_nframes_t n, void *arg)
{
    rt_engine *e = arg;
    cycles_enter(&e->cycles_gate);
    /* PipeWire may change the period without a buffer-size callback first. */
    if (atomic_load_explicit(&e->buffer_size, memory_order_relaxed) != n)
        atomic_store_explicit(&e->buffer_size, n, memory_order_relaxed);
    jack_nframes_t now = jack_last_frame_time(e->client);
    uint64_t out_before = atomic_load_explicit(&e->rt_pos[RT_OUTPUT], memory_order_relaxed);
    move_input(e, n, now);
    move_output(e, n, now);
    /* MIDI (_midi_jack.c), after the audio so that it knows which output
     * stream positions this cycle played. */
    struct rt_midi *midi = atomic_load_explicit(&e->midi, memory_order_acquire);
    if (midi != NULL)
        rt_midi_cycle(midi, n, now, out_before,
                      atomic_load_explicit(&e->rt_pos[RT_OUTPUT], memory_order_relaxed) - out_before);
    atomic_fetch_add_explicit(&e->cycles, 1, memory_order_relaxed);
    cycles_leave(&e->cycles_gate);
    wake_python_when_due(e);
    /* The frame counters above before the look at moved_waiters: a waiter
     * that registered too late for this look sees the new counts itself. */
    atomic_thread_fence(memory_order_seq_cst);
    if (atomic_load_explicit(&e->moved_waiters, memory_order_relaxed) > 0)
        moved_wake(e);
    return 0;
}

/* ---------------------------------------------------------------------- */
/* The notification thread.                                                */

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
    if (ring_writable(&e->events) < sizeof(rt_event)) {
        atomic_fetch_add(&e->events_dropped, 1);
        return;
    }
    ring_write(&e->events, ev, sizeof(rt_event));
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

int rt_jack_xrun(void *arg)
{
    rt_engine *e = arg;
    /* How late the cycle was, as JACK measured it (a field of its shared
     * engine state: no request). */
    float delay = jack_get_xrun_delayed_usecs(e->client);
    unsigned usecs = delay > 0 ? (delay < 2e9f ? (unsigned)(delay + 0.5f) : 2000000000u) : 0;
    atomic_store(&e->xrun_delay_usecs, usecs);
    unsigned max = atomic_load(&e->xrun_delay_max_usecs);
    if (usecs > max)
        atomic_store(&e->xrun_delay_max_usecs, usecs);  /* one writer: this thread */
    atomic_fetch_add(&e->xruns, 1);
    push_simple(e, RT_EV_XRUN, (int32_t)usecs);
    return 0;
}

int rt_jack_graph_order(void *arg)
{
    push_simple(arg, RT_EV_GRAPH_ORDER, 0);
    return 0;
}

void rt_jack_port_registration(jack_port_id_t id, int registered, void *arg)
{
    rt_engine *e = arg;
    rt_event ev;
    ev.kind = RT_EV_PORT_REGISTRATION;
    ev.value = registered;
    port_name_of(e, id, ev.a);
    ev.b[0] = '\0';
    push_event(e, &ev);
}

void rt_jack_port_connect(jack_port_id_t a, jack_port_id_t b, int connected, void *arg)
{
    rt_engine *e = arg;
    rt_event ev;
    ev.kind = RT_EV_PORT_CONNECT;
    ev.value = connected;
    port_name_of(e, a, ev.a);
    port_name_of(e, b, ev.b);
    push_event(e, &ev);
}

void rt_jack_port_rename(jack_port_id_t id, const char *old_name, const char *new_name, void *arg)
{
    (void)id;
    rt_event ev;
    ev.kind = RT_EV_PORT_RENAME;
    ev.value = 0;
    copy_name(ev.a, old_name);
    copy_name(ev.b, new_name);
    push_event(arg, &ev);
}

void rt_jack_client_registration(const char *name, int registered, void *arg)
{
    rt_event ev;
    ev.kind = RT_EV_CLIENT_REGISTRATION;
    ev.value = registered;
    copy_name(ev.a, name);
    ev.b[0] = '\0';
    push_event(arg, &ev);
}

void rt_jack_freewheel(int starting, void *arg)
{
    rt_engine *e = arg;
    atomic_store(&e->freewheel, starting != 0);
    if (!starting)  /* freewheel is over, whoever asked: follow the server again */
        atomic_store(&e->fw_mode, RT_FW_FOLLOW);
    atomic_store(&e->fw_gave_up, 0);
    sem_post(&e->room);  /* a waiting process thread looks at the flag again */
    push_simple(e, RT_EV_FREEWHEEL, starting != 0);
}

/* JACK may call these two on the process thread with the cycle suspended,
 * so they only touch atomics; Python builds their events from the counts. */
int rt_jack_buffer_size(jack_nframes_t n, void *arg)
{
    rt_engine *e = arg;
    atomic_store(&e->buffer_size, n);
    atomic_fetch_add(&e->event_counts[RT_EV_BUFFER_SIZE], 1);
    sem_post(&e->wake);  /* a process() waiting may now have to give up */
    return 0;
}

int rt_jack_sample_rate(jack_nframes_t n, void *arg)
{
    rt_engine *e = arg;
    atomic_store(&e->sample_rate, n);
    atomic_fetch_add(&e->event_counts[RT_EV_SAMPLE_RATE], 1);
    return 0;
}

/* Runs on whichever JACK thread noticed the server go away. */
void rt_jack_shutdown(jack_status_t code, const char *reason, void *arg)
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
    moved_wake(e);
}

/* ---------------------------------------------------------------------- */
/* Metadata (installed by _rt_time.c).                                     */

void rt_jack_property_change(jack_uuid_t subject, const char *key, jack_property_change_t change,
                             void *arg)
{
    rt_event ev;
    ev.kind = RT_EV_PROPERTY_CHANGE;
    ev.value = (int32_t)change;
    copy_name(ev.a, key);  /* NULL (all properties of the subject): "" */
    /* The subject in decimal, as jack_uuid_unparse() writes it. */
    char digits[24];
    int n = 0;
    do {
        digits[n++] = (char)('0' + subject % 10);
        subject /= 10;
    } while (subject != 0);
    for (int i = 0; i < n; i++)
        ev.b[i] = digits[n - 1 - i];
    ev.b[n] = '\0';
    push_event(arg, &ev);
}
