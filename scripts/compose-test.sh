#!/usr/bin/env bash
# End-to-end test of docker-compose.yml, as a user meets it: build every image, bring the cluster up, ingest
# ml-100k over REST, wait for the Spark batch to publish a model, ask for recommendations, crash the speed layer
# and check that its restart policy brings it back with nothing acknowledged lost, then take it all down.
#
#   bash scripts/compose-test.sh                 (root: installs docker.io/docker-compose/debootstrap if missing)
#
# Env: ORYX_BASE_IMAGE (default: oryxpy-base:bookworm, built once by scripts/docker/base-image.sh),
#      ORYX_ML100K (default ../shared/data/ml-100k beside the checkout, else /work/shared/data/ml-100k),
#      ORYX_COMPOSE_PROJECT (default oryxpy-compose-test), ORYX_COMPOSE_TIMEOUT (s to /ready, default 1200),
#      ORYX_COMPOSE_KEEP=1 leaves the cluster up; ORYX_GENERATION_INTERVAL_SEC (default 60) and
#      ORYX_EVAL_CANDIDATES (default 1: one ALS build per generation, not the 9 of the default search) for the
#      batch; host ports default to 28080 (serving), 29092 (Kafka),
#      29870 (HDFS UI), 28081 (Spark UI), 24040 (batch Spark UI) so as not to collide with services on the host.
# Prints the image build time (first build of this run, then again warm), up -> healthy -> /ready, and the total.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
t_start=$(date +%s)
log() { echo "[compose-test] $*"; }
die() { echo "[compose-test] ERROR: $*" >&2; exit 1; }
elapsed() { echo $(( $(date +%s) - $1 )); }
get_json() { curl -fs --max-time 30 -H 'Accept: application/json' "$@"; }

export ORYX_BASE_IMAGE="${ORYX_BASE_IMAGE:-oryxpy-base:bookworm}"
export COMPOSE_PROJECT_NAME="${ORYX_COMPOSE_PROJECT:-oryxpy-compose-test}"
export ORYX_SERVING_PORT="${ORYX_SERVING_PORT:-28080}" ORYX_KAFKA_PORT="${ORYX_KAFKA_PORT:-29092}" \
       ORYX_HDFS_UI_PORT="${ORYX_HDFS_UI_PORT:-29870}" ORYX_SPARK_UI_PORT="${ORYX_SPARK_UI_PORT:-28081}" \
       ORYX_BATCH_UI_PORT="${ORYX_BATCH_UI_PORT:-24040}" ORYX_GENERATION_INTERVAL_SEC="${ORYX_GENERATION_INTERVAL_SEC:-60}" \
       ORYX_EVAL_CANDIDATES="${ORYX_EVAL_CANDIDATES:-1}"
TIMEOUT="${ORYX_COMPOSE_TIMEOUT:-1200}"
URL="http://127.0.0.1:$ORYX_SERVING_PORT"
DATA="${ORYX_ML100K:-}"
if [[ -z "$DATA" ]]; then
  for d in ../shared/data/ml-100k /work/shared/data/ml-100k; do [[ -f $d/u.data ]] && { DATA=$d; break; }; done
fi
[[ -n "$DATA" && -f "$DATA/u.data" ]] || die "ml-100k not found (set ORYX_ML100K to the folder holding u.data)"
WORK="$(mktemp -d)"

# ------------------------------------------------------------------ tools: dockerd, compose, debootstrap
apt_install() {
  [[ $(id -u) -eq 0 ]] || die "missing $*: install them as root"
  log "apt-get install $*"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}
