/* pyjack's ring: one producer thread, one consumer thread, bytes.
 *
 * Pure C, header only, no allocation: the owner hands in the memory (so it
 * can lock it) and its size, which is exactly the ring's capacity.
 *
 * The indices are free-running 64-bit byte counters: head counts bytes ever
 * written (only the producer stores it), tail bytes ever read (only the
 * consumer stores it). head - tail is what the ring holds, so a full ring and
 * an empty one are told apart without a spare byte, and a counter never
 * wraps in practice (2^64 bytes). Each side publishes its index with a
 * release store after copying, and loads the other side's with an acquire
 * load before copying: the consumer never reads bytes the producer has not
 * finished writing, and the producer never overwrites bytes the consumer has
 * not finished reading, on weakly ordered CPUs (ARM) as on x86.
 *
 * Audio rings carry float32 frames; a MIDI ring can carry records of any
 * length up to the capacity (a header with time and size, then the bytes):
 * write one with ring_write_vec(total) and ring_vec_put() per part, then a
 * single ring_write_advance(total), so the consumer sees all of it or none;
 * read the header with ring_peek() first.
 *
 * Call ring_reset() only while neither side uses the ring.
 */
#ifndef PYJACK_RING_H
#define PYJACK_RING_H

#include <limits.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* A lock-based fallback for 64-bit atomics would take a lock on the
 * process thread. */
#if ULONG_MAX == UINT64_MAX
_Static_assert(ATOMIC_LONG_LOCK_FREE == 2, "64-bit atomics must be lock-free for the real-time ring");
#else
_Static_assert(ATOMIC_LLONG_LOCK_FREE == 2, "64-bit atomics must be lock-free for the real-time ring");
#endif

typedef struct rt_ring {
    _Alignas(64) _Atomic uint64_t head; /* bytes ever written (producer) */
    _Alignas(64) _Atomic uint64_t tail; /* bytes ever read (consumer) */
    _Alignas(64) char *buf;
    size_t size;                        /* capacity in bytes */
} rt_ring;

/* Up to two pieces of the ring's memory, in order. */
typedef struct ring_vec {
    char *buf;
    size_t len;
} ring_vec;

static inline void ring_init(rt_ring *r, void *buf, size_t size)
{
    r->buf = buf;
    r->size = size;
    atomic_init(&r->head, 0);
    atomic_init(&r->tail, 0);
}

/* Both sides idle only. */
static inline void ring_reset(rt_ring *r)
{
    atomic_store(&r->head, 0);
    atomic_store(&r->tail, 0);
}

/* The n bytes at counter position at, as one or two pieces. */
static inline void ring_span(const rt_ring *r, uint64_t at, size_t n, ring_vec v[2])
{
    size_t start = (size_t)(at % r->size);
    size_t first = r->size - start;
    if (first > n)
        first = n;
    v[0].buf = r->buf + start;
    v[0].len = first;
    v[1].buf = r->buf;
    v[1].len = n - first;
}

/* Copy n bytes into / out of two pieces, starting offset bytes in. */
static inline void ring_vec_put(const ring_vec v[2], size_t offset, const void *src, size_t n)
{
    const char *s = src;
    if (offset < v[0].len) {
        size_t k = v[0].len - offset < n ? v[0].len - offset : n;
        memcpy(v[0].buf + offset, s, k);
        s += k;
        n -= k;
        offset = 0;
    } else {
        offset -= v[0].len;
    }
    if (n)
        memcpy(v[1].buf + offset, s, n);
}

static inline void ring_vec_get(const ring_vec v[2], size_t offset, void *dst, size_t n)
{
    char *d = dst;
    if (offset < v[0].len) {
        size_t k = v[0].len - offset < n ? v[0].len - offset : n;
        memcpy(d, v[0].buf + offset, k);
        d += k;
        n -= k;
        offset = 0;
    } else {
        offset -= v[0].len;
    }
    if (n)
        memcpy(d, v[1].buf + offset, n);
}

/* ---- consumer side ---- */

static inline size_t ring_readable(rt_ring *r)
{
    uint64_t head = atomic_load_explicit(&r->head, memory_order_acquire);
    uint64_t tail = atomic_load_explicit(&r->tail, memory_order_relaxed);
    return (size_t)(head - tail);
}

/* Where the next n readable bytes are (n <= ring_readable()). */
static inline void ring_read_vec(rt_ring *r, size_t n, ring_vec v[2])
{
    ring_span(r, atomic_load_explicit(&r->tail, memory_order_relaxed), n, v);
}

/* Give n bytes back to the producer, after copying them out. */
static inline void ring_read_advance(rt_ring *r, size_t n)
{
    uint64_t tail = atomic_load_explicit(&r->tail, memory_order_relaxed);
    atomic_store_explicit(&r->tail, tail + n, memory_order_release);
}

/* Copy n bytes out without taking them (n <= ring_readable()). */
static inline void ring_peek(rt_ring *r, void *dst, size_t n)
{
    ring_vec v[2];
    ring_read_vec(r, n, v);
    ring_vec_get(v, 0, dst, n);
}

/* Take n bytes (n <= ring_readable()). */
static inline void ring_read(rt_ring *r, void *dst, size_t n)
{
    ring_peek(r, dst, n);
    ring_read_advance(r, n);
}

/* ---- producer side ---- */

static inline size_t ring_writable(rt_ring *r)
{
    uint64_t tail = atomic_load_explicit(&r->tail, memory_order_acquire);
    uint64_t head = atomic_load_explicit(&r->head, memory_order_relaxed);
    return r->size - (size_t)(head - tail);
}

/* Where the next n writable bytes are (n <= ring_writable()). */
static inline void ring_write_vec(rt_ring *r, size_t n, ring_vec v[2])
{
    ring_span(r, atomic_load_explicit(&r->head, memory_order_relaxed), n, v);
}

/* Hand n written bytes to the consumer. */
static inline void ring_write_advance(rt_ring *r, size_t n)
{
    uint64_t head = atomic_load_explicit(&r->head, memory_order_relaxed);
    atomic_store_explicit(&r->head, head + n, memory_order_release);
}

/* Put n bytes (n <= ring_writable()). */
static inline void ring_write(rt_ring *r, const void *src, size_t n)
{
    ring_vec v[2];
    ring_write_vec(r, n, v);
    ring_vec_put(v, 0, src, n);
    ring_write_advance(r, n);
}

#endif
