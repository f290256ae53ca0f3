/* pyjack real-time engine: what Python threads call.
 *
 * What JACK's threads run is in _rt_jack.c (its header comment says what
 * they may do), the ring in _ring.h, the shared structures in
 * _rt_internal.h.
 *
 * Python threads call every rt_* function here, always outside the GIL for
 * anything that waits or takes a lock. They serialise among themselves with
 * two mutexes that the JACK threads never take, always taken in this order:
 * - ports_lock around every libjack request on the client (port changes,
 *   connections, listing, activation, close; rt_request_begin/end for those
 *   made outside this file): libjack mixes up the replies of requests sent
 *   by two threads at once on one client, and rt_close() frees the client;
 * - lock around the tables, rings and stream positions, held only for
 *   copies and table swaps, so process() never waits for a server round
 *   trip of another thread.
 * Counters, port counts and positions are atomics, read without a lock.
 * Waits are slices of at most the caller's wait_ms so that Python can answer
 * Ctrl-C and timeouts.
 *
 * Data path: one ring (_ring.h) per port and direction, holding exactly
 * depth float32 frames, its memory mmap'ed, mlocked and touched before the
 * process thread can see it. The process thread is the writer of the input
 * rings and the reader of the output rings; Python the other end. Each
 * direction is one stream with a frame position that both sides count. A
 * port added while active starts at a known stream position (its base):
 * frames before it read as silence, so ports stay aligned sample for sample.
 *
 * The set of ports the process thread sees is an immutable table swapped
 * atomically. The old table (and any port removed with it) is freed only
 * after the process thread has left every cycle that may have loaded it
 * (rt_cycles in _rt_internal.h).
 *
 * The retry contract of process(): a sync error (input lost, output run dry)
 * is decided when an exchange starts, from the losses since the previous
 * exchange. An exchange that reports one still reads all of its input and
 * queues none of its output; losses during an exchange are reported by the
 * next one. So "call again with the same output" never duplicates a frame.
 */
#define _GNU_SOURCE
#include "_rt_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>

/* ---------------------------------------------------------------------- */
/* Ring memory: mmap'ed, locked, touched.                                  */

/* Map size bytes for a ring, lock them and touch every page, so that the
 * real-time thread never faults on them. Returns NULL without memory;
 * *locked says whether the lock held, and a refusal is described in why. */
