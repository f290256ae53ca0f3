/* The engine's lock-free parts without JACK, under ThreadSanitizer:
 *
 * 1. the ring (_ring.h) as a byte ring of variable-length records, the way
 *    MIDI events go: one producer and one consumer thread, every record
 *    checked byte for byte, with a capacity that is no power of two so that
 *    records wrap at every offset;
 * 2. the ring as an audio ring of float32 frames moved in blocks of varying
 *    length, every sample checked;
 * 3. the port-table swap (_rt_internal.h): a "process" thread enters a cycle,
 *    loads the table and reads every port, while a "Python" thread publishes
 *    new tables and frees the old ones once the cycles say it may; a port
 *    freed too early is poisoned first, so the reader sees it (and
 *    ThreadSanitizer reports the free racing the read).
 * 4. MIDI output batches (_midi_internal.h): a "Python" thread
 *    publishes several midi_record records with one index store, as
 *    rt_midi_write() does, and a "process" thread takes them one at a time,
 *    header first, as midi_output() does.
 *
 * Built and run by .ci/tsan (and tests/test_tsan.py):
 *   cc -fsanitize=thread -O1 -g $(pkg-config --cflags jack) -Isrc/pyjack \
 *      tests/c/test_engine_tsan.c -o test_engine_tsan -lpthread
 * Exits 0 when every check passed, 1 with a message otherwise. An optional
 * argument scales the operation counts (default 1; 0 for a quick look).
 */
#define _GNU_SOURCE
#include "_rt_internal.h"
#include "_midi_internal.h"

#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static double scale = 1.0;
static atomic_int failed;

static void fail(const char *what, long a, long b)
{
    if (!atomic_exchange(&failed, 1))
        fprintf(stderr, "FAIL: %s (%ld, %ld)\n", what, a, b);
}

/* ---- 1. records in a byte ring ---- */

typedef struct record_header {
    uint32_t seq;
    uint32_t size;
} record_header;

#define RECORD_RING 1021  /* bytes: a prime, so records wrap at every offset */
#define RECORD_MAX 300

static rt_ring records;
static long record_count;

static unsigned char pattern(uint32_t seq, uint32_t i) { return (unsigned char)(seq * 31u + i * 7u + 1u); }

static void *record_producer(void *arg)
{
    (void)arg;
    unsigned char body[RECORD_MAX];
    for (long n = 0; n < record_count && !atomic_load(&failed); n++) {
        uint32_t seq = (uint32_t)n;
        record_header h = {seq, (uint32_t)((n * 7919) % (RECORD_MAX + 1))};
        for (uint32_t i = 0; i < h.size; i++)
            body[i] = pattern(seq, i);
        size_t total = sizeof h + h.size;
        while (ring_writable(&records) < total)
            if (atomic_load(&failed))
                return NULL;
            else
                sched_yield();
        ring_vec v[2];
        ring_write_vec(&records, total, v);
        ring_vec_put(v, 0, &h, sizeof h);
        ring_vec_put(v, sizeof h, body, h.size);
        ring_write_advance(&records, total);
    }
    return NULL;
}

static void *record_consumer(void *arg)
{
    (void)arg;
    unsigned char body[RECORD_MAX];
    for (long n = 0; n < record_count && !atomic_load(&failed); n++) {
        record_header h;
        while (ring_readable(&records) < sizeof h)
            if (atomic_load(&failed))
                return NULL;
            else
                sched_yield();
        ring_peek(&records, &h, sizeof h);
        if (h.seq != (uint32_t)n || h.size > RECORD_MAX) {
            fail("record header", (long)h.seq, n);
            return NULL;
        }
        size_t total = sizeof h + h.size;
        size_t have = ring_readable(&records);
        if (have < total) {  /* a record is written whole, then published */
            fail("record published in part", (long)have, (long)total);
            return NULL;
        }
        ring_vec v[2];
        ring_read_vec(&records, total, v);
        ring_vec_get(v, sizeof h, body, h.size);
        ring_read_advance(&records, total);
        for (uint32_t i = 0; i < h.size; i++)
            if (body[i] != pattern(h.seq, i)) {
                fail("record byte", n, (long)i);
                return NULL;
            }
    }
    return NULL;
}

/* ---- 2. frames in an audio ring ---- */

#define FRAME_RING 1000  /* frames */
#define BLOCK_MAX 333

static rt_ring frames;
static long frame_count;

