# A client's events, included into _core.pyx.
#
# JACK's notification thread only counts events and queues fixed-size records
# in the engine (_rt.c). This unit reads them on Python's side: the counts
# behind check_events(), and a dispatcher thread that hands the records to the
# user's callbacks. Nothing here runs on JACK's threads.


cdef class _Events:
    """Counts for check_events() and the dispatcher of one client's callbacks."""

    cdef rt_engine *engine       # the client's engine; NULL between engines
    # Counts not yet returned by check_events(), and counts of the kinds the
    # dispatcher builds from counts (buffer size, sample rate, shutdown).
    cdef uint64_t counts[RT_EV_KINDS]
    cdef uint64_t pending[RT_EV_KINDS]
    cdef dict callbacks          # event kind -> the user's callback
    cdef object thread           # the running dispatcher, or None
    cdef object stop_flag        # its threading.Event, or None
    cdef bint shutdown_delivered

    def __cinit__(self):
        self.callbacks = {}

    cdef int open(self, rt_engine *engine, object client) except -1:
        """Start over on a new engine; restart the dispatcher if callbacks are set."""
        cdef uint32_t initial[RT_EV_KINDS]
        self.engine = engine
        # JACK2 calls some callbacks as they are installed: not events.
        rt_take_event_counts(engine, initial)
        for k in range(RT_EV_KINDS):
            self.counts[k] = 0
            self.pending[k] = 0
        self.shutdown_delivered = False
        if self.callbacks:
            self.start(client)
        return 0

    cdef void collect(self) noexcept:
        """Move the engine's event counts into both tallies."""
        cdef uint32_t counts[RT_EV_KINDS]
        if self.engine == NULL:
            return
        rt_take_event_counts(self.engine, counts)
        for k in range(RT_EV_KINDS):
            self.counts[k] += counts[k]
            self.pending[k] += counts[k]

    cdef void forget_activation_buffer_size(self) noexcept:
        """JACK2 calls the buffer-size callback inside jack_activate() to tell
        the size; that is no change, so it is not reported as one. Called
        right after activation, with the counts from before it collected."""
        cdef uint32_t counts[RT_EV_KINDS]
        rt_take_event_counts(self.engine, counts)
        if counts[RT_EV_BUFFER_SIZE] > 0:
            counts[RT_EV_BUFFER_SIZE] -= 1
        for k in range(RT_EV_KINDS):
            self.counts[k] += counts[k]
            self.pending[k] += counts[k]

    cdef dict check(self):
        """check_events(): which kinds happened since the last look, as 0/1."""
        self.collect()
        result = {}
        for key, kind in _EVENT_KEYS:
            result[key] = 0 if kind < 0 else int(self.counts[kind] > 0)
        for k in range(RT_EV_KINDS):
            self.counts[k] = 0
        return result

    cdef list take(self):
        """Queued event records plus the events built from counts, as (kind, args)."""
        cdef rt_event ev
        cdef int got
        cdef list events = []
        while True:
            with nogil:
                got = rt_pop_event(self.engine, &ev)
            if not got:
                break
            a = (<bytes>ev.a).decode(errors="replace")
            b = (<bytes>ev.b).decode(errors="replace")
            if ev.kind == RT_EV_PORT_REGISTRATION or ev.kind == RT_EV_CLIENT_REGISTRATION:
                events.append((ev.kind, (a, bool(ev.value))))
            elif ev.kind == RT_EV_PORT_CONNECT:
                events.append((ev.kind, (a, b, bool(ev.value))))
            elif ev.kind == RT_EV_PORT_RENAME:
                events.append((ev.kind, (a, b)))
            elif ev.kind == RT_EV_FREEWHEEL:
                events.append((ev.kind, (bool(ev.value),)))
            elif ev.kind == RT_EV_PROPERTY_CHANGE:  # (subject UUID, key, change)
                events.append((ev.kind, (b, a, ev.value)))
            elif ev.kind == RT_EV_XRUN:  # the delay; see _xrun_caller()
                events.append((ev.kind, (ev.value,)))
            else:
                events.append((ev.kind, ()))
        # Buffer size, sample rate and shutdown come only as counts: the
        # engine may see them on the process thread, where nothing is queued.
        # Take them before making any Python object, so that no other thread
        # can slip counts in between.
        self.collect()
        cdef bint resized = self.pending[RT_EV_BUFFER_SIZE] > 0
        cdef bint rerated = self.pending[RT_EV_SAMPLE_RATE] > 0
        cdef bint shut = self.pending[RT_EV_SHUTDOWN] > 0
        for k in range(RT_EV_KINDS):
            self.pending[k] = 0
        cdef rt_stats s
        rt_get_stats(self.engine, &s)
        if resized:
            events.append((RT_EV_BUFFER_SIZE, (s.buffer_size,)))
        if rerated:
            events.append((RT_EV_SAMPLE_RATE, (s.sample_rate,)))
        if (shut or s.shutdown) and not self.shutdown_delivered:
            self.shutdown_delivered = True
            events.append((RT_EV_SHUTDOWN,
                           (rt_shutdown_reason(self.engine).decode(errors="replace"),)))
        return events

    cdef int dispatch_once(self, object stop) except -1:
        """Wait up to one slice for events and deliver them. 0 when the dispatcher should end."""
        cdef int rc
        cdef rt_engine *engine = self.engine
        if stop.is_set() or engine == NULL:
            return 0
        with nogil:
            rc = rt_wait_event(engine, WAIT_SLICE_MS)
        for kind, args in self.take():
            if stop.is_set():
                return 0
            callback = self.callbacks.get(kind)
            if callback is None:
                continue
            try:
                callback(*args)
            except BaseException as exc:
                _report_callback_error(callback, exc)
        return rc == RT_OK or rc == RT_AGAIN

    cdef int start(self, object client) except -1:
        """Start the dispatcher thread of client (whose _events this is)."""
        if self.stop_flag is not None:
            return 0  # already running
        cdef rt_event stale
        while rt_pop_event(self.engine, &stale):
            pass  # records left from an earlier dispatcher
        self.collect()
        for k in range(RT_EV_KINDS):
            self.pending[k] = 0
        rt_set_event_queue(self.engine, 1)
        stop = threading.Event()
        thread = threading.Thread(target=_dispatch_loop, args=(weakref.ref(client), stop),
                                  name=f"pyjack events of {client.name}", daemon=True)
        self.stop_flag = stop
        self.thread = thread
        thread.start()
        return 0

    cdef int stop(self, bint wait) except -1:
        """Stop the dispatcher; with wait, also wait for it unless called from
        it (by a callback), at most CALLBACK_JOIN_TIMEOUT. Returns 1 if a
        callback still runs after that, else 0."""
        if self.stop_flag is not None:
            self.stop_flag.set()
            self.stop_flag = None
        if self.engine != NULL:
            rt_set_event_queue(self.engine, 0)
        thread = self.thread
        if wait and thread is not None and thread is not threading.current_thread():
            thread.join(CALLBACK_JOIN_TIMEOUT)
            if thread.is_alive():
                return 1
            self.thread = None
        return 0

    cdef int set_callback(self, object client, int kind, object callback) except -1:
        """Set or (with None) remove the callback of one kind of event."""
        if callback is not None and not callable(callback):
            raise TypeError(f"callback must be callable or None, not {type(callback).__name__}")
        if callback is None:
            self.callbacks.pop(kind, None)
        else:
            self.callbacks[kind] = callback
        if self.callbacks:
            self.start(client)
        else:
            self.stop(True)
        return 0


