/* pyjack time engine internals shared by _rt_time_jack.c and _rt_time.c. */
#ifndef PYJACK_RT_TIME_INTERNAL_H
#define PYJACK_RT_TIME_INTERNAL_H

#include "_rt_time.h"
#include "_rt_internal.h"

struct rt_time {
    jack_client_t *client;
    rt_engine *engine;           /* its stream positions give the rings' latency */

    _Atomic(rt_tempo_map *) map;
    rt_cycles timebase_gate;
    atomic_uint_fast64_t timebase_calls;

    /* Slow-sync. The callback (process thread) owns the request state;
     * Python reads sync_seq/sync_frame and stores sync_acked. */
    atomic_int sync_on;
    _Atomic uint64_t sync_timeout_usecs;
    atomic_uint sync_seq;        /* futex word: bumped for each new request */
    _Atomic uint32_t sync_frame;
    atomic_uint sync_acked;
    atomic_int sync_pending;
    struct timespec sync_deadline;   /* callback only */
    atomic_uint_fast64_t sync_requests;
    atomic_uint_fast64_t sync_timeouts;

    _Atomic(rt_latency_table *) latency;
    rt_cycles latency_gate;
    atomic_uint_fast64_t latency_calls;
};

#endif