static void *frame_producer(void *arg)
{
    (void)arg;
    float block[BLOCK_MAX];
    long next = 0;
    for (long n = 0; next < frame_count && !atomic_load(&failed); n++) {
        long len = 1 + (n * 131) % BLOCK_MAX;
        if (len > frame_count - next)
            len = frame_count - next;
        for (long i = 0; i < len; i++)
            block[i] = (float)((next + i) % 16777216);
        while (ring_writable(&frames) < (size_t)len * sizeof(float))
            if (atomic_load(&failed))
                return NULL;
            else
                sched_yield();
        ring_write(&frames, block, (size_t)len * sizeof(float));
        next += len;
    }
    return NULL;
}

static void *frame_consumer(void *arg)
{
    (void)arg;
    float block[BLOCK_MAX];
    long next = 0;
    for (long n = 0; next < frame_count && !atomic_load(&failed); n++) {
        long len = 1 + (n * 97) % BLOCK_MAX;
        if (len > frame_count - next)
            len = frame_count - next;
        while (ring_readable(&frames) < (size_t)len * sizeof(float))
            if (atomic_load(&failed))
                return NULL;
            else
                sched_yield();
        ring_read(&frames, block, (size_t)len * sizeof(float));
        for (long i = 0; i < len; i++)
            if (block[i] != (float)((next + i) % 16777216)) {
                fail("frame", next + i, (long)block[i]);
                return NULL;
            }
        next += len;
    }
    return NULL;
}

/* ---- 3. the port-table swap ---- */

#define PORT_MAGIC 0x5EC0DE5u
#define POISON 0xDEADu

typedef struct fake_port {
    uint32_t magic;
    uint32_t id;
} fake_port;

typedef struct fake_table {
    uint32_t count;
    fake_port *ports[];
} fake_table;

static _Atomic(fake_table *) table;
static rt_cycles gate;
static atomic_int swaps_done;
static long swap_count;
static atomic_long cycles_run;

static fake_table *new_table(uint32_t count, uint32_t first_id)
{
    fake_table *t = malloc(sizeof *t + count * sizeof(fake_port *));
    t->count = count;
    for (uint32_t i = 0; i < count; i++) {
        t->ports[i] = malloc(sizeof(fake_port));
        t->ports[i]->magic = PORT_MAGIC;
        t->ports[i]->id = first_id + i;
    }
    return t;
}

static void free_table(fake_table *t)
{
    for (uint32_t i = 0; i < t->count; i++) {
        t->ports[i]->magic = POISON;
        free(t->ports[i]);
    }
    t->count = POISON;
    free(t);
}

static void *process_thread(void *arg)
{
    (void)arg;
    while (!atomic_load(&swaps_done) && !atomic_load(&failed)) {
        cycles_enter(&gate);
        fake_table *t = atomic_load(&table);
        if (t->count > 8) {
            fail("table count", (long)t->count, 0);
        } else {
            for (uint32_t i = 0; i < t->count; i++)
                if (t->ports[i]->magic != PORT_MAGIC)
                    fail("port read after it was freed", (long)t->ports[i]->id, (long)i);
        }
        cycles_leave(&gate);
        atomic_fetch_add_explicit(&cycles_run, 1, memory_order_relaxed);
    }
    return NULL;
}

static void *swap_thread(void *arg)
{
    (void)arg;
    for (long n = 0; n < swap_count && !atomic_load(&failed); n++) {
        fake_table *fresh = new_table((uint32_t)(n % 9), (uint32_t)n * 16u);
        fake_table *old = atomic_exchange(&table, fresh);
        uint64_t mark = cycles_mark(&gate);
        while (!cycles_passed(&gate, mark))
            sched_yield();
        free_table(old);
    }
    atomic_store(&swaps_done, 1);
    return NULL;
}

/* ---- 4. MIDI batches: several records, one publication ---- */

#define MIDI_RING 997   /* bytes: a prime, so batches wrap at every offset */
#define MIDI_BATCH 5
#define MIDI_MAX 40

static rt_ring midi;
static long midi_count;

