/* pyjack time engine: the timebase, sync and latency callbacks JACK's
 * threads run, and nothing else.
 *
 * Same rules as _rt_jack.c: no allocation, free, lock, print, sleep or
 * Python. Each callback loads the snapshot Python published once, inside
 * an rt_cycles gate, so a snapshot is never freed under it and a change is
 * never seen halfway through one call. .ci/rtcheck checks this file with nm
 * and tests/test_rtsafe.py at run time.
 *
 * JACK2 runs the timebase and sync callbacks on the process thread after
 * the process callbacks, and the latency callback on the notification
 * thread.
 */
#define _GNU_SOURCE
#include "_rt_time_internal.h"

#include <string.h>

const rt_tempo_segment *rt_segment_of(const rt_tempo_map *m, uint64_t frame)
{
    /* Binary search for the last segment starting at or before frame. */
    uint32_t lo = 0, hi = m->count;
    while (hi - lo > 1) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (m->seg[mid].start_frame <= frame)
            lo = mid;
        else
            hi = mid;
    }
    return &m->seg[lo];
}

/* The BBT formula of _rt_time.h, in 128-bit integers so that no product
 * overflows (frames < 2^64 would not fit, but a segment spans < 2^40
 * frames in practice and micro_bpm * ticks_per_beat < 2^72). */
void rt_bbt_of(const rt_tempo_map *m, uint64_t frame, rt_bbt *out)
{
    const rt_tempo_segment *s = rt_segment_of(m, frame);
    unsigned __int128 elapsed = frame >= s->start_frame ? frame - s->start_frame : 0;
    unsigned __int128 num = elapsed * s->micro_bpm * s->ticks_per_beat;
    unsigned __int128 den = (unsigned __int128)60000000u * m->frame_rate;
    uint64_t ticks = (uint64_t)(num / den);
    uint64_t bar_ticks = (uint64_t)s->beats_per_bar * s->ticks_per_beat;
    uint64_t total = s->start_tick_in_bar + ticks;
    uint64_t bars = total / bar_ticks;
    uint64_t in_bar = total % bar_ticks;
    out->bar = (int32_t)(s->start_bars + bars + 1);
    out->beat = (int32_t)(in_bar / s->ticks_per_beat + 1);
    out->tick = (int32_t)(in_bar % s->ticks_per_beat);
    out->bar_start_tick = s->start_bar_start_tick + (double)(bars * bar_ticks);
}

void rt_time_jack_timebase(jack_transport_state_t state, jack_nframes_t nframes,
                           jack_position_t *pos, int new_pos, void *arg)
{
    (void)state;
    (void)nframes;
    (void)new_pos;
    rt_time *t = arg;
    cycles_enter(&t->timebase_gate);
    rt_tempo_map *m = atomic_load(&t->map);
    if (m != NULL) {
        const rt_tempo_segment *s = rt_segment_of(m, pos->frame);
        rt_bbt b;
        rt_bbt_of(m, pos->frame, &b);
        pos->valid = (jack_position_bits_t)(pos->valid | JackPositionBBT);
        pos->bar = b.bar;
        pos->beat = b.beat;
        pos->tick = b.tick;
        pos->bar_start_tick = b.bar_start_tick;
        pos->beats_per_bar = (float)s->beats_per_bar;
        pos->beat_type = (float)s->beat_type;
        pos->ticks_per_beat = (double)s->ticks_per_beat;
        pos->beats_per_minute = (double)s->micro_bpm / 1e6;
    }
    atomic_fetch_add_explicit(&t->timebase_calls, 1, memory_order_relaxed);
    cycles_leave(&t->timebase_gate);
}

static int past(const struct timespec *deadline)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return now.tv_sec > deadline->tv_sec
           || (now.tv_sec == deadline->tv_sec && now.tv_nsec >= deadline->tv_nsec);
}

/* Ready once Python acknowledged this request (rt_time_sync_ready), or
 * when the timeout has passed (counted). JACK stops calling once we answer
 * ready, so the next call after a ready answer, or a call for another
 * frame, is a new request. */
