/* pyjack MIDI: what JACK's process thread runs, and nothing else.
 *
 * Same rules as _rt_jack.c: no allocation, lock, print, sleep or Python;
 * only copies between JACK's MIDI port buffers and the record rings, and
 * atomic counters. Compiled on its own so that .ci/rtcheck can check it.
 */
#define _GNU_SOURCE
#include "_midi_internal.h"

static void midi_input(rt_midi *m, midi_port *p, jack_nframes_t n, jack_nframes_t now)
{
    void *buf = jack_port_get_buffer(p->port, n);
    uint32_t count = jack_midi_get_event_count(buf);
    for (uint32_t i = 0; i < count; i++) {
        jack_midi_event_t ev;
        if (jack_midi_event_get(&ev, buf, i) != 0)
            continue;
        size_t total = sizeof(midi_record) + ev.size;
        if (ring_writable(&p->ring) < total) {
            atomic_fetch_add_explicit(&m->dropped_in, 1, memory_order_relaxed);
            continue;
        }
        midi_record rec = {(uint64_t)(jack_nframes_t)(now + ev.time), (uint32_t)ev.size, RT_MIDI_TIME};
        ring_vec v[2];
        ring_write_vec(&p->ring, total, v);
        ring_vec_put(v, 0, &rec, sizeof rec);
        ring_vec_put(v, sizeof rec, ev.buffer, ev.size);
        ring_write_advance(&p->ring, total);
        atomic_fetch_add_explicit(&m->events_in, 1, memory_order_relaxed);
    }
}

/* Where in this cycle a record is due: 0 <= *offset < n, with *late frames
 * of lateness; returns 0 while it is not due yet. */
static int midi_due(const midi_record *rec, jack_nframes_t n, jack_nframes_t now, uint64_t out_position,
                    uint64_t out_taken, uint32_t *offset, uint64_t *late)
{
    *late = 0;
    if (rec->kind == RT_MIDI_NOW) {
        *offset = 0;
        return 1;
    }
    if (rec->kind == RT_MIDI_POSITION) {
        if (rec->stamp < out_position) {
            *offset = 0;
            *late = out_position - rec->stamp;
            return 1;
        }
        if (rec->stamp - out_position >= out_taken)
            return 0;  /* that frame has not been played yet */
        *offset = (uint32_t)(rec->stamp - out_position);
        return 1;
    }
    /* Frame times wrap at 2^32: the signed distance says past or future. */
    int32_t ahead = (int32_t)((uint32_t)rec->stamp - now);
    if (ahead < 0) {
        *offset = 0;
        *late = (uint64_t)(-(int64_t)ahead);
        return 1;
    }
    if ((uint32_t)ahead >= n)
        return 0;
    *offset = (uint32_t)ahead;
    return 1;
}

static void midi_output(rt_midi *m, midi_port *p, jack_nframes_t n, jack_nframes_t now,
                        uint64_t out_position, uint64_t out_taken)
{
    void *buf = jack_port_get_buffer(p->port, n);
    jack_midi_clear_buffer(buf);
    size_t room = jack_midi_max_event_size(buf);
    if (atomic_load_explicit(&p->max_event_size, memory_order_relaxed) != room)
        atomic_store_explicit(&p->max_event_size, (uint32_t)room, memory_order_relaxed);
    uint32_t last_offset = 0;
    while (ring_readable(&p->ring) >= sizeof(midi_record)) {
        midi_record rec;
        ring_peek(&p->ring, &rec, sizeof rec);
        uint32_t offset;
        uint64_t late;
        if (!midi_due(&rec, n, now, out_position, out_taken, &offset, &late))
            break;
        if (offset < last_offset)
            offset = last_offset;  /* JACK takes a cycle's events in time order */
        size_t total = sizeof rec + rec.size;
        if (rec.size > room) {
            /* No JACK buffer of this port can take it (Python refuses such
             * events once the port's size is known): drop and count. */
            ring_read_advance(&p->ring, total);
            atomic_fetch_add_explicit(&m->dropped_out, 1, memory_order_relaxed);
            continue;
        }
        jack_midi_data_t *dst = jack_midi_event_reserve(buf, offset, rec.size);
        if (dst == NULL)
            break;  /* this cycle's buffer is full: the rest goes next cycle */
        ring_vec v[2];
        ring_read_vec(&p->ring, total, v);
        ring_vec_get(v, sizeof rec, dst, rec.size);
        ring_read_advance(&p->ring, total);
        last_offset = offset;
        atomic_fetch_add_explicit(&m->events_out, 1, memory_order_relaxed);
        if (late) {
            atomic_fetch_add_explicit(&m->late, 1, memory_order_relaxed);
            atomic_fetch_add_explicit(&m->late_frames, late, memory_order_relaxed);
        }
    }
}

void rt_midi_cycle(rt_midi *m, jack_nframes_t n, jack_nframes_t now, uint64_t out_position,
                   uint64_t out_taken)
{
    midi_table *t = atomic_load(&m->tables[RT_INPUT]);
    for (uint32_t i = 0; t && i < t->count; i++)
        midi_input(m, t->ports[i], n, now);
    t = atomic_load(&m->tables[RT_OUTPUT]);
    for (uint32_t i = 0; t && i < t->count; i++)
        midi_output(m, t->ports[i], n, now, out_position, out_taken);
}
