#!/usr/bin/env bash
# Runs the project's own Redis server (append-only file, 127.0.0.1 only, a password required)
# beside any system Redis.
#
#   redis.sh install  install Debian's redis-server if it is missing
#   redis.sh start    install redis-server if missing, write the config, start, wait for PONG
#   redis.sh stop     stop the server this data dir's pid file names
#   redis.sh status   "running <pid>" and exit 0, or exit 1
#
# Environment (defaults in brackets): REDIS_PORT [16379]  REDIS_DATA_DIR [<repo>/var/redis]
#   REDIS_PASSWORD (required by 'start'; clients give it in REDIS_URL, redis://:<password>@...)
#   REDIS_LOAD_TIMEOUT [600]  seconds 'start' waits while a large append-only file loads
#   REDIS_MAXMEMORY [512mb]  the most memory the dataset may use; past it writes are refused
set -euo pipefail

# shellcheck source=deploy/server_process.sh
source "$(dirname "${BASH_SOURCE[0]}")/../server_process.sh"
server_label="redis"

script_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo_root="$(cd "$script_dir/../.." && pwd)"

port="${REDIS_PORT:-16379}"
data_dir="${REDIS_DATA_DIR:-$repo_root/var/redis}"
maxmemory="${REDIS_MAXMEMORY:-512mb}"

config="$data_dir/redis.conf"
pid_file="$data_dir/redis.pid"
log_file="$data_dir/redis.log"
ready_timeout_s=20
load_timeout_s="${REDIS_LOAD_TIMEOUT:-600}"
stop_timeout_s=20
# redis-cli reads the password from here, so it never shows in a process listing.
export REDISCLI_AUTH="${REDIS_PASSWORD:-}"

die() {
    echo "redis.sh: $*" >&2
    exit 1
}

# The pid in the pid file, if it is a live redis-server on our port.
running_pid() {
    [[ -f "$pid_file" ]] || return 1
    local pid
    pid="$(cat "$pid_file")"
    [[ "$pid" =~ ^[0-9]+$ ]] && alive "$pid" || return 1
    # Checking the process title guards against a recycled pid.
    tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qE "redis-server .*:$port( |$)" || return 1
    echo "$pid"
}

install_redis() {
    bash "$script_dir/../apt_install.sh" redis-server redis-server
}

write_config() {
    # The file holds the password: readable by its owner only.
    (umask 077 && : >"$config")
    cat >"$config" <<EOF
# Written by deploy/redis/redis.sh on every start; edit the script, not this file.
bind 127.0.0.1
port $port
protected-mode yes
daemonize yes
pidfile "$pid_file"
logfile "$log_file"
dir "$data_dir"
# Durability comes from the append-only file alone; no RDB snapshots.
appendonly yes
appendfsync everysec
save ""
# A bounded dataset that is never evicted: losing tokens, id maps or locks silently is worse
# than refused writes, which the services treat as Redis being away. Health and /status warn
# as used memory nears the limit.
maxmemory $maxmemory
maxmemory-policy noeviction
# No client is served before it authenticates.
requirepass $REDIS_PASSWORD
EOF
}

fail_start() {
    echo "redis.sh: redis did not become ready on 127.0.0.1:$port: $1" >&2
    echo "---- last 50 lines of $log_file ----" >&2
    tail -n 50 "$log_file" >&2 2>/dev/null || true
    local pid
    if pid="$(running_pid)"; then
        kill -KILL "$pid" 2>/dev/null || true
    fi
    rm -f "$pid_file"
    exit 1
}

# Ready means our own process answers on the port, not some other server that holds it.
answering_pid() {
    redis-cli -h 127.0.0.1 -p "$port" info server 2>/dev/null |
        sed -n 's/^process_id:\([0-9]*\).*/\1/p'
}

# The daemon writes its pid file only once it listens, so until then its log names it.
server_died_before_listening() {
    local logged_pid
    logged_pid="$(tail -n 1 "$log_file" 2>/dev/null | cut -d: -f1)"
    [[ "$logged_pid" =~ ^[0-9]+$ ]] && ! alive "$logged_pid"
}

wait_until_ready() {
    local deadline=$((SECONDS + ready_timeout_s)) pid=""
    until [[ -n "$pid" && "$(answering_pid)" == "$pid" ]]; do
        ((SECONDS < deadline)) || fail_start "no PONG from our process within ${ready_timeout_s}s"
        sleep 0.1
        pid="$(running_pid)" || pid=""
        if [[ -z "$pid" ]] && server_died_before_listening; then
            fail_start "the server exited"
        fi
    done
    wait_while_loading "$pid"
}

# Redis listens before it has read its append-only file and answers PING with LOADING until
# then (INFO, which answering_pid reads, it answers at once): a large dataset is a slow start,
# not a failed one.
wait_while_loading() {
    local pid="$1" deadline=$((SECONDS + load_timeout_s)) answer announced=""
    while answer="$(redis-cli -h 127.0.0.1 -p "$port" ping 2>&1)" && [[ "$answer" == LOADING* ]]; do
        if [[ -z "$announced" ]]; then
            echo "Redis $pid is loading its append-only file; waiting up to ${load_timeout_s}s"
            announced=yes
        fi
        alive "$pid" || fail_start "the server exited while loading its data"
        if ((SECONDS >= deadline)); then
            # Still loading is still healthy: it is left running, and 'start' again waits on.
            echo "redis.sh: Redis $pid still loading after ${load_timeout_s}s; left running," \
                "see $log_file" >&2
            exit 1
        fi
        sleep 0.2
    done
    [[ "$answer" == PONG ]] || fail_start "PING answered: $answer"
    [[ -z "$announced" ]] || echo "Redis $pid loaded its data"
}

start() {
    local pid
    if pid="$(running_pid)"; then
        wait_while_loading "$pid"
        echo "already running $pid on 127.0.0.1:$port"
        return 0
    fi
    [[ "${REDIS_PASSWORD:-}" =~ ^[A-Za-z0-9_-]{16,}$ ]] ||
        die "set REDIS_PASSWORD (16 or more of A-Z a-z 0-9 _ -): Redis never runs without one"
    install_redis
    mkdir -p "$data_dir"
    rm -f "$pid_file"
    # A fresh log per start, so what the wait reads is this start's.
    [[ -f "$log_file" ]] && mv -f "$log_file" "$log_file.previous"
    write_config
    redis-server "$config" || fail_start "redis-server exited with status $?"
    wait_until_ready
    echo "Redis ready on 127.0.0.1:$port (pid $(running_pid), data $data_dir)"
}

case "${1:-}" in
install) install_redis ;;
start) start ;;
stop) stop ;;
status) status ;;
*) die "usage: $0 install|start|stop|status" ;;
esac
