/* The plain C JACK client the benchmarks compare pyjack with.
 *
 * It does the same job as pyjack, the same way, without Python: JACK's
 * process thread copies every input port into a ring and every output ring
 * into its port, then wakes a worker thread; the worker takes `block` frames
 * from the input rings into a buffer and puts that buffer into the output
 * rings, as a loop around pyjack's process() does. The first exchange is
 * `lead` frames, which sets how far output runs ahead of input. While the
 * server freewheels, the process thread waits for the worker instead of
 * dropping frames, as pyjack's engine does.
 *
 * Build: cc -O2 cclient.c $(pkg-config --cflags --libs jack) -lpthread
 *
 * Usage: cclient MODE key=value...   (the server is $JACK_DEFAULT_SERVER)
 *   copy      copy inputs to outputs; figures for a window of `seconds`
 *             (starting when the server freewheels if freewheel=1)
 *   calls     time one exchange of `block` frames on data that is already
 *             there, and a plain memcpy of the same bytes
 *   latency   send `trips` impulses through a connected loopback and
 *             measure where each comes back, in stream frames
 *   watch     count the server's xruns between "start" and "stop" lines on
 *             stdin; print the count at end of input
 *   midi      send `rate` note events a second for `seconds` to port `to`,
 *             each at its JACK frame time, `lead` frames ahead
 * Prints "ready" once streaming, then one JSON object.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <jack/jack.h>
#include <jack/midiport.h>
#include <jack/ringbuffer.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#define MAX_CHANNELS 256
#define MAX_TIMINGS 100000

typedef struct {
    jack_client_t *client;
    int channels;
    jack_port_t *in[MAX_CHANNELS], *out[MAX_CHANNELS];
    jack_ringbuffer_t *in_ring[MAX_CHANNELS], *out_ring[MAX_CHANNELS];
    size_t depth_bytes;
    float *buffer;              /* the worker's (channels, frames) block */

    sem_t data;                 /* process thread -> worker */
    sem_t room;                 /* worker -> process thread (freewheel only) */
    atomic_int worker_waiting, rt_waiting;
    atomic_int freewheel, output_started, quit;

    atomic_uint_fast64_t cycles, lost_in, lost_out, xruns;
    uint64_t in_pos, out_pos;   /* worker: stream positions */
} bench;

static bench B;

/* ---- options ------------------------------------------------------- */

static int argc_g;
static char **argv_g;

static const char *text_option(const char *key, const char *fallback)
{
    size_t n = strlen(key);
    for (int i = 2; i < argc_g; i++)
        if (strncmp(argv_g[i], key, n) == 0 && argv_g[i][n] == '=')
            return argv_g[i] + n + 1;
    return fallback;
}

