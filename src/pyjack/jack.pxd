# The parts of libjack that pyjack calls, declared once.
from libc.stdint cimport uint32_t, uint64_t, int32_t

cdef extern from "jack/types.h" nogil:
    ctypedef uint32_t jack_nframes_t
    ctypedef uint64_t jack_time_t
    ctypedef uint32_t jack_port_id_t
    ctypedef uint64_t jack_uuid_t
    ctypedef struct jack_client_t:
        pass
    ctypedef struct jack_port_t:
        pass

    ctypedef enum jack_options_t:
        JackNullOption
        JackNoStartServer
        JackUseExactName
        JackServerName

    ctypedef enum jack_status_t:
        JackFailure
        JackInvalidOption
        JackNameNotUnique
        JackServerStarted
        JackServerFailed
        JackServerError
        JackNoSuchClient
        JackLoadFailure
        JackInitFailure
        JackShmFailure
        JackVersionError
        JackBackendError
        JackClientZombie

    enum JackPortFlags:
        JackPortIsInput
        JackPortIsOutput
        JackPortIsPhysical
        JackPortCanMonitor
        JackPortIsTerminal

    ctypedef enum jack_transport_state_t:
        JackTransportStopped
        JackTransportRolling
        JackTransportLooping
        JackTransportStarting
        JackTransportNetStarting

    ctypedef enum jack_position_bits_t:
        JackPositionBBT
        JackPositionTimecode
        JackBBTFrameOffset
        JackAudioVideoRatio
        JackVideoFrameOffset

    ctypedef struct jack_position_t:
        jack_time_t usecs
        jack_nframes_t frame_rate
        jack_nframes_t frame
        jack_position_bits_t valid
        int32_t bar
        int32_t beat
        int32_t tick
        double bar_start_tick
        float beats_per_bar
        float beat_type
        double ticks_per_beat
        double beats_per_minute
        double frame_time
        double next_time
        jack_nframes_t bbt_offset
        float audio_frames_per_video_frame
        jack_nframes_t video_offset

    const char *JACK_DEFAULT_AUDIO_TYPE

cdef extern from "jack/jack.h" nogil:
    jack_client_t *jack_client_open(const char *client_name, jack_options_t options,
                                    jack_status_t *status, ...)
    int jack_client_close(jack_client_t *client)
    int jack_client_name_size()
    int jack_port_name_size()
    char *jack_get_client_name(jack_client_t *client)
    int jack_activate(jack_client_t *client)
    int jack_deactivate(jack_client_t *client)
    int jack_is_realtime(jack_client_t *client)
    int jack_set_freewheel(jack_client_t *client, int onoff)
    int jack_set_buffer_size(jack_client_t *client, jack_nframes_t nframes)
    jack_nframes_t jack_get_sample_rate(jack_client_t *client)
    jack_nframes_t jack_get_buffer_size(jack_client_t *client)
    float jack_cpu_load(jack_client_t *client)

    jack_port_t *jack_port_by_name(jack_client_t *client, const char *port_name)
    const char *jack_port_name(const jack_port_t *port)
    const char *jack_port_short_name(const jack_port_t *port)
    int jack_port_flags(const jack_port_t *port)
    int jack_port_connected_to(const jack_port_t *port, const char *port_name)
    const char *jack_port_type(const jack_port_t *port)
    jack_uuid_t jack_port_type_id(const jack_port_t *port)
    int jack_port_is_mine(const jack_client_t *client, const jack_port_t *port)
    int jack_port_get_aliases(const jack_port_t *port, char **aliases)
    const char **jack_port_get_all_connections(const jack_client_t *client, const jack_port_t *port)
    int jack_connect(jack_client_t *client, const char *source_port, const char *destination_port)
    int jack_disconnect(jack_client_t *client, const char *source_port, const char *destination_port)
    const char **jack_get_ports(jack_client_t *client, const char *port_name_pattern,
                                const char *type_name_pattern, unsigned long flags)

    jack_nframes_t jack_frame_time(const jack_client_t *client)
    jack_nframes_t jack_last_frame_time(const jack_client_t *client)
    jack_time_t jack_get_time()
    void jack_free(void *ptr)
    void jack_get_version(int *major_ptr, int *minor_ptr, int *micro_ptr, int *proto_ptr)
    const char *jack_get_version_string()

cdef extern from "jack/transport.h" nogil:
    jack_transport_state_t jack_transport_query(const jack_client_t *client, jack_position_t *pos)
    jack_nframes_t jack_get_current_transport_frame(const jack_client_t *client)
    int jack_transport_locate(jack_client_t *client, jack_nframes_t frame)
    void jack_transport_start(jack_client_t *client)
    void jack_transport_stop(jack_client_t *client)
    int jack_set_sync_timeout(jack_client_t *client, jack_time_t timeout)