int rt_time_jack_sync(jack_transport_state_t state, jack_position_t *pos, void *arg)
{
    (void)state;
    rt_time *t = arg;
    if (!atomic_load(&t->sync_on))
        return 1;
    unsigned seq = atomic_load(&t->sync_seq);
    if (!atomic_load(&t->sync_pending) || atomic_load(&t->sync_frame) != pos->frame) {
        seq += 1;
        uint64_t timeout = atomic_load(&t->sync_timeout_usecs);
        clock_gettime(CLOCK_MONOTONIC, &t->sync_deadline);
        t->sync_deadline.tv_sec += (time_t)(timeout / 1000000u);
        t->sync_deadline.tv_nsec += (long)(timeout % 1000000u) * 1000L;
        if (t->sync_deadline.tv_nsec >= 1000000000L) {
            t->sync_deadline.tv_sec += 1;
            t->sync_deadline.tv_nsec -= 1000000000L;
        }
        atomic_store(&t->sync_frame, pos->frame);
        atomic_store(&t->sync_pending, 1);
        atomic_fetch_add(&t->sync_requests, 1);
        atomic_store(&t->sync_seq, seq);
        futex_wake_all(&t->sync_seq);
    }
    if (atomic_load(&t->sync_acked) == seq) {
        atomic_store(&t->sync_pending, 0);
        return 1;
    }
    if (past(&t->sync_deadline)) {
        atomic_fetch_add(&t->sync_timeouts, 1);
        atomic_store(&t->sync_pending, 0);
        return 1;
    }
    return 0;
}

/* Frames the rings hold between an input and an output: input frames not
 * yet read by Python plus output frames queued ahead of the process thread.
 * Each difference loads the position that is behind first: both only grow,
 * so a cycle or an exchange between the two loads makes the answer larger by
 * what moved meanwhile, never negative (read the other way round, a race
 * turned "a block" into 0 or a whole ring). */
static uint32_t ring_latency(rt_engine *e)
{
    uint64_t read = atomic_load(&e->py_pos[RT_INPUT]);
    uint64_t in = atomic_load(&e->rt_pos[RT_INPUT]) - read;
    uint64_t played = atomic_load(&e->rt_pos[RT_OUTPUT]);
    uint64_t out = atomic_load(&e->py_pos[RT_OUTPUT]) - played;
    return (uint32_t)((in > e->depth ? e->depth : in) + (out > e->depth ? e->depth : out));
}

void rt_time_jack_latency(jack_latency_callback_mode_t mode, void *arg)
{
    rt_time *t = arg;
    cycles_enter(&t->latency_gate);
    rt_latency_table *table = atomic_load(&t->latency);
    int m = mode == JackPlaybackLatency;
    /* Capture: set output ports from the inputs; playback: the reverse. */
    int targets = m == 0;
    if (table != NULL) {
        jack_latency_range_t far = {0, 0};
        int found = 0;
        for (uint32_t i = 0; i < table->count; i++) {
            if (table->entry[i].output == targets)
                continue;
            jack_latency_range_t r;
            jack_port_get_latency_range(table->entry[i].port, mode, &r);
            if (!found || r.min > far.min)
                far.min = r.min;
            if (!found || r.max > far.max)
                far.max = r.max;
            found = 1;
        }
        uint32_t rings = ring_latency(t->engine);
        for (uint32_t i = 0; i < table->count; i++) {
            rt_latency_entry *entry = &table->entry[i];
            if (entry->set[m]) {
                jack_port_set_latency_range(entry->port, mode, &entry->range[m]);
            } else if (entry->output == targets) {
                jack_latency_range_t r = {far.min + rings, far.max + rings};
                jack_port_set_latency_range(entry->port, mode, &r);
            }
        }
    }
    atomic_fetch_add_explicit(&t->latency_calls, 1, memory_order_relaxed);
    cycles_leave(&t->latency_gate);
}