static char *ring_memory(size_t size, size_t *mapped, int *locked, char *why, size_t why_size)
{
    long page = sysconf(_SC_PAGESIZE);
    if (page <= 0)
        page = 4096;
    size_t length = (size + (size_t)page - 1) / (size_t)page * (size_t)page;
    void *mem = mmap(NULL, length, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (mem == MAP_FAILED)
        return NULL;
    *mapped = length;
    *locked = mlock(mem, length) == 0;
    if (!*locked) {
        int err = errno;
        struct rlimit limit;
        char limit_text[64] = "unknown";
        if (getrlimit(RLIMIT_MEMLOCK, &limit) == 0) {
            if (limit.rlim_cur == RLIM_INFINITY)
                snprintf(limit_text, sizeof limit_text, "unlimited");
            else
                snprintf(limit_text, sizeof limit_text, "%llu bytes",
                         (unsigned long long)limit.rlim_cur);
        }
        snprintf(why, why_size,
                 "mlock of a %zu-byte ring failed: %s (RLIMIT_MEMLOCK is %s; raise it with "
                 "ulimit -l or limits.conf, or grant CAP_IPC_LOCK)", length, strerror(err), limit_text);
    }
    memset(mem, 0, length);  /* touch every page before use */
    return mem;
}

/* Python threads: after a copy into or out of the rings, let a process
 * thread that waits in freewheel go on. */
static void wake_rt(rt_engine *e)
{
    atomic_store_explicit(&e->fw_gave_up, 0, memory_order_relaxed);
    if (atomic_exchange(&e->rt_waiting, 0))
        sem_post(&e->room);
}

static void anchor_reset(rt_anchor *a)
{
    atomic_store(&a->valid, 0);
    atomic_store(&a->position, 0);
    atomic_store(&a->time, 0);
}

/* ---------------------------------------------------------------------- */
/* Copies between Python's arrays and the rings.                           */

/* Where one port's frames of an exchange lie on the ring side: up to three
 * pieces in order, covering the frames exactly: silence (an input port not
 * started yet; at NULL), then the one or two spans of its ring. */
typedef struct ring_side {
    float *at[3];
    size_t frames[3];
} ring_side;

static ring_side ring_side_of(size_t silent, const ring_vec v[2])
{
    return (ring_side){{NULL, (float *)v[0].buf, (float *)v[1].buf},
                       {silent, v[0].len / FRAME_BYTES, v[1].len / FRAME_BYTES}};
}

/* One port, frames apart by stride bytes in Python's array; from NULL
 * (silence) means zeros. */
static void copy_one(float *ring, char *row, ptrdiff_t stride, size_t frames, int into_rings)
{
    if (stride == (ptrdiff_t)FRAME_BYTES) {
        if (into_rings)
            memcpy(ring, row, frames * FRAME_BYTES);
        else if (ring != NULL)
            memcpy(row, ring, frames * FRAME_BYTES);
        else
            memset(row, 0, frames * FRAME_BYTES);
        return;
    }
    const float zero = 0.0f;
    for (size_t i = 0; i < frames; i++, row += stride) {
        if (into_rings)
            memcpy(&ring[i], row, FRAME_BYTES);
        else
            memcpy(row, ring != NULL ? &ring[i] : &zero, FRAME_BYTES);
    }
}

#if defined(__has_builtin)
#if __has_builtin(__builtin_shufflevector)
#define HAVE_TRANSPOSE4 1
#endif
#endif

#ifdef HAVE_TRANSPOSE4
/* Interleaved arrays (frames, ports) are the common case, and copying them
 * one float at a time, port after port, touches every cache line of the
 * array once per port. Four ports side by side move as 4 x 4 blocks in
 * vector registers instead (SSE on x86-64, NEON on ARM): a quarter of the
 * memory operations, each line touched once per four ports. */
typedef float float4 __attribute__((vector_size(16)));

static inline float4 load4(const float *p)
{
    float4 v;
    memcpy(&v, p, sizeof v);
    return v;
}

/* out[i][j] = in[j][i] for i, j < 4. */
static inline void transpose4(const float *in0, const float *in1, const float *in2, const float *in3,
                              float *out0, float *out1, float *out2, float *out3)
{
    float4 a = load4(in0), b = load4(in1), c = load4(in2), d = load4(in3);
    float4 ab_lo = __builtin_shufflevector(a, b, 0, 4, 1, 5);
    float4 ab_hi = __builtin_shufflevector(a, b, 2, 6, 3, 7);
    float4 cd_lo = __builtin_shufflevector(c, d, 0, 4, 1, 5);
    float4 cd_hi = __builtin_shufflevector(c, d, 2, 6, 3, 7);
    float4 o0 = __builtin_shufflevector(ab_lo, cd_lo, 0, 1, 4, 5);
    float4 o1 = __builtin_shufflevector(ab_lo, cd_lo, 2, 3, 6, 7);
    float4 o2 = __builtin_shufflevector(ab_hi, cd_hi, 0, 1, 4, 5);
    float4 o3 = __builtin_shufflevector(ab_hi, cd_hi, 2, 3, 6, 7);
    memcpy(out0, &o0, sizeof o0);
    memcpy(out1, &o1, sizeof o1);
    memcpy(out2, &o2, sizeof o2);
    memcpy(out3, &o3, sizeof o3);
}

/* Four ports whose rows are adjacent floats, none of them silent here. */
static void copy_four(float *const ring[4], char *row, ptrdiff_t stride, size_t frames, int into_rings)
{
    size_t i = 0;
    for (; i + 4 <= frames; i += 4, row += 4 * stride) {
        float *f0 = (float *)row, *f1 = (float *)(row + stride);
        float *f2 = (float *)(row + 2 * stride), *f3 = (float *)(row + 3 * stride);
        if (into_rings)
            transpose4(f0, f1, f2, f3, ring[0] + i, ring[1] + i, ring[2] + i, ring[3] + i);
        else
            transpose4(ring[0] + i, ring[1] + i, ring[2] + i, ring[3] + i, f0, f1, f2, f3);
    }
    for (int j = 0; j < 4; j++)
        copy_one(ring[j] + i, row + j * FRAME_BYTES, stride, frames - i, into_rings);
}
#endif

/* Copy the frames of `width` ports (1 to 4, their rows row_stride bytes
 * apart) between Python's rows and the ring side, in runs over which no
 * port crosses from one piece of its ring side to the next. */
static void copy_ports(const ring_side *side, uint32_t width, char *rows, const rt_block *b,
                       size_t frames, int into_rings)
{
    unsigned piece[4] = {0};
    size_t used[4] = {0};
    for (size_t done = 0; done < frames;) {
        size_t run = frames - done;
        float *ring[4];
        int silent = 0;
        for (uint32_t j = 0; j < width; j++) {
            while (used[j] == side[j].frames[piece[j]]) {
                piece[j]++;
                used[j] = 0;
            }
            run = min_u64(run, side[j].frames[piece[j]] - used[j]);
            ring[j] = side[j].at[piece[j]] != NULL ? side[j].at[piece[j]] + used[j] : NULL;
            silent |= ring[j] == NULL;
        }
        char *row = rows + (ptrdiff_t)done * b->frame_stride;
#ifdef HAVE_TRANSPOSE4
        if (width == 4 && !silent) {
            copy_four(ring, row, b->frame_stride, run, into_rings);
        } else
#endif
        {
            for (uint32_t j = 0; j < width; j++)
                copy_one(ring[j], row + (ptrdiff_t)j * b->row_stride, b->frame_stride, run, into_rings);
        }
        for (uint32_t j = 0; j < width; j++)
            used[j] += run;
        done += run;
    }
}

/* Ports four at a time where their rows are adjacent floats (an array of
 * (frames, ports) passed transposed), else one at a time. */
static uint32_t ports_at_once(const rt_block *b, uint32_t left)
{
    return b->row_stride == (ptrdiff_t)FRAME_BYTES && left >= 4 ? 4 : 1;
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
    size_t events_size = EVENT_QUEUE_LENGTH * sizeof(rt_event);
    e->events_mem = ring_memory(events_size, &e->events_mem_size, &e->events_locked,
                                e->mlock_error, sizeof e->mlock_error);
    if (e->events_mem == NULL) {
        free(e);
        return NULL;
    }
    ring_init(&e->events, e->events_mem, events_size);
    atomic_init(&e->unlocked_rings, e->events_locked ? 0 : 1);
    pthread_mutex_init(&e->ports_lock, NULL);
    pthread_mutex_init(&e->lock, NULL);
    sem_init(&e->wake, 0, 0);
    sem_init(&e->event_wake, 0, 0);
    sem_init(&e->room, 0, 0);
    pthread_mutex_init(&e->fw_lock, NULL);
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
        rc |= jack_set_process_callback(client, rt_jack_process, e);
    jack_on_info_shutdown(client, rt_jack_shutdown, e);
    rc |= jack_set_xrun_callback(client, rt_jack_xrun, e);
    rc |= jack_set_graph_order_callback(client, rt_jack_graph_order, e);
    rc |= jack_set_port_registration_callback(client, rt_jack_port_registration, e);
    rc |= jack_set_port_connect_callback(client, rt_jack_port_connect, e);
    rc |= jack_set_port_rename_callback(client, rt_jack_port_rename, e);
    rc |= jack_set_client_registration_callback(client, rt_jack_client_registration, e);
    rc |= jack_set_freewheel_callback(client, rt_jack_freewheel, e);
    rc |= jack_set_buffer_size_callback(client, rt_jack_buffer_size, e);
    rc |= jack_set_sample_rate_callback(client, rt_jack_sample_rate, e);
    return rc ? -1 : 0;
}

jack_client_t *rt_client(rt_engine *e) { return e->client; }

static void free_port(rt_engine *e, rt_port *p)
{
    if (p->mem != NULL) {
        munmap(p->mem, p->mem_size);  /* also unlocks */
        if (!p->locked)
            atomic_fetch_sub(&e->unlocked_rings, 1);
    }
    free(p);
}

static void freewheel_join(rt_engine *e);

void rt_close(rt_engine *e)
{
    /* A leave request holds ports_lock until the server's freewheel cycle
     * ends, which may wait for Python: stop such waits before locking. */
    atomic_store(&e->stopping, 1);
    sem_post(&e->room);
    freewheel_join(e);
    pthread_mutex_lock(&e->ports_lock);
    pthread_mutex_lock(&e->lock);
    if (atomic_exchange(&e->closed, 1)) {
        pthread_mutex_unlock(&e->lock);
        pthread_mutex_unlock(&e->ports_lock);
        return;
    }
    sem_post(&e->wake);
    sem_post(&e->event_wake);
    moved_wake(e);
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
        atomic_store(&e->port_counts[dir], 0);
        if (t == NULL)
            continue;
        for (uint32_t i = 0; i < t->count; i++)
            free_port(e, t->ports[i]);
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
    munmap(e->events_mem, e->events_mem_size);
    sem_destroy(&e->wake);
    sem_destroy(&e->event_wake);
    sem_destroy(&e->room);
    pthread_mutex_destroy(&e->lock);
    pthread_mutex_destroy(&e->ports_lock);
    pthread_mutex_destroy(&e->fw_lock);
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
                ring_reset(&t->ports[i]->ring);
                atomic_store(&t->ports[i]->base, 0);
                atomic_store(&t->ports[i]->pending, 0);
            }
            atomic_store(&e->rt_pos[dir], 0);
            atomic_store(&e->py_pos[dir], 0);
            anchor_reset(&e->anchors[dir]);
        }
        atomic_store(&e->output_started, 0);
        atomic_store(&e->stopping, 0);
        atomic_store(&e->fw_gave_up, 0);
        atomic_store(&e->fw_mode, RT_FW_FOLLOW);
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
    /* As in rt_close(): a leave request may hold ports_lock meanwhile. */
    if (atomic_load(&e->active)) {
        atomic_store(&e->stopping, 1);
        sem_post(&e->room);
    }
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
    moved_wake(e);
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
    atomic_store(&e->port_counts[dir], fresh ? fresh->count : 0);
    uint64_t mark = cycles_mark(&e->cycles_gate);
    if (cycles_passed(&e->cycles_gate, mark))
        return 1;
    /* A freewheel cycle may be waiting for Python, which is us: stop it. */
    atomic_store(&e->swapping, 1);
    sem_post(&e->room);
    int safe = 0;
    for (int i = 0; i < 20000 && !safe; i++) {  /* 2 s */
        safe = cycles_passed(&e->cycles_gate, mark);
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
    char why[sizeof e->mlock_error] = "";
    *error = gone(e);
    if (*error != RT_OK)
        goto out;
    p = calloc(1, sizeof *p);
    if (p != NULL)
        p->mem = ring_memory(e->depth_bytes, &p->mem_size, &p->locked, why, sizeof why);
    if (p == NULL || p->mem == NULL) {
        *error = RT_NOMEM;
        goto out;
    }
    if (!p->locked)
        atomic_fetch_add(&e->unlocked_rings, 1);
    ring_init(&p->ring, p->mem, e->depth_bytes);
    p->dir = dir;
    p->port = port = jack_port_register(e->client, name, JACK_DEFAULT_AUDIO_TYPE, flags, 0);
    if (port == NULL) {
        *error = -1;
        goto out;
    }
    pthread_mutex_lock(&e->lock);
    if (!p->locked)
        memcpy(e->mlock_error, why, sizeof why);
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
            atomic_store(&p->base, atomic_load(&e->py_pos[RT_OUTPUT]));
    }
    rt_table *old;
    if (publish_table(e, dir, fresh, &old))
        free(old);
    pthread_mutex_unlock(&e->lock);
    p = NULL;  /* the table owns it now */
