# Sourced by deploy/kafka/kafka.sh and deploy/redis/redis.sh: what a server started in the
# background with a pid file needs to be told alive, stopped and reported. The caller defines
# `running_pid` (the pid in its pid file, if it is really its server), `pid_file`,
# `stop_timeout_s` and `server_label`.

# A zombie (a server that died while its starter still waits on it) counts as gone.
alive() {
    local state
    state="$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1)" || return 1
    [[ -n "$state" && "$state" != Z ]]
}

# SIGTERM (both servers shut down gracefully on it) to our pid only, SIGKILL after the timeout.
stop() {
    local pid
    if ! pid="$(running_pid)"; then
        rm -f "$pid_file"
        echo "not running"
        return 0
    fi
    kill -TERM "$pid"
    wait_or_kill $((SECONDS + stop_timeout_s)) "$pid"
    rm -f "$pid_file"
    echo "stopped $pid"
}

# Wait for each pid told to stop until the deadline ($SECONDS), then SIGKILL what is left.
wait_or_kill() {
    local deadline="$1" pid
    shift
    for pid in "$@"; do
        while alive "$pid" && ((SECONDS < deadline)); do
            sleep 0.1
        done
        if alive "$pid"; then
            echo "$server_label $pid ignored SIGTERM for ${stop_timeout_s}s; killing it" >&2
            kill -KILL "$pid" 2>/dev/null || true
        fi
    done
}

status() {
    local pid
    if pid="$(running_pid)"; then
        echo "running $pid"
        return 0
    fi
    echo "not running"
    return 1
}
