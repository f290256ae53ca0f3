/* pyjack time engine: what Python threads call (see _rt_time.h). */
#define _GNU_SOURCE
#include "_rt_time_internal.h"

#include <stdlib.h>
#include <string.h>

rt_time *rt_time_create(jack_client_t *client, rt_engine *engine)
{
    rt_time *t = calloc(1, sizeof *t);
    if (t != NULL) {
        t->client = client;
        t->engine = engine;
    }
    return t;
}

int rt_time_attach(rt_time *t)
{
    int rc = jack_set_latency_callback(t->client, rt_time_jack_latency, t);
    /* Property changes are events of the engine (_rt_jack.c). */
    rc |= jack_set_property_change_callback(t->client, rt_jack_property_change, t->engine);
    return rc ? -1 : 0;
}

void rt_time_destroy(rt_time *t)
{
    if (t == NULL)
        return;
    free(atomic_load(&t->map));
    free(atomic_load(&t->latency));
    free(t);
}

/* Wait (2 s at most) until every callback that entered the gate before the
 * mark has left it. */
static int gate_passed(rt_cycles *gate, uint64_t mark)
{
    for (int i = 0; i < 20000; i++) {
        if (cycles_passed(gate, mark))
            return 1;
        usleep(100);
    }
    return 0;
}

rt_tempo_map *rt_tempo_map_new(uint32_t count)
{
    rt_tempo_map *m = calloc(1, sizeof *m + (size_t)count * sizeof(rt_tempo_segment));
    if (m != NULL)
        m->count = count;
    return m;
}

int rt_tempo_map_finish(rt_tempo_map *m)
{
    if (m->count == 0 || m->seg[0].start_frame != 0 || m->frame_rate == 0)
        return -1;
    for (uint32_t i = 0; i < m->count; i++) {
        rt_tempo_segment *s = &m->seg[i];
        if (s->micro_bpm == 0 || s->beats_per_bar == 0 || s->beat_type == 0 || s->ticks_per_beat == 0)
            return -1;
        if (i == 0) {
            s->start_bars = 0;
            s->start_tick_in_bar = 0;
            s->start_bar_start_tick = 0.0;
            continue;
        }
        rt_tempo_segment *p = &m->seg[i - 1];
        if (s->start_frame <= p->start_frame)
            return -1;
        /* The BBT of start_frame in the previous segment: only segments
         * 0..i-1 count, so look at a map cut after i - 1. */
        uint32_t count = m->count;
        m->count = i;
        rt_bbt b;
        rt_bbt_of(m, s->start_frame, &b);
        m->count = count;
        uint64_t bars = (uint64_t)(b.bar - 1);
        uint64_t in_bar = (uint64_t)(b.beat - 1) * p->ticks_per_beat + (uint64_t)b.tick;
        int same_meter = s->beats_per_bar == p->beats_per_bar && s->beat_type == p->beat_type
                         && s->ticks_per_beat == p->ticks_per_beat;
        if (same_meter || in_bar == 0) {
            s->start_bars = bars;
            s->start_tick_in_bar = in_bar;
            s->start_bar_start_tick = b.bar_start_tick;
        } else {
            /* A new meter mid-bar: the bar ends here, a new one starts. */
            s->start_bars = bars + 1;
            s->start_tick_in_bar = 0;
            s->start_bar_start_tick = b.bar_start_tick + (double)in_bar;
        }
    }
    return 0;
}

int rt_time_publish_map(rt_time *t, rt_tempo_map *m)
{
    rt_tempo_map *old = atomic_exchange(&t->map, m);
    uint64_t mark = cycles_mark(&t->timebase_gate);
    if (!gate_passed(&t->timebase_gate, mark))
        return -1;
    free(old);
    return 0;
}

int rt_time_set_timebase(rt_time *t, int conditional)
{
    return jack_set_timebase_callback(t->client, conditional, rt_time_jack_timebase, t);
}

int rt_time_release_timebase(rt_time *t)
{
    return jack_release_timebase(t->client);
}

int rt_time_set_sync(rt_time *t, int on, uint64_t timeout_usecs)
{
    atomic_store(&t->sync_timeout_usecs, timeout_usecs);
    atomic_store(&t->sync_on, on != 0);
    if (on)
        return jack_set_sync_callback(t->client, rt_time_jack_sync, t);
    return jack_set_sync_callback(t->client, NULL, NULL);
}

int rt_time_wait_sync(rt_time *t, uint32_t seq, int wait_ms, uint32_t *new_seq, uint32_t *frame)
{
    struct timespec deadline, now;
    deadline_after(&deadline, wait_ms);
    for (;;) {
        unsigned current = atomic_load(&t->sync_seq);
        if (current != seq) {
            *new_seq = current;
            *frame = atomic_load(&t->sync_frame);
            return 1;
        }
        clock_gettime(CLOCK_MONOTONIC, &now);
        long ms = (deadline.tv_sec - now.tv_sec) * 1000L + (deadline.tv_nsec - now.tv_nsec) / 1000000L;
        if (ms <= 0)
            return 0;
        futex_wait_gen(&t->sync_seq, current, ms);
    }
}

void rt_time_sync_ready(rt_time *t, uint32_t seq)
{
    atomic_store(&t->sync_acked, seq);
}

rt_latency_table *rt_latency_table_new(uint32_t count)
{
    rt_latency_table *table = calloc(1, sizeof *table + (size_t)count * sizeof(rt_latency_entry));
    if (table != NULL)
        table->count = count;
    return table;
}

int rt_time_publish_latency(rt_time *t, rt_latency_table *table)
{
    rt_latency_table *old = atomic_exchange(&t->latency, table);
    uint64_t mark = cycles_mark(&t->latency_gate);
    if (!gate_passed(&t->latency_gate, mark))
        return -1;
    free(old);
    return 0;
}

void rt_time_get_stats(rt_time *t, rt_time_stats *s)
{
    s->timebase_calls = atomic_load(&t->timebase_calls);
    s->sync_requests = atomic_load(&t->sync_requests);
    s->sync_timeouts = atomic_load(&t->sync_timeouts);
    s->latency_calls = atomic_load(&t->latency_calls);
    s->sync_seq = atomic_load(&t->sync_seq);
    s->sync_frame = atomic_load(&t->sync_frame);
    s->sync_pending = atomic_load(&t->sync_pending);
}