out:
    if (p != NULL)
        free_port(e, p);
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
    uint64_t target = atomic_load(&e->cycles_gate.entered) + 2;
    /* A freewheel cycle may be waiting for Python, which is us: stop it. */
    atomic_store(&e->swapping, 1);
    sem_post(&e->room);
    int i = 0;
    while (e->processing && atomic_load(&e->active) && atomic_load(&e->cycles_gate.entered) < target
           && i++ < 20000)
        usleep(100);  /* at most 2 s */
    atomic_store(&e->swapping, 0);
    if (atomic_load(&e->cycles_gate.entered) < target && rate > 0)
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
            free_port(e, p);
        }
    }
out:
    pthread_mutex_unlock(&e->ports_lock);
    return rc;
}

/* No lock: Python calls it with the GIL held. */
uint32_t rt_port_count(rt_engine *e, int dir) { return atomic_load(&e->port_counts[dir]); }

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
    uint64_t position = atomic_load_explicit(&e->py_pos[RT_INPUT], memory_order_relaxed);
    uint64_t avail = UINT64_MAX;
    for (uint32_t i = 0; i < t->count; i++) {
        rt_port *p = t->ports[i];
        if (atomic_load_explicit(&p->pending, memory_order_acquire))
            continue;  /* silent until the process thread starts it */
        uint64_t base = atomic_load_explicit(&p->base, memory_order_relaxed);
        uint64_t have = frames_before(base, position) + ring_readable(&p->ring) / FRAME_BYTES;
        avail = min_u64(avail, have);
    }
    return avail == UINT64_MAX ? 0 : avail;
}

