/* pyjack engine internals shared by _rt_jack.c (what JACK's threads run)
 * and _rt.c (what Python threads call). Not part of the engine's API.
 */
#ifndef PYJACK_RT_INTERNAL_H
#define PYJACK_RT_INTERNAL_H

#include "_rt.h"
#include "_ring.h"

#include <jack/metadata.h>

#include <linux/futex.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define FRAME_BYTES sizeof(float)
#define EVENT_QUEUE_LENGTH 256
#define FREEWHEEL_WAIT_MS 5000
#define FREEWHEEL_SLICE_MS 10

typedef struct rt_port {
    jack_port_t *port;
    rt_ring ring;            /* depth frames of float32 */
    char *mem;               /* the ring's memory, mmap'ed */
    size_t mem_size;
    int locked;              /* mem is mlocked */
    int dir;
    /* Stream position of the first frame the ring holds or will hold. */
    _Atomic uint64_t base;
    /* Input ports added while active: the process thread sets base on the
     * first cycle that sees the port, then clears this. */
    atomic_int pending;
} rt_port;

typedef struct rt_table {
    uint32_t count;
    rt_port *ports[];
} rt_table;

/* Where a stream position met a JACK frame time, published by the process
 * thread with a sequence lock and read by Python. */
typedef struct rt_anchor {
    atomic_uint seq;
    _Atomic uint64_t position;
    _Atomic uint32_t time;
    atomic_int valid;
} rt_anchor;

/* Retiring what the process thread may still use. The process thread counts
 * the cycles it entered and left; a table swapped out (seq_cst exchange) is
 * no longer used once the cycles left reach the cycles entered at the time
 * of the swap: a cycle that loaded the old table entered before the swap. */
typedef struct rt_cycles {
    atomic_uint_fast64_t entered;
    atomic_uint_fast64_t left;
} rt_cycles;

static inline void cycles_enter(rt_cycles *c) { atomic_fetch_add(&c->entered, 1); }
static inline void cycles_leave(rt_cycles *c) { atomic_fetch_add(&c->left, 1); }
/* Right after the swap: the mark to wait for. */
static inline uint64_t cycles_mark(rt_cycles *c) { return atomic_load(&c->entered); }
static inline int cycles_passed(rt_cycles *c, uint64_t mark) { return atomic_load(&c->left) >= mark; }

struct rt_engine {
    jack_client_t *client;
    uint32_t depth;
    size_t depth_bytes;
    int processing;

    pthread_mutex_t ports_lock; /* Python threads only: port changes and close */
    pthread_mutex_t lock;       /* Python threads only: tables, rings, positions */
    sem_t wake;              /* posted by the process thread for process() */
    atomic_int waiter;       /* a Python thread is about to wait on wake */
    /* ... until frames_in or frames_out reaches these: the cycle that moves
     * what the exchange lacks wakes it, not every cycle before it. */
    _Atomic uint64_t wake_in_at;
    _Atomic uint64_t wake_out_at;
    atomic_int busy;         /* a Python thread is inside an exchange */

    atomic_int active;
    atomic_int dead;
    atomic_int closed;

    _Atomic(rt_table *) tables[2];
    _Atomic uint32_t port_counts[2]; /* tables[dir]->count, readable without the lock */
    rt_cycles cycles_gate;

    /* Stream positions. rt_pos is advanced by the process thread (frames
     * written into input rings, frames taken from output rings); py_pos by
     * Python under the lock (frames read, frames queued), read by anyone. */
    _Atomic uint64_t rt_pos[2];
    _Atomic uint64_t py_pos[2];
    atomic_int output_started;
    rt_anchor anchors[2];

    atomic_uint_fast64_t cycles;
    _Atomic uint64_t frames_in;
    _Atomic uint64_t frames_out;
    atomic_uint_fast64_t lost_in;
    atomic_uint_fast64_t lost_out;
    atomic_uint_fast64_t xruns;
    uint64_t seen_lost_in;   /* Python, under the lock */
    uint64_t seen_lost_out;
    atomic_uint buffer_size;
    atomic_uint sample_rate;
    atomic_int freewheel;
    /* Freewheel waits of the process thread (see the top of _rt_jack.c). */
    sem_t room;              /* posted by Python for the process thread */
    atomic_int rt_waiting;   /* the process thread is about to wait on room */
    atomic_int fw_gave_up;   /* a wait timed out; none until Python moves */
    atomic_int stopping;     /* deactivate or close under way */
    atomic_int swapping;     /* a port change waits for the cycle to end */

    /* rt_wait_moved(): the process thread bumps moved_gen and wakes every
     * waiter (a futex wake) after each cycle, only while moved_waiters > 0. */
    atomic_uint moved_gen;
    atomic_int moved_waiters;

    /* Memory locking of the rings: how many live rings are not locked, and
     * why the latest lock failed. */
    atomic_int unlocked_rings;
    char mlock_error[256];   /* Python, under the lock */

