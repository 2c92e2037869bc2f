#!/usr/bin/env bash
# Runs the whole system locally: Kafka, Redis, topics, the sandbox providers and every service.
#
#   stack.sh up       start what is not running yet (idempotent), print the URLs
#   stack.sh down     stop what 'up' started, by pid, and nothing else
#   stack.sh status   one line per process
#
# Processes are listed in processes.tsv; logs go to var/log, pid files to var/run.
set -euo pipefail

script_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo_root="$(cd "$script_dir/../.." && pwd)"
run_dir="$repo_root/var/run"
log_dir="$repo_root/var/log"
bin="$repo_root/.venv/bin"
env_file="$repo_root/var/local.env"

mkdir -p "$run_dir" "$log_dir"

# The sandbox configuration plus a token key generated once for this checkout.
load_env() {
    if [[ ! -f "$env_file" ]]; then
        local key
        key="$("$bin/python" -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())')"
        { cat "$script_dir/sandbox.env"; echo "INVOICESYNC_TOKEN_ENCRYPTION_KEY=$key"; } >"$env_file"
        chmod 600 "$env_file"
    fi
    grep -q '^INVOICESYNC_XERO_WEBHOOK_KEY=' "$env_file" || "$bin/python" -m invoicesync_sandbox.developer_portal secrets >>"$env_file"
    set -a
    # shellcheck disable=SC1090
    source "$env_file"
    set +a
}

alive() {
    local pid_file="$run_dir/$1.pid"
    [[ -f "$pid_file" ]] && kill -0 "$(cat "$pid_file")" 2>/dev/null
}

# A process whose Python module is not in this checkout yet is left out, not failed.
present() {
    [[ "$1" == "-" ]] && return 0
    "$bin/python" -c "import importlib.util, sys; sys.exit(importlib.util.find_spec('$1') is None)" 2>/dev/null
}

start_process() {
    local name="$1" module="$2" port="$3" command="$4"
    if alive "$name"; then
        echo "  $name already running"
        return
    fi
    if ! present "$module"; then
        echo "  $name not in this checkout yet, skipped"
        return
    fi
    (cd "$repo_root" && exec setsid bash -c "exec $command" >>"$log_dir/$name.log" 2>&1 </dev/null) &
    echo $! >"$run_dir/$name.pid"
    if [[ "$port" != "-" ]]; then
        for _ in $(seq 1 100); do
            if (echo >"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then break; fi
            alive "$name" || { echo "  $name exited; see var/log/$name.log" >&2; tail -20 "$log_dir/$name.log" >&2; exit 1; }
            sleep 0.1
        done
    fi
    echo "  $name started (pid $(cat "$run_dir/$name.pid"))"
}

each_process() {
    grep -v '^#' "$script_dir/processes.tsv" | grep -v '^[[:space:]]*$'
}

up() {
    load_env
    echo "infrastructure:"
    bash "$repo_root/deploy/kafka/kafka.sh" start | sed 's/^/  /'
    bash "$repo_root/deploy/redis/redis.sh" start | sed 's/^/  /'
    "$bin/python" -m invoicesync.kafka.topics
    echo "processes:"
    while IFS=$'\t' read -r name module port command; do
        start_process "$name" "$module" "$port" "${command//\$BIN/$bin}"
    done < <(each_process)
    "$bin/python" -m invoicesync_sandbox.developer_portal register || echo "  see var/log/reverse-sync-webhooks.log" >&2
    if present "admin.cli"; then
        "$bin/python" -m admin.cli dev-key
    fi
    cat <<EOT

InvoiceSync is running on the sandbox providers:
  web console and admin API  ${INVOICESYNC_PUBLIC_BASE_URL}/   (OpenAPI: /api/v1/openapi.json)
  Keap hooks (ingest)        ${INVOICESYNC_HOOKS_BASE_URL}/
  Xero/QBO webhooks          ${INVOICESYNC_WEBHOOKS_BASE_URL}/
  sandbox Keap / Xero / QBO  http://127.0.0.1:8901  http://127.0.0.1:8902  http://127.0.0.1:8903
  logs                       var/log/
Stop everything with: make down
EOT
}

down() {
    while IFS=$'\t' read -r name _ _ _; do
        local pid_file="$run_dir/$name.pid"
        [[ -f "$pid_file" ]] || continue
        local pid
        pid="$(cat "$pid_file")"
        if kill -0 "$pid" 2>/dev/null; then
            kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
            for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
            kill -KILL -- "-$pid" 2>/dev/null || true
            echo "  $name stopped"
        fi
        rm -f "$pid_file"
    done < <(each_process | tac)
    bash "$repo_root/deploy/redis/redis.sh" stop | sed 's/^/  /'
    bash "$repo_root/deploy/kafka/kafka.sh" stop | sed 's/^/  /'
}

status() {
    bash "$repo_root/deploy/kafka/kafka.sh" status | sed 's/^/kafka: /' || echo "kafka: stopped"
    bash "$repo_root/deploy/redis/redis.sh" status | sed 's/^/redis: /' || echo "redis: stopped"
    while IFS=$'\t' read -r name _ _ _; do
        if alive "$name"; then echo "$name: running $(cat "$run_dir/$name.pid")"; else echo "$name: stopped"; fi
    done < <(each_process)
}

case "${1:-}" in
    up) up ;;
    down) down ;;
    status) status ;;
    *) echo "usage: stack.sh up|down|status" >&2; exit 2 ;;
esac
