/* pyjack MIDI internals shared by _midi_jack.c (the process thread) and
 * _midi.c (Python threads). Not part of the engine's API. */
#ifndef PYJACK_MIDI_INTERNAL_H
#define PYJACK_MIDI_INTERNAL_H

#include "_rt_internal.h"
#include "_midi.h"

#include <jack/midiport.h>

/* The header of a record in a MIDI ring; the event's bytes follow. */
typedef struct midi_record {
    uint64_t stamp;          /* JACK frame time, stream position, or 0 */
    uint32_t size;           /* bytes that follow */
    uint32_t kind;           /* RT_MIDI_TIME, RT_MIDI_POSITION or RT_MIDI_NOW */
} midi_record;

typedef struct midi_port {
    jack_port_t *port;
    int dir;
    rt_ring ring;
    char *mem;               /* the ring's memory, mmap'ed */
    size_t mem_size;
    int locked;
    /* Output: what an empty JACK buffer of the port takes (process thread). */
    _Atomic uint32_t max_event_size;
    /* Output, Python under m->lock: the latest stamp queued per kind, so
     * that records enter the ring in time order. */
    int has_last[2];
    uint64_t last[2];
} midi_port;

typedef struct midi_table {
    uint32_t count;
    midi_port *ports[];
} midi_table;

struct rt_midi {
    rt_engine *e;
    size_t depth;            /* bytes per ring */
    pthread_mutex_t lock;    /* Python threads only: tables and ring ends */
    _Atomic(midi_table *) tables[2];
    atomic_int unlocked_rings;
    atomic_uint_fast64_t events_in;
    atomic_uint_fast64_t events_out;
    atomic_uint_fast64_t dropped_in;
    atomic_uint_fast64_t dropped_out;
    atomic_uint_fast64_t late;
    atomic_uint_fast64_t late_frames;
};

#endif