    atomic_uint event_counts[RT_EV_KINDS];
    atomic_int events_enabled;
    rt_ring events;          /* rt_event records; notification thread -> Python */
    char *events_mem;
    size_t events_mem_size;
    int events_locked;
    sem_t event_wake;
    atomic_uint_fast64_t events_dropped;
    char shutdown_reason[256];

    /* MIDI (_midi.h): set once before activation, read by the process thread. */
    _Atomic(struct rt_midi *) midi;
    /* set_freewheel(): RT_FW_* mode, and the thread that asks the server to
     * leave freewheel (see rt_freewheel_leave()). */
    atomic_int fw_mode;
    pthread_t fw_thread;
    int fw_thread_started;   /* Python threads, under fw_lock */
    pthread_mutex_t fw_lock;  /* Python threads only */
    /* Xrun details: the latest and the largest delay JACK reported, in
     * microseconds (set by the xrun callback). */
    atomic_uint xrun_delay_usecs;
    atomic_uint xrun_delay_max_usecs;
};

/* ---- shared helpers ---- */

static inline uint64_t min_u64(uint64_t a, uint64_t b) { return a < b ? a : b; }

static inline uint64_t frames_before(uint64_t base, uint64_t position)
{
    return base > position ? base - position : 0;
}

static inline void deadline_after(struct timespec *ts, int ms)
{
    clock_gettime(CLOCK_MONOTONIC, ts);
    ts->tv_sec += ms / 1000;
    ts->tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec += 1;
        ts->tv_nsec -= 1000000000L;
    }
}

/* Take every post a semaphore holds, so that the next wait blocks. */
static inline void sem_drain(sem_t *s)
{
    while (sem_trywait(s) == 0)
        ;
}

/* Wake every thread in futex_wait_gen() on gen. */
static inline void futex_wake_all(atomic_uint *gen)
{
    syscall(SYS_futex, (unsigned *)gen, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0);
}

/* Sleep while *gen == seen, at most ms milliseconds. */
static inline void futex_wait_gen(atomic_uint *gen, unsigned seen, long ms)
{
    struct timespec rel = {ms / 1000, (ms % 1000) * 1000000L};
    syscall(SYS_futex, (unsigned *)gen, FUTEX_WAIT_PRIVATE, seen, &rel, NULL, 0);
}

static inline void moved_wake(rt_engine *e)
{
    atomic_fetch_add(&e->moved_gen, 1);
    futex_wake_all(&e->moved_gen);
}

/* The JACK threads' entry points, in _rt_jack.c. */
int rt_jack_process(jack_nframes_t n, void *arg);
int rt_jack_xrun(void *arg);
int rt_jack_graph_order(void *arg);
void rt_jack_port_registration(jack_port_id_t id, int registered, void *arg);
void rt_jack_port_connect(jack_port_id_t a, jack_port_id_t b, int connected, void *arg);
void rt_jack_port_rename(jack_port_id_t id, const char *old_name, const char *new_name, void *arg);
void rt_jack_client_registration(const char *name, int registered, void *arg);
void rt_jack_freewheel(int starting, void *arg);
int rt_jack_buffer_size(jack_nframes_t n, void *arg);
int rt_jack_sample_rate(jack_nframes_t n, void *arg);
void rt_jack_shutdown(jack_status_t code, const char *reason, void *arg);
/* Installed by the time engine (_rt_time.c), arg: the engine. */
void rt_jack_property_change(jack_uuid_t subject, const char *key, jack_property_change_t change,
                             void *arg);

/* MIDI: ring memory as the audio rings get it (_rt.c), and the process
 * thread's MIDI part (_midi_jack.c). */
char *rt_ring_memory(size_t size, size_t *mapped, int *locked, char *why, size_t why_size);
void rt_midi_cycle(struct rt_midi *m, jack_nframes_t n, jack_nframes_t now, uint64_t out_position,
                   uint64_t out_taken);

/* Both sides read anchors and copy names. */
static inline int anchor_load(rt_anchor *a, uint64_t *position, uint32_t *time)
{
    for (;;) {
        unsigned before = atomic_load_explicit(&a->seq, memory_order_acquire);
        if (before & 1u)
            continue;
        uint64_t p = atomic_load_explicit(&a->position, memory_order_relaxed);
        uint32_t t = atomic_load_explicit(&a->time, memory_order_relaxed);
        int valid = atomic_load_explicit(&a->valid, memory_order_relaxed);
        atomic_thread_fence(memory_order_acquire);
        if (atomic_load_explicit(&a->seq, memory_order_relaxed) == before) {
            *position = p;
            *time = t;
            return valid;
        }
    }
}

static inline void copy_name(char *dst, const char *src)
{
    if (src == NULL) {
        dst[0] = '\0';
        return;
    }
    size_t n = strnlen(src, RT_NAME_SIZE - 1);
    memcpy(dst, src, n);
    dst[n] = '\0';
}

#endif
