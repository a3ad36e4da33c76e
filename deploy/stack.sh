#!/usr/bin/env bash
# The local Vitals stack without Docker: one Kafka node (KRaft, broker + controller in one JVM)
# and one Redis, both on loopback, for development, the demo and the integration tests.
#
#   deploy/stack.sh up       start what is not running, wait until both answer (idempotent)
#   deploy/stack.sh down     stop both: SIGTERM, then SIGKILL after VITALS_STACK_STOP_TIMEOUT s
#   deploy/stack.sh status   show both; exit 0 when both run, 3 otherwise
#   deploy/stack.sh logs [-f]  show (or follow) the logs
#   deploy/stack.sh purge    down, then delete the Kafka and Redis data (topics, offsets, keys)
#
# Environment (the same names the services read, see services/platform/settings.py):
#   VITALS_KAFKA_PORT (19092)  VITALS_KAFKA_CONTROLLER_PORT (19093)  VITALS_REDIS_PORT (16379)
#   VITALS_DATA_DIR (.vitals, relative to the current directory): kafka/ and redis/ live here
#   VITALS_CACHE_DIR ($HOME/.cache/vitals): Kafka's jars, fetched from Maven Central once
#   VITALS_STACK_TIMEOUT (90 s): how long `up` waits for readiness
#   VITALS_KAFKA_HEAP (512m)     VITALS_PYTHON (.venv/bin/python): used for the Kafka metadata check
#
# Needs java 17+ and maven (Kafka comes from Maven Central, no tarball) and redis-server, which is
# installed with apt-get when missing and running as root. Topics are NOT auto-created by the
# broker: `vitals stack up` (services/tools/stackctl.py) creates them through services/platform/topics.py.
set -euo pipefail

KAFKA_VERSION=4.1.1   # keep equal to kafka.version in deploy/kafka/pom.xml
DEPLOY_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_DIR=$(dirname "$DEPLOY_DIR")