static double option(const char *key, double fallback)
{
    const char *value = text_option(key, NULL);
    return value != NULL ? atof(value) : fallback;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static double cpu_seconds(void)
{
    struct rusage r;
    getrusage(RUSAGE_SELF, &r);
    return r.ru_utime.tv_sec + r.ru_utime.tv_usec * 1e-6 + r.ru_stime.tv_sec + r.ru_stime.tv_usec * 1e-6;
}

static void slice_deadline(struct timespec *ts, int ms)
{
    clock_gettime(CLOCK_REALTIME, ts);
    ts->tv_nsec += (long)ms * 1000000L;
    ts->tv_sec += ts->tv_nsec / 1000000000L;
    ts->tv_nsec %= 1000000000L;
}

/* ---- process thread ------------------------------------------------ */

static void wake(atomic_int *waiting, sem_t *s)
{
    if (atomic_exchange(waiting, 0))
        sem_post(s);
}

static int input_fits(size_t bytes)
{
    for (int c = 0; c < B.channels; c++)
        if (jack_ringbuffer_read_space(B.in_ring[c]) + bytes > B.depth_bytes)
            return 0;
    return 1;
}

static int output_ready(size_t bytes)
{
    for (int c = 0; c < B.channels; c++)
        if (jack_ringbuffer_read_space(B.out_ring[c]) < bytes)
            return 0;
    return 1;
}

/* Freewheel only: announce, look again, then sleep a slice at a time. */
static int freewheel_wait(int *announced)
{
    if (!atomic_load(&B.freewheel) || atomic_load(&B.quit))
        return 0;
    if (*announced) {
        struct timespec ts;
        slice_deadline(&ts, 10);
        sem_timedwait(&B.room, &ts);
    }
    *announced = 1;
    wake(&B.worker_waiting, &B.data);
    atomic_store(&B.rt_waiting, 1);
    return 1;
}

static int process(jack_nframes_t n, void *arg)
{
    (void)arg;
    size_t bytes = n * sizeof(float);
    int announced = 0;
    atomic_fetch_add(&B.cycles, 1);
    int fits;
    while (!(fits = input_fits(bytes)) && freewheel_wait(&announced))
        ;
    if (fits) {
        for (int c = 0; c < B.channels; c++)
            jack_ringbuffer_write(B.in_ring[c], jack_port_get_buffer(B.in[c], n), bytes);
    } else {
        atomic_fetch_add(&B.lost_in, n);
    }
    announced = 0;
    int ready;
    while (!(ready = output_ready(bytes)) && atomic_load(&B.output_started) && freewheel_wait(&announced))
        ;
    for (int c = 0; c < B.channels; c++) {
        float *buf = jack_port_get_buffer(B.out[c], n);
        if (ready)
            jack_ringbuffer_read(B.out_ring[c], (char *)buf, bytes);
        else
            memset(buf, 0, bytes);
    }
    if (!ready && atomic_load(&B.output_started))
        atomic_fetch_add(&B.lost_out, n);
    wake(&B.worker_waiting, &B.data);
    return 0;
}

static void on_freewheel(int starting, void *arg)
{
    (void)arg;
    atomic_store(&B.freewheel, starting);
    sem_post(&B.room);
}

static int on_xrun(void *arg)
{
    (void)arg;
    atomic_fetch_add(&B.xruns, 1);
    return 0;
}

/* ---- worker: what a loop around pyjack's process() does ------------- */

/* Wait until `frames` can be exchanged; 0 when asked to quit. */
static int wait_exchange(size_t frames)
{
    size_t bytes = frames * sizeof(float);
    for (int announced = 0;;) {
        int ok = 1;
        for (int c = 0; c < B.channels && ok; c++)
            ok = jack_ringbuffer_read_space(B.in_ring[c]) >= bytes
                 && B.depth_bytes - jack_ringbuffer_read_space(B.out_ring[c]) >= bytes;
        if (ok)
            return 1;
        if (atomic_load(&B.quit))
            return 0;
        if (announced) {
            struct timespec ts;
            slice_deadline(&ts, 50);
            sem_timedwait(&B.data, &ts);
        }
        announced = 1;
        atomic_store(&B.worker_waiting, 1);
    }
}

/* Input rings -> buffer -> output rings. The caller may look at or change
 * the buffer between the two halves (latency mode). */
static void take_input(size_t frames)
{
    for (int c = 0; c < B.channels; c++)
        jack_ringbuffer_read(B.in_ring[c], (char *)(B.buffer + c * frames), frames * sizeof(float));
    B.in_pos += frames;
    wake(&B.rt_waiting, &B.room);
}

static void queue_output(size_t frames)
{
    for (int c = 0; c < B.channels; c++)
        jack_ringbuffer_write(B.out_ring[c], (const char *)(B.buffer + c * frames), frames * sizeof(float));
    B.out_pos += frames;
    atomic_store(&B.output_started, 1);
    wake(&B.rt_waiting, &B.room);
}

static atomic_uint_fast64_t worker_frames;

static void *copy_worker(void *arg)
{
    size_t block = (size_t)option("block", 256), lead = (size_t)option("lead", 2 * block);
    (void)arg;
    for (size_t frames = lead; wait_exchange(frames); frames = block) {
        take_input(frames);
        queue_output(frames);
        atomic_fetch_add(&worker_frames, frames);
    }
    return NULL;
}

/* ---- set-up -------------------------------------------------------- */

static void open_client(const char *name, int channels, size_t depth)
{
    jack_status_t status;
    B.client = jack_client_open(name, JackNoStartServer, &status);
    if (B.client == NULL) {
        fprintf(stderr, "cclient: cannot open a client (status 0x%x); is $JACK_DEFAULT_SERVER running?\n", status);
        exit(2);
    }
    B.channels = channels;
    B.depth_bytes = depth * sizeof(float);
    sem_init(&B.data, 0, 0);
    sem_init(&B.room, 0, 0);
    for (int c = 0; c < channels; c++) {
        char port[32];
        snprintf(port, sizeof port, "in_%d", c + 1);
        B.in[c] = jack_port_register(B.client, port, JACK_DEFAULT_AUDIO_TYPE, JackPortIsInput, 0);
        snprintf(port, sizeof port, "out_%d", c + 1);
        B.out[c] = jack_port_register(B.client, port, JACK_DEFAULT_AUDIO_TYPE, JackPortIsOutput, 0);
        B.in_ring[c] = jack_ringbuffer_create(B.depth_bytes + 1);
        B.out_ring[c] = jack_ringbuffer_create(B.depth_bytes + 1);
        if (!B.in[c] || !B.out[c] || !B.in_ring[c] || !B.out_ring[c]) {
            fprintf(stderr, "cclient: cannot set up channel %d\n", c + 1);
            exit(2);
        }
        jack_ringbuffer_mlock(B.in_ring[c]);
        jack_ringbuffer_mlock(B.out_ring[c]);
        memset(B.in_ring[c]->buf, 0, B.in_ring[c]->size);
        memset(B.out_ring[c]->buf, 0, B.out_ring[c]->size);
    }
    jack_set_process_callback(B.client, process, NULL);
    jack_set_freewheel_callback(B.client, on_freewheel, NULL);
    jack_set_xrun_callback(B.client, on_xrun, NULL);
}

static void start(void)
{
    if (jack_activate(B.client) != 0) {
        fprintf(stderr, "cclient: cannot activate\n");
        exit(2);
    }
}

static void finish(pthread_t *worker)
{
    atomic_store(&B.quit, 1);
    sem_post(&B.room);
    sem_post(&B.data);
    if (worker)
        pthread_join(*worker, NULL);
    jack_client_close(B.client);
}

static void ready(void)
{
    printf("ready\n");
    fflush(stdout);
}

/* ---- modes --------------------------------------------------------- */

static int mode_copy(void)
{
    int channels = (int)option("channels", 2);
    double seconds = option("seconds", 5), warmup = option("warmup", 1);
    int spin = (int)option("spin", 0), freewheel = (int)option("freewheel", 0);
    size_t block = (size_t)option("block", 256);
    size_t lead = (size_t)option("lead", 2 * block);
    B.buffer = calloc((size_t)channels * (lead > block ? lead : block), sizeof(float));
    open_client("cclient", channels, (size_t)option("depth", 16384));
    start();
    pthread_t worker;
    pthread_create(&worker, NULL, copy_worker, NULL);
    ready();
    double t = now();
    if (freewheel) {
        while (!atomic_load(&B.freewheel) && now() - t < 30)
            usleep(1000);
        if (!atomic_load(&B.freewheel)) {
            fprintf(stderr, "cclient: the server never freewheeled\n");
            finish(&worker);
            return 1;
        }
    } else {
        while (now() - t < warmup)
            usleep(10000);
    }
    printf("start\n");
    fflush(stdout);
    uint64_t cycles0 = atomic_load(&B.cycles), frames0 = atomic_load(&worker_frames);
    uint64_t lost_in0 = atomic_load(&B.lost_in), lost_out0 = atomic_load(&B.lost_out);
    jack_nframes_t time0 = jack_frame_time(B.client);
    double cpu0 = cpu_seconds(), t0 = now(), t1;
    volatile unsigned long spun = 0;
    while ((t1 = now()) - t0 < seconds) {
        if (spin)  /* the main thread busy, as Python's is in the GIL benchmark */
            for (int i = 0; i < 100000; i++)
                spun++;
        else
            usleep(10000);
    }
    double cpu1 = cpu_seconds();
    jack_nframes_t time1 = jack_frame_time(B.client);
    uint64_t cycles1 = atomic_load(&B.cycles), frames1 = atomic_load(&worker_frames);
    uint64_t lost_in1 = atomic_load(&B.lost_in), lost_out1 = atomic_load(&B.lost_out);
    printf("{\"wall\": %.6f, \"cpu\": %.6f, \"cycles\": %llu, \"frames\": %llu, \"lost_in\": %llu, "
           "\"lost_out\": %llu, \"server_frames\": %u, \"period\": %u, \"rate\": %u}\n",
           t1 - t0, cpu1 - cpu0, (unsigned long long)(cycles1 - cycles0),
           (unsigned long long)(frames1 - frames0), (unsigned long long)(lost_in1 - lost_in0),
           (unsigned long long)(lost_out1 - lost_out0), (unsigned)(time1 - time0),
           jack_get_buffer_size(B.client), jack_get_sample_rate(B.client));
    fflush(stdout);
    if (freewheel) {  /* keep streaming until the server stops freewheeling */
        t = now();
        while (atomic_load(&B.freewheel) && now() - t < 30)
            usleep(1000);
    }
    finish(&worker);
    return 0;
}

static int compare_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n)
{
    qsort(v, n, sizeof *v, compare_double);
    return n ? v[n / 2] : 0.0;
}

