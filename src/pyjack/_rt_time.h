/* pyjack time engine: the timebase, sync and latency callbacks of a client
 * and what Python publishes for them.
 *
 * Pure C, never includes Python.h. What JACK's threads run is in
 * _rt_time_jack.c (same rules as _rt_jack.c: no allocation, lock, print or
 * Python), what Python threads call in _rt_time.c.
 *
 * Python changes what the callbacks use by publishing a new immutable
 * snapshot (a tempo map, a latency table) with an atomic pointer swap; the
 * old one is freed once no callback that may have loaded it is still
 * running (the rt_cycles gate of _rt_internal.h).
 */
#ifndef PYJACK_RT_TIME_H
#define PYJACK_RT_TIME_H

#include <stdint.h>
#include <jack/jack.h>
#include <jack/transport.h>

#include "_rt.h"

/* One segment of a tempo map: from start_frame (a transport frame) until
 * the next segment's start_frame, the tempo and meter are constant.
 *
 * BBT of transport frame f in segment s (all integer arithmetic):
 *   ticks   = floor((f - s.start_frame) * s.micro_bpm * s.ticks_per_beat
 *                   / (60 000 000 * frame_rate))
 *   total   = s.start_tick_in_bar + ticks
 *   bar     = s.start_bars + total / (beats_per_bar * ticks_per_beat) + 1
 *   beat    = (total % (beats_per_bar * ticks_per_beat)) / ticks_per_beat + 1
 *   tick    = total % ticks_per_beat
 * The start_* fields are derived by rt_tempo_map_finish() from the segment
 * before: the BBT of start_frame in that segment; when the meter changes
 * (beats_per_bar, beat_type or ticks_per_beat) a new bar starts there unless
 * start_frame is already on a bar line. */
typedef struct rt_tempo_segment {
    uint64_t start_frame;
    uint64_t micro_bpm;          /* tempo in millionths of a beat per minute */
    uint32_t beats_per_bar;
    uint32_t beat_type;
    uint32_t ticks_per_beat;
    uint64_t start_bars;         /* bars completed before start_frame */
    uint64_t start_tick_in_bar;  /* ticks into the bar at start_frame */
    double start_bar_start_tick; /* ticks from frame 0 to that bar's first tick */
} rt_tempo_segment;

typedef struct rt_tempo_map {
    uint32_t frame_rate;
    uint32_t count;              /* >= 1; segments sorted by start_frame, the first at 0 */
    rt_tempo_segment seg[];
} rt_tempo_map;

typedef struct rt_bbt {
    int32_t bar, beat, tick;
    double bar_start_tick;
} rt_bbt;

/* One of the client's own ports, for the latency callback, with the
 * latencies Python stated for it. A range not stated is computed: JACK asks
 * a client for the latency on the far side of its processing, so an output
 * port's capture latency is the largest capture latency of the client's
 * input ports plus what the rings hold between them (frames waiting in the
 * input rings, frames queued in the output rings); an input port's playback
 * latency is the largest playback latency of its output ports plus the
 * same. */
typedef struct rt_latency_entry {
    jack_port_t *port;
    int output;                  /* an output port */
    int set[2];                  /* [JackCaptureLatency], [JackPlaybackLatency] stated */
    jack_latency_range_t range[2];
} rt_latency_entry;

typedef struct rt_latency_table {
    uint32_t count;
    rt_latency_entry entry[];
} rt_latency_table;

typedef struct rt_time_stats {
    uint64_t timebase_calls;     /* timebase callbacks run */
    uint64_t sync_requests;      /* positions the sync callback was asked for */
    uint64_t sync_timeouts;      /* requests answered ready because Python was late */
    uint64_t latency_calls;      /* latency callbacks run */
    uint32_t sync_seq;           /* number of the latest sync request */
    uint32_t sync_frame;         /* its frame */
    int sync_pending;            /* it is not answered yet */
} rt_time_stats;

typedef struct rt_time rt_time;

/* Python threads (_rt_time.c). */
rt_time *rt_time_create(jack_client_t *client, rt_engine *engine);
void rt_time_destroy(rt_time *t);   /* after the client is closed */
/* Install the latency callback: before activation (JACK2 refuses it later). */
int rt_time_attach(rt_time *t);

rt_tempo_map *rt_tempo_map_new(uint32_t count);
/* Sorts nothing: checks the order and fills the start_* fields.
 * Returns 0, or -1 if the segments are not in order from frame 0. */
int rt_tempo_map_finish(rt_tempo_map *m);
/* Swap in a map (NULL: none) and free the old one once unused; the engine
 * owns m from here on. Returns 0, or -1 when a callback seemed stuck (the
 * old map is then leaked, never freed under it). */
int rt_time_publish_map(rt_time *t, rt_tempo_map *m);
int rt_time_set_timebase(rt_time *t, int conditional);
int rt_time_release_timebase(rt_time *t);
void rt_bbt_of(const rt_tempo_map *m, uint64_t frame, rt_bbt *out);
const rt_tempo_segment *rt_segment_of(const rt_tempo_map *m, uint64_t frame);

/* Slow-sync: on/off with a timeout in microseconds after which the callback
 * answers ready anyway. */
int rt_time_set_sync(rt_time *t, int on, uint64_t timeout_usecs);
/* Wait up to wait_ms for a sync request newer than seq; returns 1 with the
 * request's number and frame, 0 on timeout. */
int rt_time_wait_sync(rt_time *t, uint32_t seq, int wait_ms, uint32_t *new_seq, uint32_t *frame);
/* Python is ready for request seq. */
void rt_time_sync_ready(rt_time *t, uint32_t seq);

/* Latency table of own ports; the engine owns table from here on. */
rt_latency_table *rt_latency_table_new(uint32_t count);
int rt_time_publish_latency(rt_time *t, rt_latency_table *table);

void rt_time_get_stats(rt_time *t, rt_time_stats *s);

/* JACK threads (_rt_time_jack.c). */
void rt_time_jack_timebase(jack_transport_state_t state, jack_nframes_t nframes,
                           jack_position_t *pos, int new_pos, void *arg);
int rt_time_jack_sync(jack_transport_state_t state, jack_position_t *pos, void *arg);
void rt_time_jack_latency(jack_latency_callback_mode_t mode, void *arg);

#endif
