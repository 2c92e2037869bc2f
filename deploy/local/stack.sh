#!/usr/bin/env bash
# Runs the whole system locally: Kafka, Redis, topics, the sandbox providers and every service.
#
#   stack.sh up       start what is not running yet (idempotent), wait until ready, print the URLs
#   stack.sh down     stop every process, supervisord, Redis and Kafka
#   stack.sh status   one line per process: its state, pid, uptime and restarts
#
# Kafka and Redis run from their own scripts. Every row of processes.tsv runs under supervisord
# (the `supervisor` package in the venv), which restarts a process that exits: at once if it
# had been running for start_seconds, after a backoff growing by a second per failed try if it
# dies while starting, and gives up (FATAL, shown by status) after start_retries such tries.
# supervisord's configuration is written from processes.tsv into var/run/ on every 'up'; logs
# go to var/log/<name>.log, supervisord's own to var/log/supervisord.log.
#
# A consumer row (no port of its own, a /metrics port in its command; not the poller) may run as
# several replicas in its Kafka consumer group: INVOICESYNC_REPLICAS_<NAME> (the row's name in
# capitals, - as _; e.g. INVOICESYNC_REPLICAS_XERO_WRITER=3), from the environment or
# var/local.env, default 1. N > 1 makes N programs <name>-1 .. <name>-N, replica i serving
# /metrics on the row's port + 100 * (i - 1) (xero-writer: 9104, 9204, 9304).
set -euo pipefail