static int mode_calls(void)
{
    int channels = (int)option("channels", 1), calls = (int)option("calls", 1000);
    size_t block = (size_t)option("block", 256), depth = (size_t)option("depth", 65536);
    size_t lead = depth / 2;
    double pause = option("pause", 0.3);
    if (calls > MAX_TIMINGS)
        calls = MAX_TIMINGS;
    B.buffer = calloc((size_t)channels * lead, sizeof(float));
    double *t_call = calloc(calls, sizeof(double)), *t_copy = calloc(calls, sizeof(double));
    open_client("cclient", channels, depth);
    start();
    ready();
    /* Output lead of half a ring; then rounds: let input gather, then time
     * exchanges that find their data already there. */
    if (!wait_exchange(lead))
        return 1;
    take_input(lead);
    queue_output(lead);
    int done = 0;
    while (done < calls) {
        usleep((useconds_t)(pause * 1e6));
        /* As many exchanges as there are blocks of input waiting. */
        int waiting = (int)(jack_ringbuffer_read_space(B.in_ring[0]) / sizeof(float) / block);
        for (int i = 0; i < waiting && done < calls; i++, done++) {
            double t0 = now();
            if (!wait_exchange(block))
                return 1;
            take_input(block);
            queue_output(block);
            t_call[done] = now() - t0;
        }
    }
    /* The memcpy every exchange must do: one row in and one row out per
     * channel (row by row, as the rings are per channel). */
    size_t row = block * sizeof(float);
    char *src = calloc(channels, row), *dst = calloc(channels, row);
    memset(src, 1, channels * row);
    for (int i = 0; i < calls; i++) {
        double t0 = now();
        for (int c = 0; c < channels; c++)
            memcpy(dst + c * row, src + c * row, row);
        for (int c = 0; c < channels; c++)
            memcpy(src + c * row, dst + c * row, row);
        t_copy[i] = now() - t0;
    }
    printf("{\"call\": %.9f, \"memcpy\": %.9f, \"calls\": %d, \"lost_in\": %llu, \"lost_out\": %llu}\n",
           median(t_call, calls), median(t_copy, calls), calls,
           (unsigned long long)atomic_load(&B.lost_in), (unsigned long long)atomic_load(&B.lost_out));
    finish(NULL);
    return 0;
}