need=()
command -v dockerd >/dev/null || need+=(docker.io)
command -v debootstrap >/dev/null || need+=(debootstrap)
docker compose version >/dev/null 2>&1 || command -v docker-compose >/dev/null || need+=(docker-compose)
((${#need[@]} == 0)) || apt_install "${need[@]}"
if ! docker info >/dev/null 2>&1; then
  log "starting dockerd (log /var/log/oryxpy-dockerd.log)"
  nohup setsid dockerd >/var/log/oryxpy-dockerd.log 2>&1 </dev/null &
  for _ in $(seq 60); do docker info >/dev/null 2>&1 && break; sleep 1; done
  docker info >/dev/null 2>&1 || { tail -n 20 /var/log/oryxpy-dockerd.log >&2; die "dockerd did not start"; }
fi
if docker compose version >/dev/null 2>&1; then COMPOSE=(docker compose); else COMPOSE=(docker-compose); fi
log "compose: $("${COMPOSE[@]}" version | head -n 1); docker: $(docker version -f '{{.Server.Version}}')"
for port in "$ORYX_SERVING_PORT" "$ORYX_KAFKA_PORT" "$ORYX_HDFS_UI_PORT" "$ORYX_SPARK_UI_PORT" "$ORYX_BATCH_UI_PORT"; do
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then die "host port $port is in use: set the ORYX_*_PORT variables"; fi
done

dump_logs() {
  "${COMPOSE[@]}" ps || true
  "${COMPOSE[@]}" logs --no-color --tail 40 >"$WORK/compose.log" 2>&1 || true
  tail -n 200 "$WORK/compose.log" >&2 || true
}
cleanup() {
  local rc=$?
  ((rc == 0)) || dump_logs
  if [[ -z "${ORYX_COMPOSE_KEEP:-}" ]]; then "${COMPOSE[@]}" down -v --remove-orphans >/dev/null 2>&1 || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT

# ------------------------------------------------------------------ images
t0=$(date +%s)
bash scripts/docker/base-image.sh "$ORYX_BASE_IMAGE"
base_s=$(elapsed "$t0")
cold="warm"; docker image inspect oryxpy-spark:latest >/dev/null 2>&1 || cold="cold"
t0=$(date +%s); "${COMPOSE[@]}" build >"$WORK/build1.log" 2>&1 || { tail -n 60 "$WORK/build1.log" >&2; die "image build failed"; }
build1_s=$(elapsed "$t0")
t0=$(date +%s); "${COMPOSE[@]}" build >"$WORK/build2.log" 2>&1 || { tail -n 60 "$WORK/build2.log" >&2; die "image rebuild failed"; }
build2_s=$(elapsed "$t0")
log "images: base ${base_s}s, build ${build1_s}s ($cold cache), again ${build2_s}s (warm)"

# ------------------------------------------------------------------ up, healthy
"${COMPOSE[@]}" down -v --remove-orphans >/dev/null 2>&1 || true
t_up=$(date +%s)
"${COMPOSE[@]}" up -d --build >"$WORK/up.log" 2>&1 || { cat "$WORK/up.log" >&2; die "docker compose up failed"; }
until curl -fs -o /dev/null "$URL/"; do
  (( $(elapsed "$t_up") < TIMEOUT )) || die "serving did not answer on $URL/ within ${TIMEOUT}s"
  sleep 3
done
healthy_s=$(elapsed "$t_up")
log "up -> serving answering: ${healthy_s}s"

# ------------------------------------------------------------------ ingest ml-100k (user,item,rating,time in ms)
awk -F'\t' '{ printf "%s,%s,%s,%s000\n", $1, $2, $3, $4 }' "$DATA/u.data" >"$WORK/ml100k.csv"
lines=$(wc -l <"$WORK/ml100k.csv")
split -l 20000 "$WORK/ml100k.csv" "$WORK/part-"
t0=$(date +%s)
for part in "$WORK"/part-*; do
  code=$(curl -s -o "$WORK/resp" -w '%{http_code}' -X POST -H 'Content-Type: text/csv' --data-binary "@$part" "$URL/ingest")
  [[ "$code" == 204 ]] || die "POST /ingest answered $code: $(head -c 300 "$WORK/resp")"
done
log "ingested $lines ratings in $(elapsed "$t0")s"

# ------------------------------------------------------------------ a model from the Spark batch, recommendations
until [[ "$(curl -s -o /dev/null -w '%{http_code}' "$URL/ready")" == 200 ]]; do
  (( $(elapsed "$t_up") < TIMEOUT )) || die "no model loaded (/ready not 200) within ${TIMEOUT}s of up"
  sleep 5
done
ready_s=$(elapsed "$t_up")
log "up -> /ready: ${ready_s}s"
items=$(get_json "$URL/item/allIDs" | grep -Eo '"[^"]+"' | wc -l)
((items > 1000)) || die "the model has $items items; ml-100k has 1682"
rec=$(get_json "$URL/recommend/196?howMany=5") || die "/recommend/196 failed"
n=$(grep -Eo '"id" *: *"[^"]+"' <<<"$rec" | wc -l)
((n == 5)) || die "/recommend/196?howMany=5 gave $n items: $rec"
known=$(get_json "$URL/knownItems/196")
for id in $(grep -Eo '"id" *: *"[^"]+"' <<<"$rec" | sed 's/.*"\([^"]*\)"$/\1/'); do
  grep -q "\"$id\"" <<<"$known" && die "/recommend/196 recommends $id, which user 196 already rated"
done
log "model of $items items; /recommend/196: $(tr -d '\n' <<<"$rec" | head -c 200)"

# ------------------------------------------------------------------ crash the speed layer
speed=$("${COMPOSE[@]}" ps -q speed)
[[ -n "$speed" ]] || die "no speed container"
restarts=$(docker inspect -f '{{.RestartCount}}' "$speed")
# Docker counts `docker kill` as a manual stop, after which no restart policy restarts the container; a crash is
# the main process dying of SIGKILL from outside, which is what this does (as the kernel's OOM killer would).
kill -KILL "$(docker inspect -f '{{.State.Pid}}' "$speed")"
user="compose-crash-$$"
sent=()
for item in 50 100 181 258 286 288 294 300; do   # acknowledged (204) while the speed layer is down or restarting
  code=$(curl -s -o /dev/null -w '%{http_code}' -X POST "$URL/pref/$user/$item" -d 5)
  [[ "$code" == 204 ]] || die "POST /pref/$user/$item answered $code"
  sent+=("$item")
done
t0=$(date +%s)
until [[ "$(docker inspect -f '{{.State.Running}} {{.RestartCount}}' "$speed")" == "true $((restarts + 1))" ]]; do
  (( $(elapsed "$t0") < 120 )) || die "the speed container was not restarted by its restart policy"
  sleep 1
done
log "speed restarted by its restart policy after $(elapsed "$t0")s (RestartCount $((restarts + 1)))"
until got=$(get_json "$URL/knownItems/$user") && missing=$(for i in "${sent[@]}"; do grep -q "\"$i\"" <<<"$got" || echo "$i"; done) \
      && [[ -z "$missing" ]]; do
  (( $(elapsed "$t0") < 300 )) || die "after the speed restart, $user lacks acknowledged items: ${missing:-all} (known: ${got:-none})"
  sleep 3
done
curl -fs -o /dev/null "$URL/recommend/$user" || die "no recommendations for $user after the speed restart"
log "all ${#sent[@]} preferences acknowledged during the crash reached the model ($(elapsed "$t0")s after the kill)"

t0=$(date +%s)
if [[ -z "${ORYX_COMPOSE_KEEP:-}" ]]; then "${COMPOSE[@]}" down -v --remove-orphans >/dev/null 2>&1; fi
log "down -v in $(elapsed "$t0")s"
log "SUMMARY build ${build1_s}s ($cold) / ${build2_s}s (warm), up->healthy ${healthy_s}s, up->ready ${ready_s}s, total $(elapsed "$t_start")s, load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "compose: 1 passed, 0 failed"