# check_events() keys in the original's order, then the ones it lacked; -1: never set.
_EVENT_KEYS = (
    ("graph_ordering", RT_EV_GRAPH_ORDER),
    ("port_registration", RT_EV_PORT_REGISTRATION),
    ("xrun", RT_EV_XRUN),
    ("shutdown", RT_EV_SHUTDOWN),
    ("hangup", -1),
    ("buffer_size", RT_EV_BUFFER_SIZE),
    ("sample_rate", RT_EV_SAMPLE_RATE),
    ("freewheel", RT_EV_FREEWHEEL),
    ("client_registration", RT_EV_CLIENT_REGISTRATION),
    ("port_connect", RT_EV_PORT_CONNECT),
    ("port_rename", RT_EV_PORT_RENAME),
    ("property_change", RT_EV_PROPERTY_CHANGE),
)


def _dispatch_loop(ref, stop):
    """Deliver one client's events to its callbacks until stopped.

    Holds the client only while delivering, so a client nobody else holds
    can still be freed (its engine with it).
    """
    cdef Client client
    while not stop.is_set():
        obj = ref()
        if obj is None:
            return
        client = <Client>obj
        obj = None
        if not client._events.dispatch_once(stop):
            return
        client = None


cdef int _report_callback_error(object callback, object exc) except -1:
    """Hand an exception from a user callback to sys.unraisablehook, which by
    default prints it with its traceback; the dispatcher carries on."""
    cdef object kind = type(exc)
    cdef object tb = exc.__traceback__
    Py_INCREF(kind)
    Py_INCREF(exc)
    if tb is None:
        PyErr_Restore(<PyObject *>kind, <PyObject *>exc, NULL)
    else:
        Py_INCREF(tb)
        PyErr_Restore(<PyObject *>kind, <PyObject *>exc, <PyObject *>tb)
    PyErr_WriteUnraisable(callback)
    return 0