static int mode_latency(void)
{
    int trips = (int)option("trips", 50);
    size_t block = (size_t)option("block", 256), lead = (size_t)option("lead", 4 * block);
    B.buffer = calloc(lead > block ? lead : block, sizeof(float));
    int *latency = calloc(trips, sizeof(int));
    open_client("cclient", 1, (size_t)option("depth", 16384));
    start();
    char src[64], dst[64];
    snprintf(src, sizeof src, "%s:out_1", jack_get_client_name(B.client));
    snprintf(dst, sizeof dst, "%s:in_1", jack_get_client_name(B.client));
    if (jack_connect(B.client, src, dst) != 0) {
        fprintf(stderr, "cclient: cannot connect the loopback\n");
        return 1;
    }
    ready();
    srand(1);
    int done = 0, lost = 0;
    uint64_t sent_at = 0;
    int in_flight = 0;
    double deadline = 0;
    for (size_t frames = lead; done < trips; frames = block) {
        if (!wait_exchange(frames))
            return 1;
        take_input(frames);
        if (in_flight) {
            for (size_t i = 0; i < frames; i++) {
                if (B.buffer[i] > 0.5f) {
                    latency[done++] = (int)((B.in_pos - frames + i) - sent_at);
                    in_flight = 0;
                    break;
                }
            }
            if (in_flight && now() > deadline) {
                lost++;
                in_flight = 0;
            }
        }
        memset(B.buffer, 0, frames * sizeof(float));
        if (!in_flight && done < trips && rand() % 4 == 0) {
            size_t at = (size_t)rand() % frames;
            B.buffer[at] = 1.0f;
            sent_at = B.out_pos + at;
            in_flight = 1;
            deadline = now() + 2.0;
        }
        queue_output(frames);
    }
    int lo = latency[0], hi = latency[0];
    for (int i = 1; i < trips; i++) {
        lo = latency[i] < lo ? latency[i] : lo;
        hi = latency[i] > hi ? latency[i] : hi;
    }
    printf("{\"min\": %d, \"max\": %d, \"trips\": %d, \"lost_trips\": %d, \"lost_in\": %llu, \"lost_out\": %llu}\n",
           lo, hi, trips, lost, (unsigned long long)atomic_load(&B.lost_in),
           (unsigned long long)atomic_load(&B.lost_out));
    finish(NULL);
    return 0;
}

