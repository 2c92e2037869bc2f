#!/usr/bin/env bash
# Runs a real Apache Kafka from Maven Central jars (KRaft): one node (broker+controller) by
# default, or a cluster of three such nodes on this machine with KAFKA_BROKERS=3.
# Every connection authenticates: clients with SASL/SCRAM-SHA-512 on the client listener, the
# broker to its controllers with SASL/PLAIN; users are made when the storage is formatted.
#
#   kafka.sh fetch    download the broker's jars into .cache/kafka/<version>/libs (once)
#   kafka.sh start    write the config, format storage once, start in the background, wait ready
#                     (on a cluster: start every node not running, e.g. one that was killed)
#   kafka.sh stop     stop the broker(s) this data dir's pid files name
#   kafka.sh status   "running <pid>" and exit 0, or exit 1 (a cluster: a line per node, exit 0
#                     only when all three run)
#
# Environment (defaults in brackets):
#   KAFKA_BROKERS [1]: 1, or 3 for a cluster (every node both broker and controller, static
#     controller.quorum.voters, one cluster id, the same users formatted on every node)
#   KAFKA_PORT [19092]  KAFKA_CONTROLLER_PORT [19093; a cluster: KAFKA_PORT + 3]
#   KAFKA_DATA_DIR [<repo>/var/kafka]
#   KAFKA_HEAP [-Xms256m -Xmx512m; a cluster: -Xms128m -Xmx384m per node]
#   PYTHON [<repo>/.venv/bin/python]
#   KAFKA_LIBS_DIR [<repo>/.cache/kafka/<version>/libs]
#   KAFKA_READY_TIMEOUT_SECONDS [90; a cluster: 180]: how long `start` waits to be ready
#   KAFKA_ADMIN_PASSWORD (required by 'start'): the password of user "admin", the broker's own
#     identity, with which 'start' checks readiness
#   KAFKA_USERS [""]: more SCRAM users, "name=password name2=password2", made at format time
#     and granted every topic and group at each start (only admin manages users and ACLs)
# Passwords are 16 or more of A-Z a-z 0-9 _ - (they go into the JAAS and format syntax as is).
#
# A cluster (KAFKA_BROKERS=3) on one machine, node N = 1, 2, 3:
#   client listener      127.0.0.1:KAFKA_PORT+N-1             (19092, 19093, 19094)
#   controller listener  127.0.0.1:KAFKA_CONTROLLER_PORT+N-1  (19095, 19096, 19097)
#   node.id N, files in KAFKA_DATA_DIR/node-N/ (server.properties, store/, logs/, kafka.pid),
#   the cluster id in KAFKA_DATA_DIR/cluster.id; the bootstrap address is all three client
#   listeners, comma-separated. Internal topics have 3 replicas and min.insync.replicas 2, and
#   `start` is ready once the admin user sees three unfenced brokers. One node's files are
#   KAFKA_DATA_DIR itself, as they always were.
set -euo pipefail

# shellcheck source=deploy/server_process.sh
source "$(dirname "${BASH_SOURCE[0]}")/../server_process.sh"
server_label="kafka broker"

script_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo_root="$(cd "$script_dir/../.." && pwd)"
pom="$script_dir/pom.xml"
# The pom is the one place the version is pinned.
kafka_version="$(sed -n 's|.*<kafka.version>\(.*\)</kafka.version>.*|\1|p' "$pom" | head -n 1)"

libs_dir="${KAFKA_LIBS_DIR:-$repo_root/.cache/kafka/$kafka_version/libs}"
brokers="${KAFKA_BROKERS:-1}"
port="${KAFKA_PORT:-19092}"
data_dir="${KAFKA_DATA_DIR:-$repo_root/var/kafka}"
python="${PYTHON:-$repo_root/.venv/bin/python}"
stop_timeout_s=30

die() {
    echo "kafka.sh: $*" >&2
    exit 1
}

case "$brokers" in
1)
    controller_port="${KAFKA_CONTROLLER_PORT:-19093}"
    heap="${KAFKA_HEAP:--Xms256m -Xmx512m}"
    ready_timeout_s="${KAFKA_READY_TIMEOUT_SECONDS:-90}"
    ;;
