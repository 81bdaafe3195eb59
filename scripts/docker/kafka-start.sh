#!/usr/bin/env bash
# Entrypoint of the Kafka image: server.properties from the KAFKA_* environment (KAFKA_LOG_DIRS -> log.dirs),
# storage formatted once with $CLUSTER_ID, then the broker in the foreground. KAFKA_HEAP_OPTS sets the heap.
set -euo pipefail
conf=/opt/kafka/run/server.properties
: >"$conf"
while IFS='=' read -r name value; do
  case "$name" in KAFKA_HEAP_OPTS|KAFKA_OPTS) continue ;; KAFKA_*) ;; *) continue ;; esac
  key="${name#KAFKA_}"; key="${key,,}"; echo "${key//_/.}=$value" >>"$conf"
done < <(env)
grep -q '^log.dirs=' "$conf" || echo "log.dirs=/var/lib/kafka/data" >>"$conf"
logdir="$(sed -n 's/^log\.dirs=//p' "$conf" | cut -d, -f1)"
java_cmd=(java -Dlog4j2.configurationFile=/opt/kafka/config/log4j2.properties -Djava.awt.headless=true -cp '/opt/kafka/libs/*')
if [[ ! -f "$logdir/meta.properties" ]]; then
  : "${CLUSTER_ID:?set CLUSTER_ID (a base64 UUID) to format the storage}"
  "${java_cmd[@]}" -Xmx256m kafka.tools.StorageTool format -t "$CLUSTER_ID" -c "$conf" --ignore-formatted
fi
# shellcheck disable=SC2086
exec "${java_cmd[@]}" ${KAFKA_HEAP_OPTS:--Xms256m -Xmx512m} -XX:+UseG1GC -XX:MaxGCPauseMillis=20 kafka.Kafka "$conf"