static void read_input(rt_engine *e, rt_table *t, const rt_block *in, uint32_t offset, uint32_t frames)
{
    uint64_t position = atomic_load_explicit(&e->py_pos[RT_INPUT], memory_order_relaxed);
    uint32_t width;
    for (uint32_t i = 0; i < t->count; i += width) {
        width = ports_at_once(in, t->count - i);
        ring_side side[4];
        for (uint32_t j = 0; j < width; j++) {
            rt_port *p = t->ports[i + j];
            uint64_t silent = frames;
            /* A port still pending has no frames at or before anything
             * counted as available, because its base is settled before a
             * cycle's frames are written. */
            if (!atomic_load_explicit(&p->pending, memory_order_acquire))
                silent = min_u64(frames, frames_before(atomic_load(&p->base), position));
            ring_vec v[2];
            ring_read_vec(&p->ring, (frames - silent) * FRAME_BYTES, v);
            side[j] = ring_side_of(silent, v);
        }
        copy_ports(side, width, in->data + (ptrdiff_t)i * in->row_stride + (ptrdiff_t)offset * in->frame_stride,
                   in, frames, 0);
        for (uint32_t j = 0; j < width; j++)
            ring_read_advance(&t->ports[i + j]->ring, (side[j].frames[1] + side[j].frames[2]) * FRAME_BYTES);
    }
    atomic_store(&e->py_pos[RT_INPUT], position + frames);
}

