/* pyjack MIDI: event rings between JACK's process thread and Python.
 *
 * Each MIDI port of the client has one byte ring (_ring.h) of midi_depth
 * bytes holding records: a midi_record header, then the event's bytes. A
 * record is published with one index store, so the other side sees all of
 * it or none, and a sysex of any length up to the ring's size is one record.
 *
 * Input: every cycle the process thread copies each event of each MIDI
 * input port into the port's ring, stamped with its JACK frame time (cycle
 * start + offset). A full ring drops the event and counts it.
 *
 * Output: Python queues records in time order per port (it refuses
 * out-of-order ones: the process thread never sorts). Each cycle the
 * process thread writes the records due before the cycle's end at their
 * offsets; a record already in the past goes out at offset 0 and counts as
 * late. A record is stamped with one of:
 *   RT_MIDI_TIME      an absolute JACK frame time (wrapping 32-bit);
 *   RT_MIDI_POSITION  a position of the client's audio output stream: due at
 *                     the offset where the process thread plays that frame,
 *                     so it lines up with audio queued through process(),
 *                     across underruns too;
 *   RT_MIDI_NOW       as soon as possible: offset 0 of the next cycle.
 *
 * What the process thread runs is in _midi_jack.c (checked by .ci/rtcheck
 * like _rt_jack.c), what Python threads call in _midi.c.
 */
#ifndef PYJACK_MIDI_H
#define PYJACK_MIDI_H

#include <stddef.h>
#include <stdint.h>
#include "_rt.h"

#define RT_MIDI_TIME 0
#define RT_MIDI_POSITION 1
#define RT_MIDI_NOW 2

/* Results of rt_midi_write() beyond the RT_* codes. */
#define RT_MIDI_ORDER (-20)   /* a stamp before the port's previous one */
#define RT_MIDI_TOO_BIG (-21) /* the records cannot fit the ring at all */
#define RT_MIDI_WRONG_PORT (-22)
#define RT_MIDI_GOT 1         /* rt_midi_read() took an event */

typedef struct rt_midi rt_midi;

typedef struct rt_midi_stats {
    uint64_t events_in;     /* events copied into the input rings */
    uint64_t events_out;    /* events written into JACK's port buffers */
    uint64_t dropped_in;    /* input events dropped: a record ring was full */
    uint64_t dropped_out;   /* output events JACK's buffer could never take */
    uint64_t late;          /* output events written after their time */
    uint64_t late_frames;   /* how late those were, summed, in frames */
    int mlocked;            /* every MIDI ring is locked in memory */
} rt_midi_stats;

/* One event read by Python. */
typedef struct rt_midi_event {
    jack_port_t *port;
    uint32_t index;         /* the port's place in rt_midi_port_names() */
    uint32_t time;          /* JACK frame time */
    uint32_t size;
} rt_midi_event;

/* Lifetime: create after rt_attach(); rt_midi_close() only after
 * rt_close() (no JACK thread runs any more); destroy after both. */
rt_midi *rt_midi_create(rt_engine *e, size_t depth_bytes);
void rt_midi_close(rt_midi *m);
void rt_midi_destroy(rt_midi *m);
/* Forget every queued record; the client must be inactive. */
void rt_midi_reset(rt_midi *m);
size_t rt_midi_depth(rt_midi *m);

jack_port_t *rt_midi_register_port(rt_midi *m, const char *name, unsigned long flags, int *error);
int rt_midi_unregister_port(rt_midi *m, jack_port_t *port);
uint32_t rt_midi_port_names(rt_midi *m, int dir, char (*names)[RT_NAME_SIZE], uint32_t max);
/* The largest event an empty JACK buffer of this output port takes, as the
 * process thread saw it (0 before its first cycle). */
uint32_t rt_midi_max_event_size(rt_midi *m, jack_port_t *port);

/* Take the earliest event of all input ports into data (cap bytes).
 * Returns RT_MIDI_GOT with *ev filled, 0 when there is none, or
 * RT_MIDI_TOO_BIG with only ev->size set when the event is larger than cap. */
int rt_midi_read(rt_midi *m, rt_midi_event *ev, unsigned char *data, size_t cap);
/* Take up to count events into rows of a structured array: each row has a
 * uint32 port index, a uint32 time, a uint32 size, then data_len bytes,
 * stride bytes apart. Stops in front of an event larger than data_len
 * (*too_big = its size). Returns the events taken. */
size_t rt_midi_read_rows(rt_midi *m, char *rows, ptrdiff_t stride, size_t count,
                         size_t data_len, uint32_t *too_big);
/* Queue count records on an output port, all or none: kinds[i], stamps[i],
 * sizes[i], their bytes one after the other in data. Returns RT_OK,
 * RT_AGAIN (not enough room now: wait and call again), RT_MIDI_ORDER
 * (*bad = the first record out of order), RT_MIDI_TOO_BIG, RT_MIDI_WRONG_PORT,
 * RT_CLOSED, RT_SHUTDOWN or RT_INACTIVE. */
int rt_midi_write(rt_midi *m, jack_port_t *port, size_t count, const uint32_t *kinds,
                  const uint64_t *stamps, const uint32_t *sizes, const unsigned char *data,
                  size_t *bad);
/* Wait up to wait_ms for the next cycle: RT_OK after one, RT_AGAIN on
 * timeout, else RT_CLOSED, RT_SHUTDOWN or RT_INACTIVE. For input, returns
 * RT_OK at once when an event is waiting. */
int rt_midi_wait(rt_midi *m, int dir, int wait_ms);
void rt_midi_get_stats(rt_midi *m, rt_midi_stats *s);

#endif
