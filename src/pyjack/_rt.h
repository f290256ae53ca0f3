/* pyjack real-time engine: the C side of a pyjack client.
 *
 * Pure C: never includes Python.h. What JACK's threads run is in _rt_jack.c,
 * what Python threads call in _rt.c; their header comments say what each
 * thread may do.
 */
#ifndef PYJACK_RT_H
#define PYJACK_RT_H

#include <stddef.h>
#include <stdint.h>
#include <jack/jack.h>

#define RT_INPUT 0
#define RT_OUTPUT 1

/* Longest full port name JACK2 and PipeWire use, with its terminating NUL. */
#define RT_NAME_SIZE 320

/* Results of the Python-side calls. */
#define RT_OK 0
#define RT_AGAIN 1            /* the wait slice ran out; call again */
#define RT_INPUT_SYNC 2       /* input was lost since the previous call */
#define RT_OUTPUT_SYNC 3      /* output underran since the previous call */
#define RT_SHUTDOWN (-1)      /* the server has gone away */
#define RT_CLOSED (-2)        /* the client was closed */
#define RT_INACTIVE (-3)      /* the client is not active */
#define RT_PORTS_CHANGED (-4) /* the port count no longer matches the arrays */
#define RT_BUSY (-5)          /* another thread is already in rt_exchange */
#define RT_NOMEM (-6)
#define RT_NO_PORT (-7)
#define RT_DEPTH (-8)         /* the ring depth is under two periods */

/* Kinds of event records queued by the notification thread. */
#define RT_EV_GRAPH_ORDER 0
#define RT_EV_PORT_REGISTRATION 1
#define RT_EV_XRUN 2
#define RT_EV_SHUTDOWN 3
#define RT_EV_BUFFER_SIZE 4
#define RT_EV_SAMPLE_RATE 5
#define RT_EV_FREEWHEEL 6
#define RT_EV_CLIENT_REGISTRATION 7
#define RT_EV_PORT_CONNECT 8
#define RT_EV_PORT_RENAME 9
#define RT_EV_PROPERTY_CHANGE 10  /* a: key, b: subject UUID in decimal, value: change */
#define RT_EV_KINDS 11

typedef struct rt_event {
    uint32_t kind;
    int32_t value;           /* registered/connected flag, new size, ... */
    char a[RT_NAME_SIZE];    /* port or client name */
    char b[RT_NAME_SIZE];    /* second port name (connections, renames) */
} rt_event;

/* An array of float32 samples shaped (rows, frames) with byte strides.
 * rows is the port count the caller validated the array against. data is
 * NULL when the direction does not move in this exchange (it has no ports,
 * or the caller left it out); its port count is still checked. */
typedef struct rt_block {
    char *data;
    ptrdiff_t row_stride;
    ptrdiff_t frame_stride;
    uint32_t rows;
} rt_block;

typedef struct rt_stats {
    uint64_t cycles;        /* process cycles run while active */
    uint64_t frames_in;     /* frames delivered into the input rings */
    uint64_t frames_out;    /* frames taken from the output rings */
    uint64_t lost_in;       /* frames dropped because an input ring was full */
    uint64_t lost_out;      /* frames zero-filled because the output rings ran dry */
    uint64_t xruns;         /* xruns reported by the server */
    uint64_t events_dropped;/* event records lost because the queue was full */
    uint32_t buffer_size;
    uint32_t sample_rate;
    uint32_t depth;         /* ring depth in frames */
    int shutdown;           /* the server has gone away */
    int freewheel;
    int mlocked;            /* every ring is locked in memory */
    uint32_t xrun_delay_usecs;     /* delay of the latest xrun, microseconds */
    uint32_t xrun_delay_max_usecs; /* the largest such delay */
} rt_stats;

/* One process() call, carried across the slices of rt_exchange(). Zero it,
 * set nframes, then call rt_exchange() until it returns anything but
 * RT_AGAIN. */
typedef struct rt_request {
    uint32_t nframes;
    uint32_t done_in;       /* frames read into the input array so far */
    uint32_t done_out;      /* frames queued from the output array so far */
    int started;
    int sync;               /* RT_OK, RT_INPUT_SYNC or RT_OUTPUT_SYNC */
    uint64_t lost;          /* frames lost that the sync error reports */
} rt_request;

typedef struct rt_engine rt_engine;

/* Lifetime. The engine owns the JACK client once rt_attach() succeeded. */
rt_engine *rt_create(uint32_t depth_frames);
int rt_attach(rt_engine *e, jack_client_t *client, int processing);
void rt_close(rt_engine *e);
void rt_destroy(rt_engine *e);
jack_client_t *rt_client(rt_engine *e);