static int mode_watch(void)
{
    open_client("xrun-watch", 0, 16);
    start();
    ready();
    char line[64];
    uint64_t from = 0, counted = 0;
    int counting = 0;
    while (fgets(line, sizeof line, stdin)) {
        if (strncmp(line, "start", 5) == 0) {
            from = atomic_load(&B.xruns);
            counting = 1;
        } else if (strncmp(line, "stop", 4) == 0 && counting) {
            counted += atomic_load(&B.xruns) - from;
            counting = 0;
        }
    }
    if (counting)
        counted += atomic_load(&B.xruns) - from;
    printf("{\"xruns\": %llu}\n", (unsigned long long)counted);
    finish(NULL);
    return 0;
}

/* ---- midi: events at frame times ---------------------------------- */

/* bench_midi.py's sender without Python: a sender thread puts each event
 * into a ring once it is due within `lead` frames, and the process callback
 * writes those of its cycle at their offsets (late ones at offset 0), as
 * JACK-Client's callback does with its queue. The event numbering, the
 * schedule and the output line are bench_midi.py's. */
typedef struct {
    jack_nframes_t time;
    unsigned char data[3];
} midi_note;

static struct {
    jack_port_t *out;
    jack_ringbuffer_t *ring;
    midi_note next;             /* process thread: taken from the ring, not yet written */
    int has_next;
    jack_nframes_t t0, lead;
    unsigned rate, samplerate;
    int count;
} M;

static int midi_process(jack_nframes_t n, void *arg)
{
    (void)arg;
    void *buf = jack_port_get_buffer(M.out, n);
    jack_midi_clear_buffer(buf);
    jack_nframes_t start = jack_last_frame_time(B.client), last = 0;
    for (;;) {
        if (!M.has_next) {
            if (jack_ringbuffer_read_space(M.ring) < sizeof M.next)
                break;
            jack_ringbuffer_read(M.ring, (char *)&M.next, sizeof M.next);
            M.has_next = 1;
        }
        jack_nframes_t offset = M.next.time - start;
        if (offset >= 1u << 31)
            offset = 0;  /* late: at once */
        if (offset >= n)
            break;
        if (offset < last)
            offset = last;
        jack_midi_event_write(buf, offset, M.next.data, sizeof M.next.data);
        last = offset;
        M.has_next = 0;
    }
    return 0;
}

