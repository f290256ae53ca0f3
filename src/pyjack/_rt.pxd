# The real-time engine's C API (_rt.h), declared once.
from libc.stdint cimport uint32_t, uint64_t, int32_t
from pyjack.jack cimport jack_client_t, jack_port_t, jack_nframes_t

cdef extern from "_rt.h" nogil:
    int RT_INPUT
    int RT_OUTPUT
    int RT_NAME_SIZE
    int RT_OK
    int RT_AGAIN
    int RT_INPUT_SYNC
    int RT_OUTPUT_SYNC
    int RT_SHUTDOWN
    int RT_CLOSED
    int RT_INACTIVE
    int RT_PORTS_CHANGED
    int RT_BUSY
    int RT_NOMEM
    int RT_NO_PORT
    int RT_DEPTH

    int RT_EV_GRAPH_ORDER
    int RT_EV_PORT_REGISTRATION
    int RT_EV_XRUN
    int RT_EV_SHUTDOWN
    int RT_EV_BUFFER_SIZE
    int RT_EV_SAMPLE_RATE
    int RT_EV_FREEWHEEL
    int RT_EV_CLIENT_REGISTRATION
    int RT_EV_PORT_CONNECT
    int RT_EV_PORT_RENAME
    int RT_EV_PROPERTY_CHANGE
    enum: RT_EV_KINDS

    ctypedef struct rt_event:
        uint32_t kind
        int32_t value
        char a[320]
        char b[320]

    ctypedef struct rt_block:
        char *data
        Py_ssize_t row_stride
        Py_ssize_t frame_stride
        uint32_t rows

    ctypedef struct rt_stats:
        uint64_t cycles
        uint64_t frames_in
        uint64_t frames_out
        uint64_t lost_in
        uint64_t lost_out
        uint64_t xruns
        uint64_t events_dropped
        uint32_t buffer_size
        uint32_t sample_rate
        uint32_t depth
        int shutdown
        int freewheel
        int mlocked
        uint32_t xrun_delay_usecs
        uint32_t xrun_delay_max_usecs

    ctypedef struct rt_request:
        uint32_t nframes
        uint32_t done_in
        uint32_t done_out
        int started
        int sync
        uint64_t lost

    ctypedef struct rt_engine:
        pass

    rt_engine *rt_create(uint32_t depth_frames) noexcept
    int rt_attach(rt_engine *e, jack_client_t *client, int processing) noexcept
    void rt_close(rt_engine *e) noexcept
    void rt_destroy(rt_engine *e) noexcept
    jack_client_t *rt_client(rt_engine *e) noexcept
    int rt_activate(rt_engine *e) noexcept
    int rt_deactivate(rt_engine *e) noexcept
    int rt_is_active(rt_engine *e) noexcept
    int rt_request_begin(rt_engine *e) noexcept
    void rt_request_end(rt_engine *e) noexcept
    jack_port_t *rt_register_port(rt_engine *e, const char *name, unsigned long flags, int *error) noexcept
    int rt_unregister_port(rt_engine *e, jack_port_t *port) noexcept
    uint32_t rt_port_count(rt_engine *e, int dir) noexcept
    uint32_t rt_port_names(rt_engine *e, int dir, char (*names)[320], uint32_t max) noexcept
    int rt_exchange_begin(rt_engine *e) noexcept
    int rt_exchange(rt_engine *e, const rt_block *out, const rt_block *inp,
                    rt_request *req, int wait_ms) noexcept
    int rt_wait_moved(rt_engine *e, int dir, uint64_t total, int wait_ms) noexcept
    void rt_exchange_end(rt_engine *e) noexcept
    void rt_get_stats(rt_engine *e, rt_stats *s) noexcept
    int rt_mlock_error(rt_engine *e, char *buf, size_t size) noexcept
    uint64_t rt_position(rt_engine *e, int dir) noexcept
    int rt_frame_time_of(rt_engine *e, int dir, uint64_t position, jack_nframes_t *time) noexcept
    void rt_take_event_counts(rt_engine *e, uint32_t *counts) noexcept
    void rt_set_event_queue(rt_engine *e, int enabled) noexcept
    int rt_pop_event(rt_engine *e, rt_event *ev) noexcept
    int rt_wait_event(rt_engine *e, int wait_ms) noexcept
    const char *rt_shutdown_reason(rt_engine *e) noexcept

    # Freewheel switching (set_freewheel).
    int RT_FW_FOLLOW
    int RT_FW_ARMED
    int RT_FW_LEAVING
    int rt_freewheel_enter(rt_engine *e, int *refused) noexcept
    int rt_freewheel_leave(rt_engine *e) noexcept
    int rt_freewheel_mode(rt_engine *e) noexcept