script_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo_root="$(cd "$script_dir/../.." && pwd)"
run_dir="$repo_root/var/run"
log_dir="$repo_root/var/log"
bin="$repo_root/.venv/bin"
env_file="$repo_root/var/local.env"
supervisor_conf="$run_dir/supervisord.conf"
supervisor_pid_file="$run_dir/supervisord.pid"
supervisor_socket="$run_dir/supervisor.sock"
# A Unix socket path must fit in 108 bytes: a checkout deep in the tree gets a short one in /tmp.
if ((${#supervisor_socket} > 100)); then
    supervisor_socket="/tmp/invoicesync-$(printf '%s' "$repo_root" | sha1sum | cut -c1-12).sock"
fi
restarts_file="$run_dir/restarts.tsv"
# A process that lives this long counts as started; one that dies sooner is retried with backoff.
start_seconds=5
start_retries=60
stop_seconds=15
ready_timeout_s=180

# shellcheck source=deploy/server_process.sh
source "$repo_root/deploy/server_process.sh" # alive: a zombie counts as dead

mkdir -p "$run_dir" "$log_dir"
cd "$repo_root"

# The sandbox configuration plus a token key generated once for this checkout.
load_env() {
    if [[ ! -f "$env_file" ]]; then
        local key
        key="$("$bin/python" -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())')"
        { cat "$script_dir/sandbox.env"; echo "INVOICESYNC_TOKEN_ENCRYPTION_KEY=$key"; } >"$env_file"
        chmod 600 "$env_file"
    fi
    grep -q '^INVOICESYNC_XERO_WEBHOOK_KEY=' "$env_file" || "$bin/python" -m invoicesync_sandbox.developer_portal secrets >>"$env_file"
    # Redis and Kafka take no client without these, made once per checkout too.
    grep -q '^REDIS_PASSWORD=' "$env_file" || echo "REDIS_PASSWORD=$(new_password)" >>"$env_file"
    grep -q '^KAFKA_ADMIN_PASSWORD=' "$env_file" || echo "KAFKA_ADMIN_PASSWORD=$(new_password)" >>"$env_file"
    local user variable
    for user in $(kafka_users); do
        variable="$(password_variable "$user")"
        grep -q "^$variable=" "$env_file" || echo "$variable=$(new_password)" >>"$env_file"
    done
    # KAFKA_BROKERS=3 (a three-node cluster) from the environment is kept in the file, so that
    # `down` and `status` find the cluster that `up` started.
    if [[ -n "${KAFKA_BROKERS:-}" ]]; then
        sed -i '/^KAFKA_BROKERS=/d' "$env_file"
        echo "KAFKA_BROKERS=$KAFKA_BROKERS" >>"$env_file"
    fi
    set -a
    # shellcheck disable=SC1090
    source "$env_file"
    kafka_shape
    if [[ "$KAFKA_BROKERS" == 3 ]]; then
        local port="${KAFKA_PORT:-19092}"
        KAFKA_BOOTSTRAP_SERVERS="127.0.0.1:$port,127.0.0.1:$((port + 1)),127.0.0.1:$((port + 2))"
    fi
    # The services' clients give Redis its password in the URL.
    [[ "$REDIS_URL" == *@* ]] || REDIS_URL="redis://:$REDIS_PASSWORD@${REDIS_URL#redis://}"
    # The broker is made with its admin alone; `up` makes each service's user and ACLs. Commands
    # run by hand (the admin CLI) act as the admin service.
    KAFKA_USERS=""
    INVOICESYNC_KAFKA_USERNAME="$(kafka_username invoicesync-admin)"
    INVOICESYNC_KAFKA_PASSWORD="${INVOICESYNC_KAFKA_PASSWORD_ADMIN:-}"
    set +a
}

# The Kafka `up` runs: one node, or with KAFKA_BROKERS=3 (from the environment or
# var/local.env) a three-node cluster in a data dir of its own (a one-node var/kafka's topics do
# not carry over).
kafka_shape() {
    if [[ -z "${KAFKA_BROKERS:-}" && -f "$env_file" ]]; then
        KAFKA_BROKERS="$(sed -n 's/^KAFKA_BROKERS=//p' "$env_file" | tail -n 1)"
    fi
    export KAFKA_BROKERS="${KAFKA_BROKERS:-1}"
    if [[ "$KAFKA_BROKERS" == 3 ]]; then
        export KAFKA_DATA_DIR="${KAFKA_DATA_DIR:-$repo_root/var/kafka-cluster}"
    fi
}

# The Kafka users named in processes.tsv, once each.
kafka_users() {
    each_process | cut -f4 | grep -vx -- '-' | sort -u
}

# As invoicesync/kafka/access.py names it: invoicesync-xero-writer -> ..._XERO_WRITER.
password_variable() {
    local suffix="${1#invoicesync-}"
    suffix="${suffix^^}"
    echo "INVOICESYNC_KAFKA_PASSWORD_${suffix//-/_}"
}

# The user on the broker: behind the deployment's topic prefix, like its topics and groups.
kafka_username() {
    echo "${INVOICESYNC_TOPIC_PREFIX:-}$1"
}

new_password() {
    "$bin/python" -c 'import secrets; print(secrets.token_hex(24))'
}

# A process whose Python module is not in this checkout yet is left out, not failed.
present() {
    [[ "$1" == "-" ]] && return 0
    "$bin/python" -c "import importlib.util, sys; sys.exit(importlib.util.find_spec('$1') is None)" 2>/dev/null
}

each_process() {
    grep -v '^#' "$script_dir/processes.tsv" | grep -v '^[[:space:]]*$'
}

# The setting naming a row's replica count: xero-writer -> INVOICESYNC_REPLICAS_XERO_WRITER.
replicas_variable() {
    local suffix="${1^^}"
    echo "INVOICESYNC_REPLICAS_${suffix//-/_}"
}

# How many replicas of row $1 to run: the environment's setting, else var/local.env's, else 1.
replica_count() {
    local variable count
    variable="$(replicas_variable "$1")"
    count="${!variable:-}"
    if [[ -z "$count" && -f "$env_file" ]]; then
        count="$(sed -n "s/^$variable=//p" "$env_file" | tail -n 1)"
    fi
    echo "${count:-1}"
}

# Only a consumer of a group can share its work with replicas: a row with no port of its own
# and a /metrics port in its command. The poller walks every tenant itself: one only.
replicable() {
    local port="$1" module="$2" command="$3"
    [[ "$port" == "-" && "$command" == *INVOICESYNC_METRICS_PORT=* && "$module" != *.poller ]]
}

# Every replica setting is a whole number of at least 1, and more than 1 only where replicable.
check_replicas() {
    local name module port command count
    while IFS=$'\t' read -r name module port _ command; do
        count="$(replica_count "$name")"
        if ! [[ "$count" =~ ^[1-9][0-9]*$ ]]; then
            echo "$(replicas_variable "$name") must be a whole number of 1 or more, not '$count'" >&2
            exit 2
        fi
        if ((count > 1)) && ! replicable "$port" "$module" "$command"; then
            echo "$(replicas_variable "$name")=$count: $name is not a consumer that" \
                "can run as replicas (HTTP services scale by workers; one poller only)" >&2
            exit 2
        fi
    done < <(each_process)
}

# The programs supervisord runs: processes.tsv's rows, a row of N replicas as N programs
# <name>-1 .. <name>-N, replica i with its /metrics port moved up by 100 * (i - 1).
each_program() {
    local name module port kafka_user command count replica metrics
    while IFS=$'\t' read -r name module port kafka_user command; do
        count="$(replica_count "$name")"
        if ! [[ "$count" =~ ^[1-9][0-9]*$ ]] || ((count == 1)) \
            || ! replicable "$port" "$module" "$command"; then
            printf '%s\t%s\t%s\t%s\t%s\n' "$name" "$module" "$port" "$kafka_user" "$command"
            continue
        fi
        metrics="$(sed -n 's/.*INVOICESYNC_METRICS_PORT=\([0-9]*\).*/\1/p' <<<"$command")"
        for ((replica = 1; replica <= count; replica++)); do
            printf '%s\t%s\t%s\t%s\t%s\n' "$name-$replica" "$module" "$port" "$kafka_user" \
                "${command/INVOICESYNC_METRICS_PORT=$metrics/INVOICESYNC_METRICS_PORT=$((metrics + 100 * (replica - 1)))}"
        done
    done < <(each_process)
}

# The programs named in the supervisord configuration `up` wrote last, in its order.
configured_programs() {
    sed -n 's/^\[program:\(.*\)\]$/\1/p' "$supervisor_conf" 2>/dev/null || true
}

# The pid of this checkout's supervisord, if it is alive: the command line is checked too, so a
# recycled pid is not taken for it.
supervisord_pid() {
    [[ -f "$supervisor_pid_file" ]] || return 1
    local pid
    pid="$(cat "$supervisor_pid_file")"
    [[ "$pid" =~ ^[0-9]+$ ]] && alive "$pid" || return 1
    tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF "supervisord -c $supervisor_conf" || return 1
    echo "$pid"
}

supervisorctl() {
    "$bin/supervisorctl" -c "$supervisor_conf" "$@"
}

# "name state description" per program; nothing while supervisord does not answer.
program_states() {
    supervisorctl status 2>/dev/null | grep -E '^[^ ]+ +[A-Z]+' || true
}

write_supervisor_config() {
    local partial="$supervisor_conf.partial" priority=100 name module port kafka_user command environment
    {
        cat <<EOF
; Written by deploy/local/stack.sh from processes.tsv on every 'up': edit those, not this file.
[unix_http_server]
file=$supervisor_socket
chmod=0700

[supervisord]
pidfile=$supervisor_pid_file
logfile=$log_dir/supervisord.log
logfile_maxbytes=10MB
logfile_backups=3
childlogdir=$log_dir
directory=$repo_root

[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface

[supervisorctl]
serverurl=unix://$supervisor_socket

[eventlistener:restart-counter]
command=$bin/python $script_dir/restart_counter.py $restarts_file
events=PROCESS_STATE_STARTING
priority=1
autorestart=true
stderr_logfile=$log_dir/restart-counter.log
EOF
        while IFS=$'\t' read -r name module port kafka_user command; do
            if ! present "$module"; then
                echo "  $name not in this checkout yet, skipped" >&2
                continue
            fi
            command="${command//\$BIN/$bin}"
            environment=""
            if [[ "$kafka_user" != "-" ]]; then
                # supervisord fills in the password from its own environment: not in this file.
                environment="environment=INVOICESYNC_KAFKA_USERNAME=\"$(kafka_username "$kafka_user")\""
                environment+=",INVOICESYNC_KAFKA_PASSWORD=\"%(ENV_$(password_variable "$kafka_user"))s\""
            fi
            cat <<EOF

[program:$name]
command=${command//%/%%}
directory=$repo_root
priority=$priority
startsecs=$start_seconds
startretries=$start_retries
autorestart=true
stopsignal=TERM
stopwaitsecs=$stop_seconds
stopasgroup=true
killasgroup=true
redirect_stderr=true
stdout_logfile=$log_dir/$name.log
stdout_logfile_maxbytes=20MB
stdout_logfile_backups=3
$environment
EOF
            priority=$((priority + 10))
        done < <(each_program)
    } >"$partial"
    mv -f "$partial" "$supervisor_conf"
}

# Processes an older stack.sh started by pid file, without supervision: stopped, so that their
# supervised successors can take their ports.
stop_unsupervised() {
    local name pid_file pid
    while IFS=$'\t' read -r name _ _ _; do
        pid_file="$run_dir/$name.pid"
        [[ -f "$pid_file" ]] || continue
        pid="$(cat "$pid_file")"
        if [[ "$pid" =~ ^[0-9]+$ ]] && alive "$pid"; then
            kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
            for _ in $(seq 1 100); do alive "$pid" || break; sleep 0.1; done
            kill -KILL -- "-$pid" 2>/dev/null || true
            echo "  $name (started without supervision) stopped"
        fi
        rm -f "$pid_file"
    done < <(each_process | tac)
}

start_supervised() {
    write_supervisor_config
    if supervisord_pid >/dev/null; then
        # Picks up added, removed and changed rows; starts what was stopped or had given up.
        supervisorctl update | sed 's/^/  /'
        supervisorctl start all 2>&1 | grep -v 'already started' | sed 's/^/  /' || true
    else
        rm -f "$restarts_file"
        "$bin/supervisord" -c "$supervisor_conf"
    fi
}

port_answers() {
    (echo >"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# The restart counter's count for program $1 in the counts file's text $2 (empty for none).
restarts_in() {
    awk -F'\t' -v name="$1" '$1 == name { print $2 }' <<<"$2"
}

# Every program RUNNING (alive for start_seconds) and every port answering, or a failure that
# names what is not, with its log: one that gave up (FATAL) or keeps exiting as it starts fails
# at once, the rest after ready_timeout_s. The processes are left to supervisord either way.
wait_until_ready() {
    local deadline=$((SECONDS + ready_timeout_s)) name port state states waiting configured
    local before now counts
    configured="$(configured_programs)"
    before="$(cat "$restarts_file" 2>/dev/null || true)"
    while true; do
        states="$(program_states)"
        counts="$(cat "$restarts_file" 2>/dev/null || true)"
        waiting=()
        while IFS=$'\t' read -r name _ port _; do
            grep -qxF "$name" <<<"$configured" || continue
            state="$(awk -v name="$name" '$1 == name { print $2 }' <<<"$states")"
            now="$(restarts_in "$name" "$counts")"
            now=$((${now:-0} - $(restarts_in "$name" "$before" | grep . || echo 0)))
            if [[ "$state" == FATAL ]] || ((now >= 3)); then
                echo "  $name cannot start (${state:-no state}, restarted $now times);" \
                    "supervisord keeps trying; see var/log/$name.log" >&2
                tail -n 20 "$log_dir/$name.log" >&2 || true
                exit 1
            fi
            if [[ "$state" != RUNNING ]] || { [[ "$port" != "-" ]] && ! port_answers "$port"; }; then
                waiting+=("$name${state:+ ($state)}")
            fi
        done < <(each_program)
        ((${#waiting[@]} == 0)) && break
        if ((SECONDS >= deadline)); then
            echo "  not ready after ${ready_timeout_s}s: ${waiting[*]}" >&2
            local first="${waiting[0]%% *}"
            tail -n 20 "$log_dir/$first.log" >&2 || true
            exit 1
        fi
        sleep 0.5
    done
    program_states | grep -v '^restart-counter ' | awk '{ $1 = "  " $1; print }'
}

up() {
    load_env
    echo "infrastructure:"
    bash "$repo_root/deploy/kafka/kafka.sh" start | sed 's/^/  /'
    bash "$repo_root/deploy/redis/redis.sh" start | sed 's/^/  /'
    # Each service's Kafka user and ACLs, then the topics.
    # shellcheck disable=SC2046  # one argument per user
    "$bin/python" -m invoicesync.kafka.access $(kafka_users) | sed 's/^/  /'
    echo "processes (supervised):"
    check_replicas
    stop_unsupervised
    start_supervised
    wait_until_ready
    if present "admin.cli"; then
        "$bin/python" -m admin.cli dev-key
    fi

    # Everything is running and ready from here on: steps that need the running services go here.
    "$bin/python" -m invoicesync_sandbox.developer_portal register || echo "  see var/log/reverse-sync-webhooks.log" >&2

    cat <<EOT

InvoiceSync is running on the sandbox providers:
  web console and admin API  ${INVOICESYNC_PUBLIC_BASE_URL}/   (OpenAPI: /api/v1/openapi.json)
  Keap hooks (ingest)        ${INVOICESYNC_HOOKS_BASE_URL}/
  Xero/QBO webhooks          ${INVOICESYNC_WEBHOOKS_BASE_URL}/
  sandbox Keap / Xero / QBO  http://127.0.0.1:8901  http://127.0.0.1:8902  http://127.0.0.1:8903
  logs                       var/log/
A process that exits is restarted; 'make status' shows each one's restarts.
Stop everything with: make down
EOT
}

down() {
    local pid
    if pid="$(supervisord_pid)"; then
        local states running groups programs
        states="$(program_states)"
        running="$(awk '$2 != "STOPPED" && $2 != "EXITED" && $2 != "FATAL" { print $1 }' <<<"$states")"
        groups="$(sed -n 's/.* pid \([0-9]*\),.*/\1/p' <<<"$states")"
        programs="$(grep -c '^\[program:' "$supervisor_conf" || true)"
        # supervisord stops the programs one by one in reverse order of processes.tsv (SIGTERM
        # to each process group, SIGKILL after stop_seconds), the restart counter last, then exits.
        supervisorctl shutdown >/dev/null || kill -TERM "$pid" 2>/dev/null || true
        local deadline=$((SECONDS + programs * stop_seconds + 30))
        while alive "$pid" && ((SECONDS < deadline)); do sleep 0.1; done
        if alive "$pid"; then
            echo "  supervisord $pid did not exit; killing it and its programs" >&2
            kill -KILL "$pid" 2>/dev/null || true
            for group in $groups; do kill -KILL -- "-$group" 2>/dev/null || true; done
        fi
        configured_programs | tac | grep -xF "$running" | sed 's/.*/  & stopped/' || true
        echo "  supervisord stopped"
    fi
    rm -f "$supervisor_pid_file"
    stop_unsupervised
    bash "$repo_root/deploy/redis/redis.sh" stop | sed 's/^/  /'
    kafka_shape
    bash "$repo_root/deploy/kafka/kafka.sh" stop | sed 's/^/  /'
}

show_status() {
    kafka_shape
    bash "$repo_root/deploy/kafka/kafka.sh" status | sed 's/^/kafka: /' || echo "kafka: stopped"
    bash "$repo_root/deploy/redis/redis.sh" status | sed 's/^/redis: /' || echo "redis: stopped"
    local pid name
    if ! pid="$(supervisord_pid)"; then
        echo "supervisord: stopped"
        while IFS=$'\t' read -r name _ _ _; do echo "$name: stopped"; done < <(each_program)
        return 0
    fi
    echo "supervisord: running $pid"
    # supervisord's state and description (pid and uptime, or why it is not running), and the
    # restarts the restart-counter listener saw.
    program_states | awk -v counts="$restarts_file" '
        BEGIN { while ((getline line < counts) > 0) { split(line, f, "\t"); restarts[f[1]] = f[2] } }
        {
            name = $1; state = $2; $1 = ""; $2 = ""; sub(/^ +/, "")
            printf "%s: %s%s; restarts %d\n", name, state, ($0 == "" ? "" : " " $0), restarts[name] + 0
        }'
}

case "${1:-}" in
    up) up ;;
    down) down ;;
    status) show_status ;;
    *) echo "usage: stack.sh up|down|status" >&2; exit 2 ;;
esac
