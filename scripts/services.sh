#!/usr/bin/env bash
# Single-node Kafka (KRaft), HDFS (NameNode + DataNode) and a Spark standalone cluster (master + worker)
# for development and integration tests.
#
#   scripts/services.sh start|stop|status [kafka|hdfs|spark]     (default: all three)
#
# start  : fetch jars with Maven into $ORYXPY_INFRA_DIR (once), format storage (once), launch HDFS
#          then Kafka in their own process groups, and wait until each answers a real request.
#          Idempotent: a service whose PID is alive and whose port answers is left alone.
# stop   : TERM the PIDs in our pid files only, wait up to 20 s, then KILL.
# status : prints running/stopped per service; exit 0 if all requested are running, else 3.
#
# Env: ORYXPY_INFRA_DIR (default <repo>/.infra), ORYXPY_INFRA_TIMEOUT (default 180 s per service),
# ORYXPY_SPARK_WORKER_CORES (default 2), ORYXPY_SPARK_WORKER_MEMORY (default 4g).
# Addresses: Kafka 127.0.0.1:9092 (controller 9093); HDFS RPC 127.0.0.1:9000, WebHDFS 127.0.0.1:9870,
# DataNode 9866/9864/9867; Spark master spark://127.0.0.1:7077 (web UI 8480), worker web UI 8481.
# Needs java 17+, mvn, curl; Spark runs from the project's pyspark (.venv/bin/spark-class).
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
INFRA="${ORYXPY_INFRA_DIR:-$REPO/.infra}"
TPL="$REPO/scripts/infra"
LOGS="$INFRA/logs"
TIMEOUT="${ORYXPY_INFRA_TIMEOUT:-180}"
MVN_COPY="org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy-dependencies"

# JPMS flags Hadoop's own launcher adds on Java 17+ (hadoop-functions.sh, HADOOP-19310)
HADOOP_JPMS=(-XX:+IgnoreUnrecognizedVMOptions)
for p in java.io java.lang java.lang.reflect java.math java.net java.text java.util \
         java.util.concurrent java.util.zip sun.security.util sun.security.x509; do
  HADOOP_JPMS+=("--add-opens=java.base/$p=ALL-UNNAMED")
done

