/* pyjack MIDI: what Python threads call (see _midi.h).
 *
 * Locks: e->ports_lock around libjack requests (as in _rt.c), then m->lock
 * around the tables and the Python ends of the rings, held for copies and
 * table swaps only; waits run with no lock held. The process thread takes
 * none of them.
 */
#define _GNU_SOURCE
#include "_midi_internal.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

static int midi_gone(rt_engine *e)
{
    if (atomic_load(&e->closed))
        return RT_CLOSED;
    if (atomic_load(&e->dead))
        return RT_SHUTDOWN;
    return RT_OK;
}

rt_midi *rt_midi_create(rt_engine *e, size_t depth_bytes)
{
    rt_midi *m = calloc(1, sizeof *m);
    if (m == NULL)
        return NULL;
    m->e = e;
    m->depth = depth_bytes;
    pthread_mutex_init(&m->lock, NULL);
    atomic_store_explicit(&e->midi, m, memory_order_release);
    return m;
}

size_t rt_midi_depth(rt_midi *m) { return m->depth; }

static void free_midi_port(rt_midi *m, midi_port *p)
{
    if (p->mem != NULL) {
        munmap(p->mem, p->mem_size);
        if (!p->locked)
            atomic_fetch_sub(&m->unlocked_rings, 1);
    }
    free(p);
}

void rt_midi_close(rt_midi *m)
{
    pthread_mutex_lock(&m->lock);
    for (int dir = 0; dir < 2; dir++) {
        midi_table *t = atomic_exchange(&m->tables[dir], NULL);
        for (uint32_t i = 0; t && i < t->count; i++)
            free_midi_port(m, t->ports[i]);
        free(t);
    }
    pthread_mutex_unlock(&m->lock);
}

void rt_midi_destroy(rt_midi *m)
{
    if (m == NULL)
        return;
    rt_midi_close(m);
    pthread_mutex_destroy(&m->lock);
    free(m);
}

void rt_midi_reset(rt_midi *m)
{
    pthread_mutex_lock(&m->lock);
    for (int dir = 0; dir < 2; dir++) {
        midi_table *t = atomic_load(&m->tables[dir]);
        for (uint32_t i = 0; t && i < t->count; i++) {
            ring_reset(&t->ports[i]->ring);
            t->ports[i]->has_last[0] = t->ports[i]->has_last[1] = 0;
        }
    }
    pthread_mutex_unlock(&m->lock);
}

/* ---------------------------------------------------------------------- */
/* Ports.                                                                  */

/* Swap in a new table and wait until the process thread has left every
 * cycle that may have loaded the old one (as publish_table() in _rt.c).
 * Returns 1 when the old table may be freed. Called with m->lock held. */