KAFKA_PORT=${VITALS_KAFKA_PORT:-19092}
CONTROLLER_PORT=${VITALS_KAFKA_CONTROLLER_PORT:-19093}
REDIS_PORT=${VITALS_REDIS_PORT:-16379}
DATA_DIR=${VITALS_DATA_DIR:-.vitals}
[[ $DATA_DIR == /* ]] || DATA_DIR=$PWD/$DATA_DIR
CACHE_DIR=${VITALS_CACHE_DIR:-$HOME/.cache/vitals}
# A cold start fetches 43 MB of jars and formats storage; a warm one takes a few seconds.
READY_TIMEOUT=${VITALS_STACK_TIMEOUT:-90}
# Kafka's controlled shutdown of a single node takes 1-5 s; past this it is stuck, not slow.
STOP_TIMEOUT=${VITALS_STACK_STOP_TIMEOUT:-20}
# 512 MB keeps the broker at ~330 MB RSS; 128 MB dies at start with default cleaner buffers.
KAFKA_HEAP=${VITALS_KAFKA_HEAP:-512m}
PYTHON=${VITALS_PYTHON:-$REPO_DIR/.venv/bin/python}

KAFKA_LIBS=$CACHE_DIR/kafka-$KAFKA_VERSION/libs
KAFKA_DIR=$DATA_DIR/kafka
KAFKA_PID=$KAFKA_DIR/kafka.pid
KAFKA_OUT=$KAFKA_DIR/kafka.out          # JVM stdout/stderr: crashes, GC errors
KAFKA_LOG=$KAFKA_DIR/logs/server.log    # log4j (WARN and the start-up line)
KAFKA_CONF=$KAFKA_DIR/server.properties
REDIS_DIR=$DATA_DIR/redis
REDIS_PID=$REDIS_DIR/redis.pid
REDIS_LOG=$REDIS_DIR/redis.log
REDIS_CONF=$REDIS_DIR/redis.conf

log() { echo "stack: $*"; }
die() { echo "stack: error: $*" >&2; exit 1; }

now() { date +%s.%N; }
elapsed_since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# pid_of PIDFILE PATTERN: print the pid if the file names a live process whose command line
# contains PATTERN (a stale file or a recycled pid prints nothing).
pid_of() {
    local pid
    [[ -s $1 ]] || return 1
    pid=$(<"$1")
    [[ $pid =~ ^[0-9]+$ ]] || return 1
    kill -0 "$pid" 2>/dev/null || return 1
    tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$2" || return 1
    echo "$pid"
}
kafka_pid() { pid_of "$KAFKA_PID" "$KAFKA_CONF"; }
redis_pid() { pid_of "$REDIS_PID" "redis-server"; }

show_tail() {
    local f
    for f in "$@"; do
        [[ -s $f ]] || continue
        echo "---- last lines of $f" >&2
        tail -n 25 "$f" >&2
    done
}

render() { # render TEMPLATE OUT NAME=VALUE...
    local template=$1 out=$2 expr=() pair
    shift 2
    for pair in "$@"; do expr+=(-e "s|@${pair%%=*}@|${pair#*=}|g"); done
    sed "${expr[@]}" "$template" >"$out.tmp"
    mv "$out.tmp" "$out"
}

# ---- prerequisites ---------------------------------------------------------------------------

need_java() {
    command -v java >/dev/null || die "java not found: install a JDK/JRE 17+ (Debian: apt-get install -y openjdk-17-jre-headless)"
}

ensure_redis_installed() {
    command -v redis-server >/dev/null && command -v redis-cli >/dev/null && return
    if [[ $(id -u) -ne 0 ]]; then
        die "redis-server is not installed. Install it, e.g.: sudo apt-get update && sudo apt-get install -y redis-server"
    fi
    log "installing redis-server (apt-get)"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null
    command -v redis-server >/dev/null || die "apt-get install redis-server did not provide redis-server"
}

# Kafka's jars come from Maven Central into a cache outside the repo, shared by every checkout
# and data dir; a lock keeps two concurrent first starts from fetching into the same folder.
ensure_kafka_libs() {
    [[ -f $KAFKA_LIBS/.complete ]] && return
    command -v mvn >/dev/null || die "maven not found: install it (Debian: apt-get install -y maven); it fetches Kafka from Maven Central"
    mkdir -p "$CACHE_DIR/kafka-$KAFKA_VERSION"
    (
        flock 8
        [[ -f $KAFKA_LIBS/.complete ]] && exit 0
        log "fetching Kafka $KAFKA_VERSION jars from Maven Central into $KAFKA_LIBS"
        tmp=$(mktemp -d "$CACHE_DIR/kafka-$KAFKA_VERSION/libs.tmp.XXXXXX")
        if ! mvn -B -q --no-transfer-progress -f "$DEPLOY_DIR/kafka/pom.xml" \
            dependency:copy-dependencies "-DoutputDirectory=$tmp" >"$tmp.mvn.log" 2>&1; then
            cat "$tmp.mvn.log" >&2
            rm -rf "$tmp" "$tmp.mvn.log"
            die "maven could not fetch Kafka $KAFKA_VERSION (see the output above)"
        fi
        rm -rf "$KAFKA_LIBS" "$tmp.mvn.log"
        mv -T "$tmp" "$KAFKA_LIBS"
        touch "$KAFKA_LIBS/.complete"
    ) 8>"$CACHE_DIR/kafka-$KAFKA_VERSION/.lock"
}

KAFKA_JVM=(java -Xmx"$KAFKA_HEAP" -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:+ExitOnOutOfMemoryError
    -Djava.awt.headless=true
    "-Dlog4j2.configurationFile=file:$DEPLOY_DIR/kafka/log4j2.properties"
    "-Dkafka.logs.dir=$KAFKA_DIR/logs"
    -cp "$KAFKA_LIBS/*")
kafka_java() { "${KAFKA_JVM[@]}" "$@"; }

# ---- Kafka -----------------------------------------------------------------------------------

kafka_start() {
    local pid
    if pid=$(kafka_pid); then
        log "kafka already running (pid $pid, port $KAFKA_PORT)"
        return
    fi
    local port
    for port in "$KAFKA_PORT" "$CONTROLLER_PORT"; do
        port_open "$port" && die "port $port is taken by another process; stop it or choose other ports (VITALS_KAFKA_PORT, VITALS_KAFKA_CONTROLLER_PORT)"
    done
    need_java
    ensure_kafka_libs
    mkdir -p "$KAFKA_DIR/data" "$KAFKA_DIR/logs"
    render "$DEPLOY_DIR/kafka/server.properties.template" "$KAFKA_CONF" \
        "KAFKA_PORT=$KAFKA_PORT" "CONTROLLER_PORT=$CONTROLLER_PORT" "LOG_DIRS=$KAFKA_DIR/data"

    # The standalone format writes the controller's address into the quorum's first snapshot,
    # so a data dir formatted for one controller port cannot start on another.
    local ports_file=$KAFKA_DIR/formatted-for-ports
    if [[ ! -f $KAFKA_DIR/data/meta.properties ]]; then
        local cluster_id
        cluster_id=$(kafka_java kafka.tools.StorageTool random-uuid)
        kafka_java kafka.tools.StorageTool format -t "$cluster_id" -c "$KAFKA_CONF" --standalone \
            >>"$KAFKA_OUT" 2>&1 || { show_tail "$KAFKA_OUT"; die "formatting Kafka storage failed"; }
        echo "$KAFKA_PORT $CONTROLLER_PORT" >"$ports_file"
        log "formatted Kafka storage in $KAFKA_DIR/data (cluster $cluster_id)"
    elif [[ -f $ports_file && $(<"$ports_file") != "$KAFKA_PORT $CONTROLLER_PORT" ]]; then
        die "$KAFKA_DIR was formatted for ports $(<"$ports_file") (broker, controller), not $KAFKA_PORT $CONTROLLER_PORT: use those ports, another VITALS_DATA_DIR, or 'deploy/stack.sh purge'"
    fi

    # setsid: the broker must not die with the caller's terminal or process group (pytest, make).
    # 9>&-: it must not inherit the stack lock, or the next `up`/`down` would wait for it forever.
    setsid "${KAFKA_JVM[@]}" kafka.Kafka "$KAFKA_CONF" </dev/null >>"$KAFKA_OUT" 2>&1 9>&- &
    echo $! >"$KAFKA_PID"
    log "kafka starting (pid $!, port $KAFKA_PORT)"
}

kafka_wait() { # kafka_wait DEADLINE_EPOCH
    local deadline=$1
    until port_open "$KAFKA_PORT"; do
        kafka_pid >/dev/null || { show_tail "$KAFKA_OUT" "$KAFKA_LOG"; die "kafka exited during start-up (logs: $KAFKA_LOG, $KAFKA_OUT)"; }
        (( $(date +%s) < deadline )) || { show_tail "$KAFKA_OUT" "$KAFKA_LOG"; die "kafka did not accept connections on port $KAFKA_PORT within ${READY_TIMEOUT}s (logs: $KAFKA_LOG)"; }
        sleep 0.2
    done
    # Accepting TCP is not being ready: ask for cluster metadata, which needs the KRaft quorum
    # and the broker registered. Needs the project's Python; without it, TCP has to do.
    if [[ -x $PYTHON ]] && "$PYTHON" -c 'import vitals.platform.topics' 2>/dev/null; then
        local left=$(( deadline - $(date +%s) ))
        (( left > 1 )) || left=1
        "$PYTHON" -m vitals.platform.topics --wait --bootstrap "127.0.0.1:$KAFKA_PORT" --timeout "$left" \
            || { show_tail "$KAFKA_LOG"; die "kafka accepts connections but did not answer a metadata request (logs: $KAFKA_LOG)"; }
    else
        log "note: $PYTHON with vitals not found, checked Kafka by TCP only (make venv, or set VITALS_PYTHON)"
    fi
}

# ---- Redis -----------------------------------------------------------------------------------

redis_start() {
    local pid
    if pid=$(redis_pid); then
        log "redis already running (pid $pid, port $REDIS_PORT)"
        return
    fi
    port_open "$REDIS_PORT" && die "port $REDIS_PORT is taken by another process; stop it or set VITALS_REDIS_PORT"
    ensure_redis_installed
    mkdir -p "$REDIS_DIR"
    render "$DEPLOY_DIR/redis/redis.conf.template" "$REDIS_CONF" \
        "REDIS_PORT=$REDIS_PORT" "REDIS_DIR=$REDIS_DIR"
    # Errors before daemonizing (a bad config) go to stdout/stderr, not to the log file.
    redis-server "$REDIS_CONF" </dev/null >"$REDIS_DIR/redis.out" 2>&1 9>&- \
        || { show_tail "$REDIS_DIR/redis.out" "$REDIS_LOG"; die "redis-server failed to start (logs: $REDIS_LOG)"; }
    log "redis starting (port $REDIS_PORT)"
}

redis_wait() { # redis_wait DEADLINE_EPOCH
    local deadline=$1
    until [[ $(redis-cli -p "$REDIS_PORT" ping 2>/dev/null) == PONG ]]; do
        (( $(date +%s) < deadline )) || { show_tail "$REDIS_DIR/redis.out" "$REDIS_LOG"; die "redis did not answer PING on port $REDIS_PORT within ${READY_TIMEOUT}s (logs: $REDIS_LOG)"; }
        sleep 0.1
    done
}

# ---- commands --------------------------------------------------------------------------------

stop_one() { # stop_one NAME PID
    local name=$1 pid=$2 waited=0
    kill -TERM "$pid" 2>/dev/null || true
    while kill -0 "$pid" 2>/dev/null; do
        if (( waited >= STOP_TIMEOUT * 10 )); then
            log "$name (pid $pid) still running after ${STOP_TIMEOUT}s: killing it"
            kill -KILL "$pid" 2>/dev/null || true
            sleep 0.2
            break
        fi
        sleep 0.1
        waited=$(( waited + 1 ))
    done
    log "$name stopped"
}

cmd_up() {
    local t0 deadline
    t0=$(now)
    deadline=$(( $(date +%s) + READY_TIMEOUT ))
    mkdir -p "$DATA_DIR"
    # Serialise concurrent `up`/`down` on one data dir (two test sessions starting together).
    exec 9>"$DATA_DIR/.stack.lock"
    flock 9
    redis_start
    kafka_start
    redis_wait "$deadline"
    kafka_wait "$deadline"
    log "up in $(elapsed_since "$t0") s: kafka 127.0.0.1:$KAFKA_PORT, redis 127.0.0.1:$REDIS_PORT"
    log "logs: $KAFKA_LOG, $KAFKA_OUT, $REDIS_LOG"
}

cmd_down() {
    mkdir -p "$DATA_DIR"
    exec 9>"$DATA_DIR/.stack.lock"
    flock 9
    local pid
    if pid=$(kafka_pid); then stop_one kafka "$pid"; else log "kafka not running"; fi
    rm -f "$KAFKA_PID"
    if pid=$(redis_pid); then stop_one redis "$pid"; else log "redis not running"; fi
    rm -f "$REDIS_PID"
}

cmd_status() {
    local pid rc=0
    if pid=$(kafka_pid); then
        if port_open "$KAFKA_PORT"; then state=ready; else state="starting (port closed)"; rc=3; fi
        log "kafka: running, pid $pid, 127.0.0.1:$KAFKA_PORT $state, log $KAFKA_LOG"
    else
        log "kafka: stopped (data $KAFKA_DIR)"; rc=3
    fi
    if pid=$(redis_pid); then
        if [[ $(redis-cli -p "$REDIS_PORT" ping 2>/dev/null) == PONG ]]; then state=ready; else state="not answering PING"; rc=3; fi
        log "redis: running, pid $pid, 127.0.0.1:$REDIS_PORT $state, log $REDIS_LOG"
    else
        log "redis: stopped (data $REDIS_DIR)"; rc=3
    fi
    return $rc
}

cmd_logs() {
    local files=() f
    for f in "$KAFKA_LOG" "$KAFKA_OUT" "$REDIS_LOG"; do [[ -f $f ]] && files+=("$f"); done
    (( ${#files[@]} )) || die "no logs yet under $DATA_DIR (has the stack been started?)"
    if [[ ${1:-} == -f ]]; then
        exec tail -n 20 -F "${files[@]}"
    fi
    tail -n 40 "${files[@]}"
}

cmd_purge() {
    cmd_down
    rm -rf "$KAFKA_DIR" "$REDIS_DIR"
    log "deleted $KAFKA_DIR and $REDIS_DIR"
}

case ${1:-} in
    up) cmd_up ;;
    down) cmd_down ;;
    status) cmd_status ;;
    logs) shift; cmd_logs "$@" ;;
    purge) cmd_purge ;;
    *) echo "usage: $0 up|down|status|logs [-f]|purge" >&2; exit 2 ;;
esac