log() { echo "[services] $*"; }
die() { echo "[services] ERROR: $*" >&2; exit 1; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

# Print the tail of a log file to stderr, then fail.
fail_with_log() {  # <message> <logfile>
  echo "[services] ERROR: $1" >&2
  if [[ -f "$2" ]]; then echo "----- last 40 lines of $2 -----" >&2; tail -n 40 "$2" >&2; fi
  exit 1
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# PID from .infra/<name>.pid if that process is alive and still runs <main class>.
live_pid() {  # <name> <main class>
  local f="$INFRA/$1.pid" pid
  [[ -f "$f" ]] || return 1
  pid="$(cat "$f")"
  [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null && ps -ww -o args= -p "$pid" | grep -qF -- "$2" || return 1
  echo "$pid"
}

# Download the jars of scripts/infra/<svc>/pom.xml into .infra/<svc>/libs (only if missing).
fetch_libs() {  # <svc>
  local dir="$INFRA/$1/libs"
  [[ -f "$dir/.complete" ]] && return 0
  log "$1: downloading jars with Maven into $dir"
  rm -rf "$dir" "$dir.tmp"; mkdir -p "$LOGS"
  mvn -B -q -f "$TPL/$1/pom.xml" "$MVN_COPY" -DincludeScope=runtime \
      -DoutputDirectory="$dir.tmp" >"$LOGS/mvn-$1.log" 2>&1 \
    || fail_with_log "$1: Maven could not fetch the jars (Maven Central reachable?)" "$LOGS/mvn-$1.log"
  mv "$dir.tmp" "$dir"; touch "$dir/.complete"
}

# Copy a template, replacing @INFRA_DIR@ with the absolute infra path.
render() { sed "s|@INFRA_DIR@|$INFRA|g" "$1" >"$2"; }

# Launch "$@" detached (own session/process group via setsid), pid -> .infra/<name>.pid.
launch() {  # <name> <port> <main class> cmd...
  local name="$1" port="$2" main="$3"; shift 3
  if live_pid "$name" "$main" >/dev/null && port_open "$port"; then
    log "$name: already running (pid $(cat "$INFRA/$name.pid"))"; return 0
  fi
  if live_pid "$name" "$main" >/dev/null; then
    log "$name: pid $(cat "$INFRA/$name.pid") alive, port $port not yet open; waiting for it"; return 0
  fi
  port_open "$port" && die "$name: port $port is in use by a process that is not ours"
  [[ -f "$LOGS/$name.log" ]] && mv -f "$LOGS/$name.log" "$LOGS/$name.log.prev"
  nohup setsid "$@" >"$LOGS/$name.log" 2>&1 </dev/null &
  echo $! >"$INFRA/$name.pid"
  log "$name: started pid $!, log $LOGS/$name.log"
}

# Poll <check fn> every second until it succeeds; on timeout or death of <name>, show its log.
wait_for() {  # <name> <main class> <what> <check fn>
  local deadline=$((SECONDS + TIMEOUT))
  until "$4"; do
    live_pid "$1" "$2" >/dev/null || fail_with_log "$1 died while waiting for: $3" "$LOGS/$1.log"
    ((SECONDS < deadline)) || fail_with_log "$1: timed out after ${TIMEOUT}s waiting for: $3" "$LOGS/$1.log"
    sleep 1
  done
}

# ------------------------------------------------------------------ HDFS
NN_MAIN=org.apache.hadoop.hdfs.server.namenode.NameNode
DN_MAIN=org.apache.hadoop.hdfs.server.datanode.DataNode
NN_HTTP=http://127.0.0.1:9870

hdfs_java() {  # <heap> <proc name>  -> java command line in array JCMD
  local conf="$INFRA/hdfs/conf"
  JCMD=(java "-Xmx$1" "-Dproc_$2" "${HADOOP_JPMS[@]}" -Djava.net.preferIPv4Stack=true \
    "-Dhadoop.home.dir=$INFRA/hdfs" "-Dhadoop.log.dir=$LOGS" "-Djava.io.tmpdir=$INFRA/hdfs/tmp" \
    "-Dlog4j.configuration=file:$conf/log4j.properties" "-Dlog4j2.configurationFile=$conf/log4j2.properties" \
    -cp "$conf:$INFRA/hdfs/ui:$INFRA/hdfs/libs/*")
}

hdfs_prepare() {
  fetch_libs hdfs
  local conf="$INFRA/hdfs/conf"
  mkdir -p "$conf" "$INFRA/hdfs/name" "$INFRA/hdfs/data" "$INFRA/hdfs/tmp" "$LOGS"
  render "$TPL/hdfs/conf/core-site.xml" "$conf/core-site.xml"
  render "$TPL/hdfs/conf/hdfs-site.xml" "$conf/hdfs-site.xml"
  cp "$TPL/hdfs/conf/log4j.properties" "$TPL/hdfs/conf/log4j2.properties" "$conf/"
  # HttpServer2 refuses to start unless webapps/<name> is on the classpath, and the main
  # hadoop-hdfs jar has none. Take the UI files from the test-jar (then drop it: test classes do
  # not belong on the daemon classpath); empty dirs would also do for WebHDFS and /jmx.
  local ui="$INFRA/hdfs/ui" tj
  for tj in "$INFRA"/hdfs/libs/hadoop-hdfs-*-tests.jar; do
    [[ -f "$tj" ]] || continue; rm -rf "$ui"; mkdir -p "$ui"
    (cd "$ui" && if command -v unzip >/dev/null; then unzip -q "$tj" 'webapps/*'; else jar xf "$tj" webapps; fi) \
      || log "hdfs: could not extract the web UI from $tj (WebHDFS still works)"
    rm -f "$tj"
  done
  mkdir -p "$ui/webapps/hdfs" "$ui/webapps/datanode" "$ui/webapps/static"
  if [[ ! -f "$INFRA/hdfs/name/current/VERSION" ]]; then
    # a new namespace gets a new clusterID: old DataNode blocks would be refused, so drop them
    log "hdfs: formatting NameNode (and clearing $INFRA/hdfs/data)"
    rm -rf "$INFRA/hdfs/data"; mkdir -p "$INFRA/hdfs/data"
    hdfs_java 256m namenode_format
    "${JCMD[@]}" "$NN_MAIN" -format -force -nonInteractive \
      >"$LOGS/namenode-format.log" 2>&1 || fail_with_log "hdfs: NameNode format failed" "$LOGS/namenode-format.log"
  fi
}

jmx() { curl -sf --max-time 3 "$NN_HTTP/jmx?qry=Hadoop:service=NameNode,name=$1"; }
nn_up() { jmx FSNamesystemState >/dev/null; }
hdfs_ready() {
  local live safemode
  live="$(jmx FSNamesystemState | grep -Eo '"NumLiveDataNodes" *: *[0-9]+' | grep -Eo '[0-9]+$')" || return 1
  safemode="$(jmx NameNodeInfo | grep -Eo '"Safemode" *: *"[^"]*"' | sed 's/.*: *//')" || return 1
  [[ "$live" -ge 1 && "$safemode" == '""' ]]
}

# WebHDFS write + read round trip, following the 307 redirect to the DataNode by hand.
hdfs_roundtrip() {
  local url="$NN_HTTP/webhdfs/v1/.services-check" q="user.name=${USER:-root}" loc body
  loc="$(curl -sf --max-time 10 -o /dev/null -w '%{redirect_url}' -X PUT "$url?op=CREATE&overwrite=true&$q")" || return 1
  [[ "$loc" == http://127.0.0.1:9864/* ]] || { log "hdfs: unexpected WebHDFS redirect '$loc'"; return 1; }
  curl -sf --max-time 10 -o /dev/null -X PUT -H 'Content-Type: application/octet-stream' \
    --data-binary "ok $$" "$loc" || return 1
  body="$(curl -sfL --max-time 10 "$url?op=OPEN&$q")" || return 1
  curl -sf --max-time 10 -o /dev/null -X DELETE "$url?op=DELETE&$q" || true
  [[ "$body" == "ok $$" ]]
}

hdfs_start() {
  local t0; t0="$(now)"
  hdfs_prepare
  hdfs_java 512m namenode
  launch namenode 9870 "$NN_MAIN" "${JCMD[@]}" "$NN_MAIN"
  wait_for namenode "$NN_MAIN" "NameNode JMX on 9870" nn_up
  hdfs_java 384m datanode
  launch datanode 9864 "$DN_MAIN" "${JCMD[@]}" "$DN_MAIN"
  wait_for datanode "$DN_MAIN" ">=1 live DataNode and safemode off" hdfs_ready
  wait_for datanode "$DN_MAIN" "WebHDFS write+read round trip" hdfs_roundtrip
  log "hdfs: ready in $(since "$t0")s (rpc hdfs://127.0.0.1:9000, webhdfs $NN_HTTP)"
}

# ------------------------------------------------------------------ Kafka
KAFKA_MAIN=kafka.Kafka

kafka_java() {  # -> java command line (without heap/main) in array JCMD
  JCMD=(java "-Dlog4j2.configurationFile=$TPL/kafka/log4j2.properties" "-Dkafka.logs.dir=$LOGS"
        -cp "$INFRA/kafka/libs/*")
}

kafka_prepare() {
  fetch_libs kafka
  mkdir -p "$INFRA/kafka/data" "$LOGS"
  render "$TPL/kafka/server.properties" "$INFRA/kafka/server.properties"
  if [[ ! -f "$INFRA/kafka/data/meta.properties" ]]; then
    log "kafka: formatting storage"
    kafka_java
    [[ -s "$INFRA/kafka/cluster.id" ]] || "${JCMD[@]}" -Xmx256m kafka.tools.StorageTool random-uuid \
      2>/dev/null | tail -n 1 >"$INFRA/kafka/cluster.id"
    "${JCMD[@]}" -Xmx256m kafka.tools.StorageTool format -t "$(cat "$INFRA/kafka/cluster.id")" \
      -c "$INFRA/kafka/server.properties" --ignore-formatted >"$LOGS/kafka-format.log" 2>&1 \
      || fail_with_log "kafka: storage format failed" "$LOGS/kafka-format.log"
  fi
}

# A real metadata request with kafka-python when the project venv has it; otherwise TCP + log line.
kafka_ready() {
  local py="$REPO/.venv/bin/python"
  if [[ -x "$py" ]] && "$py" -c 'import kafka' 2>/dev/null; then
    timeout 30 "$py" - <<'EOF' 2>/dev/null
from kafka import KafkaAdminClient
a = KafkaAdminClient(bootstrap_servers="127.0.0.1:9092", request_timeout_ms=5000, bootstrap_timeout_ms=3000)
try:
    assert a.describe_cluster()["brokers"]; a.list_topics()
finally:
    a.close()
EOF
  else
    port_open 9092 && grep -q "Kafka Server started" "$LOGS/kafka.log"
  fi
}

kafka_start() {
  local t0; t0="$(now)"
  kafka_prepare
  kafka_java
  launch kafka 9092 "$KAFKA_MAIN" "${JCMD[@]}" -Xms512m -Xmx512m -server -XX:+UseG1GC \
    -XX:MaxGCPauseMillis=20 -XX:InitiatingHeapOccupancyPercent=35 -XX:+ExplicitGCInvokesConcurrent \
    -XX:MaxInlineLevel=15 -Djava.awt.headless=true "$KAFKA_MAIN" "$INFRA/kafka/server.properties"
  wait_for kafka "$KAFKA_MAIN" "metadata request on 127.0.0.1:9092" kafka_ready
  log "kafka: ready in $(since "$t0")s (bootstrap 127.0.0.1:9092)"
}

# ------------------------------------------------------------------ Spark standalone
SPARK_MASTER_MAIN=org.apache.spark.deploy.master.Master
SPARK_WORKER_MAIN=org.apache.spark.deploy.worker.Worker
SPARK_MASTER_URL=spark://127.0.0.1:7077
SPARK_MASTER_UI=http://127.0.0.1:8480

spark_class() {  # -> path of pyspark's spark-class
  local py="$REPO/.venv/bin/python" home
  if [[ -n "${SPARK_HOME:-}" && -x "$SPARK_HOME/bin/spark-class" ]]; then echo "$SPARK_HOME/bin/spark-class"; return 0; fi
  [[ -x "$py" ]] || die "spark: $py not found (run scripts/install.sh)"
  home="$("$py" -c 'from pyspark.find_spark_home import _find_spark_home; print(_find_spark_home())' 2>/dev/null)" \
    || die "spark: pyspark is not installed in $REPO/.venv"
  [[ -x "$home/bin/spark-class" ]] || die "spark: no spark-class in $home/bin"
  echo "$home/bin/spark-class"
}

# Alive workers registered with the master, from its JSON status page.
spark_alive_workers() { curl -sf --max-time 3 "$SPARK_MASTER_UI/json/" | grep -Eo '"aliveworkers" *: *[0-9]+' | grep -Eo '[0-9]+$'; }
spark_master_up() { port_open 7077 && spark_alive_workers >/dev/null; }
spark_worker_up() { local n; n="$(spark_alive_workers)" || return 1; [[ "$n" -ge 1 ]]; }

spark_start() {
  local t0 sc; t0="$(now)"
  sc="$(spark_class)"
  mkdir -p "$INFRA/spark/work" "$INFRA/spark/tmp" "$LOGS"
  # daemons bind to loopback; executors run this project's Python (the driver may override it per job)
  export SPARK_LOCAL_IP=127.0.0.1 SPARK_LOG_DIR="$LOGS" SPARK_WORKER_DIR="$INFRA/spark/work" \
         SPARK_DAEMON_MEMORY=256m PYSPARK_PYTHON="${PYSPARK_PYTHON:-$REPO/.venv/bin/python}" \
         SPARK_DAEMON_JAVA_OPTS="-Djava.io.tmpdir=$INFRA/spark/tmp"
  launch spark-master 8480 "$SPARK_MASTER_MAIN" "$sc" "$SPARK_MASTER_MAIN" \
    --host 127.0.0.1 --port 7077 --webui-port 8480
  wait_for spark-master "$SPARK_MASTER_MAIN" "master on $SPARK_MASTER_URL and its JSON status" spark_master_up
  launch spark-worker 8481 "$SPARK_WORKER_MAIN" "$sc" "$SPARK_WORKER_MAIN" "$SPARK_MASTER_URL" \
    --host 127.0.0.1 --webui-port 8481 --cores "${ORYXPY_SPARK_WORKER_CORES:-2}" \
    --memory "${ORYXPY_SPARK_WORKER_MEMORY:-4g}" --work-dir "$INFRA/spark/work"
  wait_for spark-worker "$SPARK_WORKER_MAIN" ">=1 alive worker registered with the master" spark_worker_up
  log "spark: ready in $(since "$t0")s (master $SPARK_MASTER_URL, web UI $SPARK_MASTER_UI)"
}

# ------------------------------------------------------------------ stop / status
stop_one() {  # <name> <main class>
  local pid i
  if ! pid="$(live_pid "$1" "$2")"; then rm -f "$INFRA/$1.pid"; log "$1: not running"; return 0; fi
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < 20; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 1; done
  if kill -0 "$pid" 2>/dev/null; then log "$1: still alive after 20 s, sending KILL"; kill -KILL "$pid" || true; fi
  rm -f "$INFRA/$1.pid"; log "$1: stopped (pid $pid)"
}

status_one() {  # <name> <main class> <port>; returns 1 if not running
  local pid
  if pid="$(live_pid "$1" "$2")" && port_open "$3"; then echo "$1: running (pid $pid, port $3)"; return 0; fi
  echo "$1: stopped"; return 1
}

# ------------------------------------------------------------------ main
cmd="${1:-}"; what="${2:-all}"
case "$what" in kafka|hdfs|spark|all) ;; *) die "unknown service '$what' (kafka|hdfs|spark)";; esac
want() { [[ "$what" == all || "$what" == "$1" ]]; }
mkdir -p "$INFRA"

case "$cmd" in
  start)
    for tool in java mvn curl; do command -v "$tool" >/dev/null || die "'$tool' not found on PATH"; done
    if want hdfs; then hdfs_start; fi      # HDFS first: on 2 cores, start the JVMs one by one
    if want kafka; then kafka_start; fi
    if want spark; then spark_start; fi
    ;;
  stop)
    if want spark; then stop_one spark-worker "$SPARK_WORKER_MAIN"; stop_one spark-master "$SPARK_MASTER_MAIN"; fi
    if want kafka; then stop_one kafka "$KAFKA_MAIN"; fi
    if want hdfs; then stop_one datanode "$DN_MAIN"; stop_one namenode "$NN_MAIN"; fi
    ;;
  status)
    rc=0
    if want hdfs; then status_one namenode "$NN_MAIN" 9870 || rc=3; status_one datanode "$DN_MAIN" 9864 || rc=3; fi
    if want kafka; then status_one kafka "$KAFKA_MAIN" 9092 || rc=3; fi
    if want spark; then
      status_one spark-master "$SPARK_MASTER_MAIN" 7077 || rc=3
      status_one spark-worker "$SPARK_WORKER_MAIN" 8481 || rc=3
    fi
    exit "$rc"
    ;;
  *) echo "usage: $0 start|stop|status [kafka|hdfs|spark]" >&2; exit 2 ;;
esac