static int midi_publish(rt_midi *m, int dir, midi_table *fresh, midi_table **old)
{
    rt_engine *e = m->e;
    *old = atomic_exchange(&m->tables[dir], fresh);
    uint64_t mark = cycles_mark(&e->cycles_gate);
    if (cycles_passed(&e->cycles_gate, mark))
        return 1;
    atomic_store(&e->swapping, 1);  /* a freewheel cycle may wait for Python */
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

static midi_table *midi_table_with(midi_table *t, midi_port *add, midi_port *drop)
{
    uint32_t count = t ? t->count : 0;
    midi_table *fresh = malloc(sizeof *fresh + (count + 1) * sizeof(midi_port *));
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

jack_port_t *rt_midi_register_port(rt_midi *m, const char *name, unsigned long flags, int *error)
{
    rt_engine *e = m->e;
    int dir = (flags & JackPortIsInput) ? RT_INPUT : RT_OUTPUT;
    pthread_mutex_lock(&e->ports_lock);
    jack_port_t *port = NULL;
    midi_port *p = NULL;
    char why[256] = "";
    *error = midi_gone(e);
    if (*error != RT_OK)
        goto out;
    p = calloc(1, sizeof *p);
    if (p != NULL)
        p->mem = rt_ring_memory(m->depth, &p->mem_size, &p->locked, why, sizeof why);
    if (p == NULL || p->mem == NULL) {
        *error = RT_NOMEM;
        goto out;
    }
    if (!p->locked)
        atomic_fetch_add(&m->unlocked_rings, 1);
    ring_init(&p->ring, p->mem, m->depth);
    p->dir = dir;
    p->port = port = jack_port_register(e->client, name, JACK_DEFAULT_MIDI_TYPE, flags, 0);
    if (port == NULL) {
        *error = -1;
        goto out;
    }
    pthread_mutex_lock(&m->lock);
    midi_table *fresh = midi_table_with(atomic_load(&m->tables[dir]), p, NULL);
    if (fresh == NULL) {
        pthread_mutex_unlock(&m->lock);
        jack_port_unregister(e->client, port);
        port = NULL;
        *error = RT_NOMEM;
        goto out;
    }
    midi_table *old;
    if (midi_publish(m, dir, fresh, &old))
        free(old);
    pthread_mutex_unlock(&m->lock);
    p = NULL;  /* the table owns it now */
out:
    if (p != NULL)
        free_midi_port(m, p);
    pthread_mutex_unlock(&e->ports_lock);
    return port;
}

/* Disconnect the port and let the server run two cycles before its id is
 * given back: the JACK2 stale-connection hazard described above
 * disconnect_and_settle() in _rt.c. With ports_lock held. */
static void midi_settle(rt_engine *e, jack_port_t *port)
{
    if (!atomic_load(&e->active) && jack_port_connected(port) <= 0)
        return;
    if (jack_port_disconnect(e->client, port) != 0)
        return;
    jack_nframes_t rate = jack_get_sample_rate(e->client);
    jack_nframes_t size = jack_get_buffer_size(e->client);
    uint64_t target = atomic_load(&e->cycles_gate.entered) + 2;
    atomic_store(&e->swapping, 1);
    sem_post(&e->room);
    int i = 0;
    while (e->processing && atomic_load(&e->active) && atomic_load(&e->cycles_gate.entered) < target
           && i++ < 20000)
        usleep(100);
    atomic_store(&e->swapping, 0);
    if (atomic_load(&e->cycles_gate.entered) < target && rate > 0)
        usleep((useconds_t)(2000000.0 * size / rate) + 1000);
}

int rt_midi_unregister_port(rt_midi *m, jack_port_t *port)
{
    rt_engine *e = m->e;
    pthread_mutex_lock(&e->ports_lock);
    int rc = midi_gone(e);
    midi_port *p = NULL;
    midi_table *old = NULL;
    int safe = 0;
    if (rc != RT_OK)
        goto out;
    rc = RT_NO_PORT;
    for (int dir = 0; dir < 2 && rc == RT_NO_PORT; dir++) {
        midi_table *t = atomic_load(&m->tables[dir]);
        for (uint32_t i = 0; t && i < t->count; i++)
            if (t->ports[i]->port == port)
                rc = RT_OK;
    }
    if (rc != RT_OK)
        goto out;
    midi_settle(e, port);
    rc = midi_gone(e);
    if (rc != RT_OK)
        goto out;
    pthread_mutex_lock(&m->lock);
    rc = RT_NO_PORT;
    for (int dir = 0; dir < 2 && rc == RT_NO_PORT; dir++) {
        midi_table *t = atomic_load(&m->tables[dir]);
        for (uint32_t i = 0; t && i < t->count; i++) {
            if (t->ports[i]->port != port)
                continue;
            midi_table *fresh = midi_table_with(t, NULL, t->ports[i]);
            if (fresh == NULL) {
                rc = RT_NOMEM;
                break;
            }
            p = t->ports[i];
            safe = midi_publish(m, dir, fresh, &old);
            rc = RT_OK;
            break;
        }
    }
    pthread_mutex_unlock(&m->lock);
    if (rc == RT_OK) {
        rc = jack_port_unregister(e->client, port) == 0 ? RT_OK : -1;
        if (safe) {
            free(old);
            free_midi_port(m, p);
        }
    }
out:
    pthread_mutex_unlock(&e->ports_lock);
    return rc;
}

uint32_t rt_midi_port_names(rt_midi *m, int dir, char (*names)[RT_NAME_SIZE], uint32_t max)
{
    pthread_mutex_lock(&m->lock);
    midi_table *t = atomic_load(&m->tables[dir]);
    uint32_t n = t ? t->count : 0;
    for (uint32_t i = 0; i < n && i < max; i++)
        copy_name(names[i], jack_port_name(t->ports[i]->port));
    pthread_mutex_unlock(&m->lock);
    return n;
}

static midi_port *find_port(rt_midi *m, int dir, jack_port_t *port)
{
    midi_table *t = atomic_load(&m->tables[dir]);
    for (uint32_t i = 0; t && i < t->count; i++)
        if (t->ports[i]->port == port)
            return t->ports[i];
    return NULL;
}

uint32_t rt_midi_max_event_size(rt_midi *m, jack_port_t *port)
{
    pthread_mutex_lock(&m->lock);
    midi_port *p = find_port(m, RT_OUTPUT, port);
    uint32_t size = p ? atomic_load(&p->max_event_size) : 0;
    pthread_mutex_unlock(&m->lock);
    return size;
}

/* ---------------------------------------------------------------------- */
/* Events.                                                                 */

/* The input port whose next event is the earliest, with its header; -1
 * when no port has one. With m->lock held. */
static int earliest(midi_table *t, midi_record *head)
{
    int best = -1;
    for (uint32_t i = 0; t && i < t->count; i++) {
        rt_ring *r = &t->ports[i]->ring;
        if (ring_readable(r) < sizeof(midi_record))
            continue;
        midi_record rec;
        ring_peek(r, &rec, sizeof rec);
        /* Frame times wrap: compare by signed distance. */
        if (best < 0 || (int32_t)((uint32_t)rec.stamp - (uint32_t)head->stamp) < 0) {
            best = (int)i;
            *head = rec;
        }
    }
    return best;
}

int rt_midi_read(rt_midi *m, rt_midi_event *ev, unsigned char *data, size_t cap)
{
    pthread_mutex_lock(&m->lock);
    midi_table *t = atomic_load(&m->tables[RT_INPUT]);
    midi_record rec;
    int i = earliest(t, &rec);
    int rc = 0;
    if (i >= 0) {
        ev->size = rec.size;
        rc = RT_MIDI_TOO_BIG;
        if (rec.size <= cap) {
            rt_ring *r = &t->ports[i]->ring;
            ring_vec v[2];
            ring_read_vec(r, sizeof rec + rec.size, v);
            ring_vec_get(v, sizeof rec, data, rec.size);
            ring_read_advance(r, sizeof rec + rec.size);
            ev->port = t->ports[i]->port;
            ev->index = (uint32_t)i;
            ev->time = (uint32_t)rec.stamp;
            rc = RT_MIDI_GOT;
        }
    }
    pthread_mutex_unlock(&m->lock);
    return rc;
}

size_t rt_midi_read_rows(rt_midi *m, char *rows, ptrdiff_t stride, size_t count,
                         size_t data_len, uint32_t *too_big)
{
    size_t got = 0;
    *too_big = 0;
    pthread_mutex_lock(&m->lock);
    midi_table *t = atomic_load(&m->tables[RT_INPUT]);
    while (got < count) {
        midi_record rec;
        int i = earliest(t, &rec);
        if (i < 0)
            break;
        if (rec.size > data_len) {
            *too_big = rec.size;
            break;
        }
        char *row = rows + (ptrdiff_t)got * stride;
        uint32_t head[3] = {(uint32_t)i, (uint32_t)rec.stamp, rec.size};
        memcpy(row, head, sizeof head);
        rt_ring *r = &t->ports[i]->ring;
        ring_vec v[2];
        ring_read_vec(r, sizeof rec + rec.size, v);
        ring_vec_get(v, sizeof rec, row + sizeof head, rec.size);
        memset(row + sizeof head + rec.size, 0, data_len - rec.size);
        ring_read_advance(r, sizeof rec + rec.size);
        got++;
    }
    pthread_mutex_unlock(&m->lock);
    return got;
}

/* stamp b comes before stamp a in a kind's order. */
static int before(uint32_t kind, uint64_t a, uint64_t b)
{
    if (kind == RT_MIDI_TIME)
        return (int32_t)((uint32_t)b - (uint32_t)a) < 0;
    return b < a;
}

int rt_midi_write(rt_midi *m, jack_port_t *port, size_t count, const uint32_t *kinds,
                  const uint64_t *stamps, const uint32_t *sizes, const unsigned char *data,
                  size_t *bad)
{
    rt_engine *e = m->e;
    int rc = midi_gone(e);
    if (rc != RT_OK)
        return rc;
    if (!atomic_load(&e->active))
        return RT_INACTIVE;
    pthread_mutex_lock(&m->lock);
    midi_port *p = find_port(m, RT_OUTPUT, port);
    if (p == NULL) {
        pthread_mutex_unlock(&m->lock);
        return RT_MIDI_WRONG_PORT;
    }
    /* Time order per kind, against what is still queued and within. Once
     * the ring is empty the process thread has written everything, and an
     * earlier stamp is merely late. */
    if (ring_readable(&p->ring) == 0)
        p->has_last[0] = p->has_last[1] = 0;
    int has_last[2] = {p->has_last[0], p->has_last[1]};
    uint64_t last[2] = {p->last[0], p->last[1]};
    size_t total = 0;
    for (size_t i = 0; i < count; i++) {
        uint32_t k = kinds[i];
        total += sizeof(midi_record) + sizes[i];
        if (k == RT_MIDI_NOW)
            continue;
        if (has_last[k] && before(k, last[k], stamps[i])) {
            *bad = i;
            pthread_mutex_unlock(&m->lock);
            return RT_MIDI_ORDER;
        }
        has_last[k] = 1;
        last[k] = stamps[i];
    }
    if (total > p->ring.size) {
        pthread_mutex_unlock(&m->lock);
        return RT_MIDI_TOO_BIG;
    }
    if (ring_writable(&p->ring) < total) {
        pthread_mutex_unlock(&m->lock);
        return RT_AGAIN;
    }
    ring_vec v[2];
    ring_write_vec(&p->ring, total, v);
    size_t at = 0;
    for (size_t i = 0; i < count; i++) {
        midi_record rec = {kinds[i] == RT_MIDI_NOW ? 0 : stamps[i], sizes[i], kinds[i]};
        ring_vec_put(v, at, &rec, sizeof rec);
        ring_vec_put(v, at + sizeof rec, data, sizes[i]);
        at += sizeof rec + sizes[i];
        data += sizes[i];
    }
    ring_write_advance(&p->ring, total);  /* all records at once */
    memcpy(p->has_last, has_last, sizeof has_last);
    memcpy(p->last, last, sizeof last);
    pthread_mutex_unlock(&m->lock);
    return RT_OK;
}

static int input_waiting(rt_midi *m)
{
    pthread_mutex_lock(&m->lock);
    midi_table *t = atomic_load(&m->tables[RT_INPUT]);
    int any = 0;
    for (uint32_t i = 0; t && i < t->count && !any; i++)
        any = ring_readable(&t->ports[i]->ring) >= sizeof(midi_record);
    pthread_mutex_unlock(&m->lock);
    return any;
}

int rt_midi_wait(rt_midi *m, int dir, int wait_ms)
{
    rt_engine *e = m->e;
    /* The process thread wakes moved_gen after each cycle while someone
     * waits on it (see rt_wait_moved()). */
    atomic_fetch_add(&e->moved_waiters, 1);
    unsigned gen = atomic_load(&e->moved_gen);
    int rc = midi_gone(e);
    if (rc == RT_OK && dir == RT_INPUT && input_waiting(m))
        rc = RT_OK;
    else if (rc == RT_OK && !atomic_load(&e->active))
        rc = RT_INACTIVE;
    else if (rc == RT_OK) {
        futex_wait_gen(&e->moved_gen, gen, wait_ms);
        rc = atomic_load(&e->moved_gen) != gen ? RT_OK : RT_AGAIN;
        if (midi_gone(e) != RT_OK)
            rc = midi_gone(e);
    }
    atomic_fetch_sub(&e->moved_waiters, 1);
    return rc;
}

void rt_midi_get_stats(rt_midi *m, rt_midi_stats *s)
{
    s->events_in = atomic_load(&m->events_in);
    s->events_out = atomic_load(&m->events_out);
    s->dropped_in = atomic_load(&m->dropped_in);
    s->dropped_out = atomic_load(&m->dropped_out);
    s->late = atomic_load(&m->late);
    s->late_frames = atomic_load(&m->late_frames);
    s->mlocked = atomic_load(&m->unlocked_rings) == 0;
}