3)
    # Three JVMs on a small machine: small heaps, and more time for all of them to come up.
    controller_port="${KAFKA_CONTROLLER_PORT:-$((port + 3))}"
    heap="${KAFKA_HEAP:--Xms128m -Xmx384m}"
    ready_timeout_s="${KAFKA_READY_TIMEOUT_SECONDS:-180}"
    ;;
*) die "KAFKA_BROKERS is 1 (one node) or 3 (a cluster), not '$brokers'" ;;
esac

bootstrap="127.0.0.1:$port"
voters="1@127.0.0.1:$controller_port"
for ((n = 2; n <= brokers; n++)); do
    bootstrap+=",127.0.0.1:$((port + n - 1))"
    voters+=",$n@127.0.0.1:$((controller_port + n - 1))"
done

# Node N's ports and files; the functions below work on the node last selected.
select_node() {
    node_id="$1"
    node_port=$((port + node_id - 1))
    node_controller_port=$((controller_port + node_id - 1))
    if ((brokers == 1)); then
        node_dir="$data_dir"
    else
        node_dir="$data_dir/node-$node_id"
    fi
    pid_file="$node_dir/kafka.pid"
    properties="$node_dir/server.properties"
    logs_dir="$node_dir/logs"
    server_log="$logs_dir/server.log"
    java_base=(java -XX:+UseSerialGC -Djava.awt.headless=true
        "-Dlog4j2.configurationFile=$script_dir/log4j2.properties"
        "-Dkafka.logs.dir=$logs_dir")
}
select_node 1

require() {
    command -v "$1" >/dev/null 2>&1 || die "'$1' is not on PATH; $2"
}

# The pid in the pid file, if it is a live broker started for this data dir.
running_pid() {
    [[ -f "$pid_file" ]] || return 1
    local pid
    pid="$(cat "$pid_file")"
    [[ "$pid" =~ ^[0-9]+$ ]] || return 1
    # Checking the command line guards against a recycled pid.
    tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline" | grep -qF "kafka.Kafka $properties" || return 1
    echo "$pid"
}

fetch() {
    if [[ -f "$libs_dir/kafka_2.13-$kafka_version.jar" ]]; then
        return 0
    fi
    require java "Kafka $kafka_version needs Java 17 or newer"
    require mvn "install Maven to fetch the broker's jars from Maven Central"
    mkdir -p "$libs_dir"
    # Several brokers may start at once (one per test run); only one of them downloads.
    (
        flock 9
        if [[ ! -f "$libs_dir/kafka_2.13-$kafka_version.jar" ]]; then
            echo "Fetching Kafka $kafka_version jars into $libs_dir"
            mvn -B -Dstyle.color=never -f "$pom" -Dkafka.libs.dir="$libs_dir" \
                dependency:copy-dependencies >"$libs_dir/.fetch.log" 2>&1 ||
                { tail -n 40 "$libs_dir/.fetch.log" >&2; die "Maven could not fetch the jars"; }
        fi
    ) 9>"$libs_dir/.fetch.lock"
    [[ -f "$libs_dir/kafka_2.13-$kafka_version.jar" ]] || die "fetch did not produce kafka_2.13-$kafka_version.jar"
}

internal_topics() {
    if ((brokers == 1)); then
        cat <<EOF
# One node: every internal topic has one replica.
offsets.topic.replication.factor=1
offsets.topic.num.partitions=2
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
EOF
    else
        cat <<EOF
# A cluster: every internal topic on all three nodes, writes acknowledged by at least two, so
# one node may die without losing a committed offset or stopping the groups.
offsets.topic.replication.factor=3
offsets.topic.num.partitions=2
transaction.state.log.replication.factor=3
transaction.state.log.min.isr=2
transaction.state.log.num.partitions=1
share.coordinator.state.topic.replication.factor=3
share.coordinator.state.topic.min.isr=2
default.replication.factor=3
min.insync.replicas=2
EOF
    fi
}