static uint64_t output_space(rt_table *t)
{
    uint64_t space = UINT64_MAX;
    for (uint32_t i = 0; i < t->count; i++) {
        space = min_u64(space, ring_writable(&t->ports[i]->ring) / FRAME_BYTES);
    }
    return space;
}

static void write_output(rt_engine *e, rt_table *t, const rt_block *out, uint32_t offset, uint32_t frames)
{
    uint32_t width;
    for (uint32_t i = 0; i < t->count; i += width) {
        width = ports_at_once(out, t->count - i);
        ring_side side[4];
        for (uint32_t j = 0; j < width; j++) {
            ring_vec v[2];
            ring_write_vec(&t->ports[i + j]->ring, (size_t)frames * FRAME_BYTES, v);
            side[j] = ring_side_of(0, v);
        }
        copy_ports(side, width, out->data + (ptrdiff_t)i * out->row_stride + (ptrdiff_t)offset * out->frame_stride,
                   out, frames, 1);
        for (uint32_t j = 0; j < width; j++)
            ring_write_advance(&t->ports[i + j]->ring, (size_t)frames * FRAME_BYTES);
    }
    atomic_fetch_add(&e->py_pos[RT_OUTPUT], frames);
    atomic_store(&e->output_started, 1);
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

/* Why an exchange cannot run now, or RT_OK. With e->lock held. */
static int exchange_refusal(rt_engine *e, const rt_block *out, const rt_block *in)
{
    int rc = gone(e);
    if (rc != RT_OK)
        return rc;
    if (!atomic_load(&e->active))
        return RT_INACTIVE;
    if (atomic_load(&e->port_counts[RT_INPUT]) != in->rows
        || atomic_load(&e->port_counts[RT_OUTPUT]) != out->rows)
        return RT_PORTS_CHANGED;
    /* Below two periods a cycle may find no room (input) or too little
     * (output) however fast Python is: refuse rather than wait forever. */
    if (2 * (uint64_t)atomic_load(&e->buffer_size) > e->depth)
        return RT_DEPTH;
    return RT_OK;
}

int rt_exchange(rt_engine *e, const rt_block *out, const rt_block *in, rt_request *req, int wait_ms)
{
    struct timespec deadline;
    deadline_after(&deadline, wait_ms);
    /* Requests larger than half a ring go in pieces, so the process thread
     * always has room for the next cycle while Python copies. */
    uint32_t piece = e->depth / 2 ? e->depth / 2 : 1;
    pthread_mutex_lock(&e->lock);
    for (;;) {
        int rc = exchange_refusal(e, out, in);
        if (rc != RT_OK) {
            pthread_mutex_unlock(&e->lock);
            return rc;
        }
        if (!req->started) {
            /* The losses since the previous exchange decide this one. */
            req->started = 1;
            uint64_t lost_in = atomic_load(&e->lost_in), lost_out = atomic_load(&e->lost_out);
            if (in->data && lost_in != e->seen_lost_in) {
                req->sync = RT_INPUT_SYNC;
                req->lost = lost_in - e->seen_lost_in;
            } else if (out->data && lost_out != e->seen_lost_out) {
                req->sync = RT_OUTPUT_SYNC;
                req->lost = lost_out - e->seen_lost_out;
            }
            /* This request queues no output, and reading its input may take
             * longer than the output rings last: the silence that follows is
             * this error's doing, not a new loss. Output counts as started
             * again with the next frame queued; otherwise every call after a
             * long one would raise OutputSyncError again, for ever. */
            if (req->sync != RT_OK && out->data)
                atomic_store(&e->output_started, 0);
        }
        rt_table *tin = atomic_load(&e->tables[RT_INPUT]);
        rt_table *tout = atomic_load(&e->tables[RT_OUTPUT]);
        /* Input first, all of it even with a sync error; output only
         * without one. Both move in the same pieces, so while both move
         * done_in == done_out. */
        uint32_t in_left = in->data ? req->nframes - req->done_in : 0;
        uint32_t out_left = out->data && req->sync == RT_OK ? req->nframes - req->done_out : 0;
        if (in_left == 0 && out_left == 0) {
            if (req->sync == RT_INPUT_SYNC)
                e->seen_lost_in += req->lost;
            else if (req->sync == RT_OUTPUT_SYNC)
                e->seen_lost_out += req->lost;
            pthread_mutex_unlock(&e->lock);
            return req->sync;
        }
        uint32_t chunk = in_left > out_left ? in_left : out_left;
        if (chunk > piece)
            chunk = piece;
        /* The counters before the rings: should this exchange wait, a cycle
         * between the two looks makes its wake-up early (then this loop
         * waits again), never late. */
        uint64_t moved_in = atomic_load(&e->frames_in), moved_out = atomic_load(&e->frames_out);
        uint64_t have = in_left ? input_available(e, tin) : UINT64_MAX;
        uint64_t room = out_left ? output_space(tout) : UINT64_MAX;
        if (have < chunk || room < chunk) {
            /* Forget posts meant for earlier waits, announce this one (to be
             * woken once what is missing has moved), then look once more so
             * a cycle that ran in between is not missed. Every cycle adds
             * the frames it moves to every ring's fill (input) or room
             * (output), so frames_in/frames_out tell when that is. */
            sem_drain(&e->wake);
            atomic_store(&e->wake_in_at, have < chunk ? moved_in + (chunk - have) : UINT64_MAX);
            atomic_store(&e->wake_out_at, room < chunk ? moved_out + (chunk - room) : UINT64_MAX);
            atomic_store(&e->waiter, 1);
            have = in_left ? input_available(e, tin) : UINT64_MAX;
            room = out_left ? output_space(tout) : UINT64_MAX;
            if (have < chunk || room < chunk) {
                pthread_mutex_unlock(&e->lock);
                if (wait_until(&e->wake, &deadline) != 0)
                    return RT_AGAIN;
                pthread_mutex_lock(&e->lock);
                continue;
            }
        }
        if (in_left) {
            read_input(e, tin, in, req->done_in, chunk);
            req->done_in += chunk;
        }
        if (out_left) {
            write_output(e, tout, out, req->done_out, chunk);
            req->done_out += chunk;
        }
        wake_rt(e);
    }
}

int rt_wait_moved(rt_engine *e, int dir, uint64_t total, int wait_ms)
{
    _Atomic uint64_t *counter = dir == RT_INPUT ? &e->frames_in : &e->frames_out;
    struct timespec deadline, now;
    deadline_after(&deadline, wait_ms);
    int rc;
    atomic_fetch_add(&e->moved_waiters, 1);
    for (;;) {
        /* The generation before the look: a cycle after it changes it, and
         * the futex then does not sleep. */
        unsigned gen = atomic_load(&e->moved_gen);
        if (atomic_load(counter) >= total) {
            rc = RT_OK;
            break;
        }
        rc = gone(e);
        if (rc == RT_OK && !atomic_load(&e->active))
            rc = RT_INACTIVE;
        if (rc != RT_OK)
            break;
        clock_gettime(CLOCK_MONOTONIC, &now);
        long left_ms = (deadline.tv_sec - now.tv_sec) * 1000L
                       + (deadline.tv_nsec - now.tv_nsec) / 1000000L;
        if (left_ms <= 0) {
            rc = RT_AGAIN;
            break;
        }
        futex_wait_gen(&e->moved_gen, gen, left_ms);
    }
    atomic_fetch_sub(&e->moved_waiters, 1);
    return rc;
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
    s->mlocked = atomic_load(&e->unlocked_rings) == 0;
    s->xrun_delay_usecs = atomic_load(&e->xrun_delay_usecs);
    s->xrun_delay_max_usecs = atomic_load(&e->xrun_delay_max_usecs);
}

int rt_mlock_error(rt_engine *e, char *buf, size_t size)
{
    pthread_mutex_lock(&e->lock);
    int refused = atomic_load(&e->unlocked_rings) != 0;
    if (size > 0)
        buf[0] = '\0';
    if (refused && size > 0) {
        size_t n = strnlen(e->mlock_error, size - 1);
        memcpy(buf, e->mlock_error, n);
        buf[n] = '\0';
    }
    pthread_mutex_unlock(&e->lock);
    return refused;
}

uint64_t rt_position(rt_engine *e, int dir) { return atomic_load(&e->py_pos[dir]); }

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
    int got = ring_readable(&e->events) >= sizeof(rt_event);
    if (got)
        ring_read(&e->events, ev, sizeof(rt_event));
    pthread_mutex_unlock(&e->lock);
    return got;
}