static jack_nframes_t midi_time_of(int k)
{
    return M.t0 + (jack_nframes_t)((uint64_t)k * M.samplerate / M.rate);
}

static void *midi_sender(void *arg)
{
    (void)arg;
    int k = 0;
    while (k < M.count) {
        jack_nframes_t time = jack_frame_time(B.client);
        /* due: the frame time has reached the event's time less the lead */
        while (k < M.count && time - (midi_time_of(k) - M.lead) < 1u << 31
               && jack_ringbuffer_write_space(M.ring) >= sizeof(midi_note)) {
            midi_note e = {midi_time_of(k), {0x90 | ((k >> 14) & 0x0F), k & 0x7F, (k >> 7) & 0x7F}};
            jack_ringbuffer_write(M.ring, (const char *)&e, sizeof e);
            k++;
        }
        usleep(1000);
    }
    return NULL;
}

static int mode_midi(void)
{
    double seconds = option("seconds", 10), warmup = option("warmup", 1);
    int spin = (int)option("spin", 0);
    M.rate = (unsigned)option("rate", 1000);
    M.lead = (jack_nframes_t)option("lead", 16384);
    M.count = (int)(M.rate * seconds);
    const char *to = text_option("to", NULL);
    jack_status_t status;
    B.client = jack_client_open("cclient", JackNoStartServer, &status);
    if (B.client == NULL || to == NULL) {
        fprintf(stderr, "cclient: %s\n", to == NULL ? "midi needs to=PORT" : "cannot open a client");
        return 2;
    }
    M.samplerate = jack_get_sample_rate(B.client);
    M.ring = jack_ringbuffer_create(1 << 20);
    M.out = jack_port_register(B.client, "out", JACK_DEFAULT_MIDI_TYPE, JackPortIsOutput, 0);
    if (M.ring == NULL || M.out == NULL) {
        fprintf(stderr, "cclient: cannot register the MIDI port\n");
        return 2;
    }
    jack_ringbuffer_mlock(M.ring);  /* best effort, as for the audio rings */
    jack_set_process_callback(B.client, midi_process, NULL);
    start();
    if (jack_connect(B.client, jack_port_name(M.out), to) != 0) {
        fprintf(stderr, "cclient: cannot connect to %s\n", to);
        return 2;
    }
    ready();
    usleep((useconds_t)(warmup * 1e6));
    M.t0 = jack_frame_time(B.client) + M.lead;
    pthread_t sender;
    pthread_create(&sender, NULL, midi_sender, NULL);
    printf("start\n");
    fflush(stdout);
    volatile unsigned long spun = 0;
    for (double t = now(); now() - t < seconds;) {
        if (spin)  /* the main thread busy, as Python's is in the GIL benchmark */
            for (int i = 0; i < 100000; i++)
                spun++;
        else
            usleep(10000);
    }
    pthread_join(sender, NULL);
    usleep((useconds_t)(2e6 * M.lead / M.samplerate));  /* the last events leave */
    printf("{\"t0\": %u, \"count\": %d, \"rate\": %u}\n", (unsigned)M.t0, M.count, M.rate);
    fflush(stdout);
    jack_client_close(B.client);
    return 0;
}

int main(int argc, char **argv)
{
    argc_g = argc;
    argv_g = argv;
    if (argc < 2) {
        fprintf(stderr, "usage: cclient copy|calls|latency|watch|midi [key=value...]\n");
        return 2;
    }
    if (strcmp(argv[1], "copy") == 0)
        return mode_copy();
    if (strcmp(argv[1], "calls") == 0)
        return mode_calls();
    if (strcmp(argv[1], "latency") == 0)
        return mode_latency();
    if (strcmp(argv[1], "watch") == 0)
        return mode_watch();
    if (strcmp(argv[1], "midi") == 0)
        return mode_midi();
    fprintf(stderr, "cclient: unknown mode %s\n", argv[1]);
    return 2;
}