write_properties() {
    # The file holds the admin password: readable by its owner only.
    (umask 077 && : >"$properties")
    cat >"$properties" <<EOF
# Written by deploy/kafka/kafka.sh on every start; edit the script, not this file.
process.roles=broker,controller
node.id=$node_id
controller.quorum.voters=$voters
listeners=SASL_PLAINTEXT://127.0.0.1:$node_port,CONTROLLER://127.0.0.1:$node_controller_port
advertised.listeners=SASL_PLAINTEXT://127.0.0.1:$node_port
controller.listener.names=CONTROLLER
inter.broker.listener.name=SASL_PLAINTEXT
listener.security.protocol.map=CONTROLLER:SASL_PLAINTEXT,SASL_PLAINTEXT:SASL_PLAINTEXT
log.dirs=$node_dir/store

# Clients authenticate with SCRAM (users live in the cluster metadata, made at format time).
# The controller listener uses PLAIN with its one user in this file: SCRAM users are metadata
# the controller itself serves, so they cannot guard the way to it.
sasl.enabled.mechanisms=SCRAM-SHA-512
sasl.mechanism.inter.broker.protocol=SCRAM-SHA-512
listener.name.sasl_plaintext.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="admin" password="$KAFKA_ADMIN_PASSWORD";
sasl.mechanism.controller.protocol=PLAIN
listener.name.controller.sasl.enabled.mechanisms=PLAIN
listener.name.controller.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username="admin" password="$KAFKA_ADMIN_PASSWORD" user_admin="$KAFKA_ADMIN_PASSWORD";

# Only the admin user may manage users, ACLs and the cluster; every other user does what its
# ACLs allow (KAFKA_USERS get topics, groups and topic creation: GRANTS in admin_round_trip).
authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer
super.users=User:admin
allow.everyone.if.no.acl.found=false

$(internal_topics)

# Fast, strict behaviour for development and tests.
group.initial.rebalance.delay.ms=0
group.min.session.timeout.ms=1000
# A node starved of CPU (a busy machine) misses heartbeats to its own controller; at the
# default 9 s it fences itself and refuses to create topics until it catches up.
broker.session.timeout.ms=30000
auto.create.topics.enable=false
num.partitions=1

# Sized for a two-core machine.
num.network.threads=2
num.io.threads=2
num.recovery.threads.per.data.dir=1
background.threads=2
EOF
}

# Format-time users: admin, then each of KAFKA_USERS.
scram_arguments() {
    local user
    echo "--add-scram"
    echo "SCRAM-SHA-512=[name=admin,password=$KAFKA_ADMIN_PASSWORD]"
    for user in ${KAFKA_USERS:-}; do
        echo "--add-scram"
        echo "SCRAM-SHA-512=[name=${user%%=*},password=${user#*=}]"
    done
}

check_credentials() {
    local user
    valid_password "${KAFKA_ADMIN_PASSWORD:-}" ||
        die "set KAFKA_ADMIN_PASSWORD (16 or more of A-Z a-z 0-9 _ -): the broker never runs open"
    for user in ${KAFKA_USERS:-}; do
        [[ "$user" == *=* && "${user%%=*}" =~ ^[A-Za-z0-9_-]+$ ]] && valid_password "${user#*=}" ||
            die "KAFKA_USERS holds '${user%%=*}', not name=password with a valid password"
    done
}

valid_password() {
    [[ "$1" =~ ^[A-Za-z0-9_-]{16,}$ ]]
}