int rt_wait_event(rt_engine *e, int wait_ms)
{
    int rc = gone(e);
    if (rc != RT_OK)
        return rc;
    sem_drain(&e->event_wake);  /* posts for records already taken */
    if (ring_readable(&e->events) >= sizeof(rt_event))
        return RT_OK;
    struct timespec deadline;
    deadline_after(&deadline, wait_ms);
    return wait_until(&e->event_wake, &deadline) == 0 ? RT_OK : RT_AGAIN;
}

const char *rt_shutdown_reason(rt_engine *e) { return e->shutdown_reason; }

/* ---------------------------------------------------------------------- */
/* MIDI (_midi.c): its record rings get their memory as the audio rings do. */

char *rt_ring_memory(size_t size, size_t *mapped, int *locked, char *why, size_t why_size)
{
    return ring_memory(size, mapped, locked, why, why_size);
}
/* Python threads: set_freewheel().                                        */

/* The engine waits for Python from the first freewheel cycle on only if it
 * is armed before the server is asked (the freewheel callback comes later
 * than the first cycles), and it must go on waiting until the server has
 * left: the cycles before the end are freewheel cycles too. Leaving is asked
 * on a thread of its own because JACK2 ends freewheel only after the running
 * cycle, which may be waiting for the very Python thread that asks. */