static void *midi_writer(void *arg)
{
    (void)arg;
    unsigned char body[MIDI_MAX];
    for (long n = 0; n < midi_count && !atomic_load(&failed);) {
        long batch = 1 + n % MIDI_BATCH;
        if (n + batch > midi_count)
            batch = midi_count - n;
        size_t total = 0;
        for (long i = 0; i < batch; i++)
            total += sizeof(midi_record) + (size_t)((n + i) % MIDI_MAX) + 1;
        while (ring_writable(&midi) < total)
            if (atomic_load(&failed))
                return NULL;
            else
                sched_yield();
        ring_vec v[2];
        ring_write_vec(&midi, total, v);
        size_t at = 0;
        for (long i = 0; i < batch; i++) {
            uint32_t seq = (uint32_t)(n + i);
            midi_record rec = {seq, (uint32_t)(seq % MIDI_MAX) + 1, RT_MIDI_TIME};
            for (uint32_t k = 0; k < rec.size; k++)
                body[k] = pattern(seq, k);
            ring_vec_put(v, at, &rec, sizeof rec);
            ring_vec_put(v, at + sizeof rec, body, rec.size);
            at += sizeof rec + rec.size;
        }
        ring_write_advance(&midi, total);  /* the whole batch at once */
        n += batch;
    }
    return NULL;
}

static void *midi_reader(void *arg)
{
    (void)arg;
    unsigned char body[MIDI_MAX];
    for (long n = 0; n < midi_count && !atomic_load(&failed); n++) {
        while (ring_readable(&midi) < sizeof(midi_record))
            if (atomic_load(&failed))
                return NULL;
            else
                sched_yield();
        midi_record rec;
        ring_peek(&midi, &rec, sizeof rec);
        if (rec.stamp != (uint64_t)n || rec.size != (uint32_t)(n % MIDI_MAX) + 1
            || rec.kind != RT_MIDI_TIME) {
            fail("MIDI record header", (long)rec.stamp, n);
            return NULL;
        }
        ring_vec v[2];
        ring_read_vec(&midi, sizeof rec + rec.size, v);
        ring_vec_get(v, sizeof rec, body, rec.size);
        ring_read_advance(&midi, sizeof rec + rec.size);
        for (uint32_t k = 0; k < rec.size; k++)
            if (body[k] != pattern((uint32_t)n, k)) {
                fail("MIDI record byte", n, (long)k);
                return NULL;
            }
    }
    return NULL;
}

static void run_pair(void *(*a)(void *), void *(*b)(void *))
{
    pthread_t ta, tb;
    pthread_create(&ta, NULL, a, NULL);
    pthread_create(&tb, NULL, b, NULL);
    pthread_join(ta, NULL);
    pthread_join(tb, NULL);
}

int main(int argc, char **argv)
{
    if (argc > 1)
        scale = atof(argv[1]);  /* 0: a few operations, to see that it runs */

    char *record_mem = malloc(RECORD_RING);
    ring_init(&records, record_mem, RECORD_RING);
    record_count = scale > 0 ? (long)(1000000 * scale) : 1000;
    run_pair(record_producer, record_consumer);
    if (!atomic_load(&failed) && ring_readable(&records) != 0)
        fail("records left over", (long)ring_readable(&records), 0);
    printf("records: %ld records of 0..%d bytes through a %d-byte ring\n", record_count, RECORD_MAX,
           RECORD_RING);

    char *frame_mem = malloc(FRAME_RING * sizeof(float));
    ring_init(&frames, frame_mem, FRAME_RING * sizeof(float));
    frame_count = scale > 0 ? (long)(20000000 * scale) : 10000;
    run_pair(frame_producer, frame_consumer);
    printf("frames: %ld frames in blocks of 1..%d through a %d-frame ring\n", frame_count, BLOCK_MAX,
           FRAME_RING);

    atomic_init(&table, new_table(2, 0));
    swap_count = scale > 0 ? (long)(200000 * scale) : 100;
    run_pair(process_thread, swap_thread);
    free_table(atomic_load(&table));
    printf("tables: %ld swaps while the process thread ran %ld cycles\n", swap_count,
           atomic_load(&cycles_run));

    char *midi_mem = malloc(MIDI_RING);
    ring_init(&midi, midi_mem, MIDI_RING);
    midi_count = scale > 0 ? (long)(1000000 * scale) : 1000;
    run_pair(midi_writer, midi_reader);
    if (!atomic_load(&failed) && ring_readable(&midi) != 0)
        fail("MIDI records left over", (long)ring_readable(&midi), 0);
    printf("midi: %ld records in batches of 1..%d through a %d-byte ring\n", midi_count, MIDI_BATCH,
           MIDI_RING);

    free(record_mem);
    free(frame_mem);
    free(midi_mem);
    if (atomic_load(&failed))
        return 1;
    printf("ok\n");
    return 0;
}