int rt_activate(rt_engine *e);
int rt_deactivate(rt_engine *e);
int rt_is_active(rt_engine *e);

/* Around a libjack call on rt_client(e) from a Python thread: serialises it
 * with every other such call and with rt_close(). Returns RT_OK with the
 * lock held, or RT_CLOSED / RT_SHUTDOWN without it. */
int rt_request_begin(rt_engine *e);
void rt_request_end(rt_engine *e);

/* Ports: the engine registers and unregisters them so that the real-time
 * thread never sees a port that is half set up or already gone. */
jack_port_t *rt_register_port(rt_engine *e, const char *name, unsigned long flags, int *error);
int rt_unregister_port(rt_engine *e, jack_port_t *port);
uint32_t rt_port_count(rt_engine *e, int dir);
/* Full names of the ports of one direction in process() row order; returns
 * the count, which may exceed max (then only max names were written). */
uint32_t rt_port_names(rt_engine *e, int dir, char (*names)[RT_NAME_SIZE], uint32_t max);

/* Move frames between the caller's arrays and the rings, in pieces of at
 * most half the depth, input before output. Waits up to wait_ms for data
 * and space, then returns RT_AGAIN: call again with the same request.
 *
 * Whether the request reports a sync error is decided on its first call,
 * from the losses since the previous request: with RT_INPUT_SYNC or
 * RT_OUTPUT_SYNC all of the input is still read and none of the output is
 * queued, so a retry with the same output duplicates nothing. Losses during
 * a request are reported by the next one. A request given up (timeout,
 * Ctrl-C) leaves its error, if any, to the next one. Returns RT_DEPTH once
 * the server's period is more than half the depth. */
int rt_exchange_begin(rt_engine *e);
int rt_exchange(rt_engine *e, const rt_block *out, const rt_block *in, rt_request *req, int wait_ms);
void rt_exchange_end(rt_engine *e);

/* Wait until frames_in (RT_INPUT) or frames_out (RT_OUTPUT) of the stats
 * reaches total: RT_OK, or RT_AGAIN after wait_ms, or RT_CLOSED,
 * RT_SHUTDOWN, RT_INACTIVE. Any number of threads may wait at once. */
int rt_wait_moved(rt_engine *e, int dir, uint64_t total, int wait_ms);

void rt_get_stats(rt_engine *e, rt_stats *s);
/* Why a ring is not locked in memory: returns 1 and writes the reason when
 * one is not, else 0 and an empty string. */
int rt_mlock_error(rt_engine *e, char *buf, size_t size);
/* Stream position of each direction as Python sees it (frames read from the
 * input rings, frames queued into the output rings), and the JACK frame time
 * at which a given stream position crossed the port. The time is exact while
 * no frame was lost between that position and the latest cycle. */
uint64_t rt_position(rt_engine *e, int dir);
int rt_frame_time_of(rt_engine *e, int dir, uint64_t position, jack_nframes_t *time);

/* Events: counts since the last call (reset), and the queued records. */
void rt_take_event_counts(rt_engine *e, uint32_t counts[RT_EV_KINDS]);
void rt_set_event_queue(rt_engine *e, int enabled);
int rt_pop_event(rt_engine *e, rt_event *ev);
int rt_wait_event(rt_engine *e, int wait_ms);
const char *rt_shutdown_reason(rt_engine *e);


/* ---- Freewheel switching: set_freewheel() (see _rt.c) ---- */
/* When the process thread waits for Python instead of dropping. */
#define RT_FW_FOLLOW 0   /* while the server reports freewheel (its callback) */
#define RT_FW_ARMED 1    /* now: this client asked for freewheel, or is about to */
#define RT_FW_LEAVING 2  /* as armed, until the server reports the end of freewheel */
/* Arm the engine of an active client (RT_INACTIVE otherwise), then ask the
 * server to freewheel; if it refused while not freewheeling, disarm again
 * and set *refused to JACK's code. */
int rt_freewheel_enter(rt_engine *e, int *refused);
/* Armed -> leaving, and ask the server to leave freewheel on a thread of
 * the engine and return at once: the process thread may be waiting for this
 * very caller, which must keep calling rt_exchange() until the server has
 * left (rt_freewheel_mode() is RT_FW_FOLLOW again). */
int rt_freewheel_leave(rt_engine *e);
int rt_freewheel_mode(rt_engine *e);
#endif