static void freewheel_join(rt_engine *e)
{
    pthread_mutex_lock(&e->fw_lock);
    if (e->fw_thread_started) {
        pthread_join(e->fw_thread, NULL);
        e->fw_thread_started = 0;
    }
    pthread_mutex_unlock(&e->fw_lock);
}

int rt_freewheel_enter(rt_engine *e, int *refused)
{
    *refused = 0;
    int rc = gone(e);
    if (rc != RT_OK)
        return rc;
    if (!atomic_load(&e->active))
        return RT_INACTIVE;
    freewheel_join(e);  /* a finished leave request; callers wait for the end of freewheel first */
    atomic_store(&e->fw_mode, RT_FW_ARMED);
    rc = rt_request_begin(e);
    if (rc != RT_OK) {
        atomic_store(&e->fw_mode, RT_FW_FOLLOW);
        return rc;
    }
    int jack_rc = jack_set_freewheel(e->client, 1);
    rt_request_end(e);
    /* JACK2 refuses when the server already freewheels (another client
     * switched it on): then the engine is where it should be. */
    if (jack_rc != 0 && !atomic_load(&e->freewheel)) {
        atomic_store(&e->fw_mode, RT_FW_FOLLOW);
        *refused = jack_rc;
    }
    return RT_OK;
}

static void *leave_request(void *arg)
{
    rt_engine *e = arg;
    if (rt_request_begin(e) == RT_OK) {
        int refused = jack_set_freewheel(e->client, 0);
        rt_request_end(e);
        if (refused)  /* not freewheeling: nothing to wait for */
            atomic_store(&e->fw_mode, RT_FW_FOLLOW);
    }
    return NULL;
}

int rt_freewheel_leave(rt_engine *e)
{
    int rc = gone(e);
    if (rc != RT_OK)
        return rc;
    int armed = RT_FW_ARMED;
    atomic_compare_exchange_strong(&e->fw_mode, &armed, RT_FW_LEAVING);
    freewheel_join(e);
    pthread_mutex_lock(&e->fw_lock);
    if (pthread_create(&e->fw_thread, NULL, leave_request, e) == 0)
        e->fw_thread_started = 1;
    else
        rc = RT_NOMEM;
    pthread_mutex_unlock(&e->fw_lock);
    return rc;
}

int rt_freewheel_mode(rt_engine *e) { return atomic_load(&e->fw_mode); }