format_storage_once() {
    local users_marker="$node_dir/users" user
    if [[ -f "$node_dir/store/meta.properties" ]]; then
        # A store formatted before the broker required users has none: nobody could log in.
        [[ -f "$users_marker" ]] ||
            die "$node_dir/store was formatted without users; remove $data_dir to start afresh"
        return 0
    fi
    # One id for every node of a cluster: a node formatted with another is refused by the rest.
    local cluster_id_file="$data_dir/cluster.id"
    if [[ ! -s "$cluster_id_file" ]]; then
        # Like Kafka's own Uuid.randomUuid: never an id starting with "-", which the
        # format command would read as an option.
        "$python" -c 'import base64, uuid
while (i := base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")).startswith("-"): pass
print(i)' >"$cluster_id_file"
    fi
    # No --standalone: StorageTool refuses it together with static controller.quorum.voters.
    local scram=()
    mapfile -t scram < <(scram_arguments)
    "${java_base[@]}" -Dkafka.log.file=storage-format.log -cp "$libs_dir/*" \
        kafka.tools.StorageTool format -t "$(cat "$cluster_id_file")" -c "$properties" \
        "${scram[@]}" >"$logs_dir/storage-format.out" 2>&1 ||
        { cat "$logs_dir/storage-format.out" >&2; die "storage format failed"; }
    # The names only: which users this store was made with.
    for user in admin ${KAFKA_USERS:-}; do echo "${user%%=*}"; done >"$users_marker"
}

admin_round_trip() {
    # The password goes by environment, not argument, so it is not in a process listing.
    KAFKA_ADMIN_PASSWORD="$KAFKA_ADMIN_PASSWORD" KAFKA_USERS="${KAFKA_USERS:-}" \
        "$python" - "$bootstrap" "$1" "$brokers" <<'EOF'
import os
import sys
import time

from kafka.admin import (
    ACL,
    ACLOperation,
    ACLPermissionType,
    KafkaAdminClient,
    ResourcePattern,
    ResourceType,
)

# What each of KAFKA_USERS may do (creating the same ACL again is harmless): every topic and
# group, creating topics; never users, ACLs or cluster configuration.
GRANTS = [
    (ResourceType.TOPIC, "*", ACLOperation.ALL),
    (ResourceType.GROUP, "*", ACLOperation.ALL),
    (ResourceType.CLUSTER, "kafka-cluster", ACLOperation.CREATE),
    (ResourceType.CLUSTER, "kafka-cluster", ACLOperation.DESCRIBE),
    (ResourceType.CLUSTER, "kafka-cluster", ACLOperation.IDEMPOTENT_WRITE),
]

bootstrap, timeout_s, brokers = sys.argv[1], float(sys.argv[2]), int(sys.argv[3])
deadline = time.monotonic() + timeout_s
while True:
    try:
        admin = KafkaAdminClient(
            bootstrap_servers=bootstrap,
            request_timeout_ms=5000,
            bootstrap_timeout_ms=5000,
            security_protocol="SASL_PLAINTEXT",
            sasl_mechanism="SCRAM-SHA-512",
            sasl_plain_username="admin",
            sasl_plain_password=os.environ["KAFKA_ADMIN_PASSWORD"],
        )
        try:
            admin.list_topics()
            # Every node registered and unfenced (caught up with the controllers' metadata).
            live = [b for b in admin.describe_cluster()["brokers"] if not b.get("is_fenced")]
            if len(live) < brokers:
                raise RuntimeError(f"{len(live)} of {brokers} brokers are up")
            users = [user.split("=", 1)[0] for user in os.environ["KAFKA_USERS"].split()]
            acls = [
                ACL(f"User:{user}", "*", operation, ACLPermissionType.ALLOW,
                    ResourcePattern(resource, name))
                for user in users
                for resource, name, operation in GRANTS
            ]
            if acls:
                failed = admin.create_acls(acls)["failed"]
                if failed:
                    sys.exit(f"creating ACLs failed: {failed!r}")
            break
        finally:
            admin.close()
    except Exception as exc:
        if time.monotonic() > deadline:
            sys.exit(f"admin round-trip to {bootstrap} failed: {exc!r}")
        time.sleep(0.5)
EOF
}

started_nodes=()
started_pids=()

fail_start() {
    local i
    echo "kafka.sh: broker did not become ready: $1" >&2
    for i in "${!started_nodes[@]}"; do
        select_node "${started_nodes[$i]}"
        ((brokers == 1)) || echo "==== node $node_id ====" >&2
        echo "---- last 50 lines of $server_log ----" >&2
        tail -n 50 "$server_log" >&2 2>/dev/null || true
        echo "---- last 50 lines of $node_dir/kafka.out ----" >&2
        tail -n 50 "$node_dir/kafka.out" >&2 2>/dev/null || true
        kill -KILL "${started_pids[$i]}" 2>/dev/null || true
        rm -f "$pid_file"
    done
    exit 1
}

# Every node started now logs its readiness line; then the admin user sees them all.
wait_until_ready() {
    local deadline=$((SECONDS + ready_timeout_s)) i
    for i in "${!started_nodes[@]}"; do
        select_node "${started_nodes[$i]}"
        until grep -qF "Kafka Server started" "$server_log" 2>/dev/null; do
            alive "${started_pids[$i]}" || fail_start "node $node_id's java process exited"
            ((SECONDS < deadline)) ||
                fail_start "no 'Kafka Server started' from node $node_id within ${ready_timeout_s}s"
            sleep 0.2
        done
    done
    admin_round_trip $((deadline - SECONDS > 5 ? deadline - SECONDS : 5)) ||
        fail_start "the admin round-trip failed"
}

start_node() {
    mkdir -p "$node_dir/store" "$logs_dir"
    write_properties
    format_storage_once
    # A fresh log per start, so the readiness line found is this start's.
    [[ -f "$server_log" ]] && mv -f "$server_log" "$server_log.previous"
    # shellcheck disable=SC2086  # KAFKA_HEAP holds several JVM flags
    setsid nohup "${java_base[@]}" $heap -cp "$libs_dir/*" kafka.Kafka "$properties" \
        >"$node_dir/kafka.out" 2>&1 </dev/null &
    echo "$!" >"$pid_file"
    started_nodes+=("$node_id")
    started_pids+=("$!")
}

start() {
    local n pid running=()
    for ((n = 1; n <= brokers; n++)); do
        select_node "$n"
        pid="$(running_pid)" && running+=("$pid")
    done
    if ((${#running[@]} == brokers)); then
        echo "already running ${running[*]} on $bootstrap"
        return 0
    fi
    check_credentials
    fetch
    require java "Kafka $kafka_version needs Java 17 or newer"
    [[ -x "$python" ]] || die "no Python at $python (set PYTHON); it is needed for the readiness check"
    # A cluster's nodes start together: each waits for a quorum of the controllers.
    for ((n = 1; n <= brokers; n++)); do
        select_node "$n"
        running_pid >/dev/null || start_node
    done
    wait_until_ready
    if ((brokers == 1)); then
        echo "Kafka $kafka_version ready on $bootstrap (pid ${started_pids[0]}, data $data_dir)"
    else
        echo "Kafka $kafka_version cluster of $brokers ready on $bootstrap (started nodes" \
            "${started_nodes[*]}: pids ${started_pids[*]}, data $data_dir)"
    fi
}

# A cluster's nodes are told to stop together: one stopped alone would wait for a controller
# quorum that its partners, stopping after it, could no longer give.
stop_cluster() {
    local n pid pids=()
    for ((n = 1; n <= brokers; n++)); do
        select_node "$n"
        if pid="$(running_pid)"; then
            kill -TERM "$pid"
            pids+=("$pid")
        else
            rm -f "$pid_file"
        fi
    done
    wait_or_kill $((SECONDS + stop_timeout_s)) "${pids[@]}"
    for ((n = 1; n <= brokers; n++)); do
        select_node "$n"
        rm -f "$pid_file"
    done
    if ((${#pids[@]})); then echo "stopped ${pids[*]}"; else echo "not running"; fi
}

status_cluster() {
    local n pid up=0
    for ((n = 1; n <= brokers; n++)); do
        select_node "$n"
        if pid="$(running_pid)"; then
            echo "node $n running $pid"
            up=$((up + 1))
        else
            echo "node $n not running"
        fi
    done
    ((up == brokers))
}

case "${1:-}" in
fetch) fetch ;;
start) start ;;
stop) if ((brokers == 1)); then stop; else stop_cluster; fi ;;
status) if ((brokers == 1)); then status; else status_cluster; fi ;;
*) die "usage: $0 fetch|start|stop|status" ;;
esac
