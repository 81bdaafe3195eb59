#!/usr/bin/env bash
# Fetch the spark-sql-kafka connector jars (and the three jars it needs beyond pyspark) into .infra/spark-kafka.
#
#   bash scripts/fetch-spark-kafka.sh        (idempotent: does nothing once .infra/spark-kafka/.complete exists)
#
# The Spark engine of the batch layer passes these jars as spark.jars; without the folder it falls back to
# spark.jars.packages, which resolves them from Maven Central when the job starts. Env: ORYXPY_INFRA_DIR.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
INFRA="${ORYXPY_INFRA_DIR:-$REPO/.infra}"
DIR="$INFRA/spark-kafka"
JARS="spark-sql-kafka-0-10_2.13,spark-token-provider-kafka-0-10_2.13,kafka-clients,commons-pool2"

[[ -f "$DIR/.complete" ]] && { echo "[spark-kafka] jars already in $DIR"; exit 0; }
command -v mvn >/dev/null || { echo "[spark-kafka] ERROR: Maven (mvn) is required" >&2; exit 1; }
started=$(date +%s)
rm -rf "$DIR" "$DIR.tmp"; mkdir -p "$INFRA/logs"
if ! mvn -B -q -f "$REPO/scripts/infra/spark-kafka/pom.xml" \
    org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy-dependencies \
    -DincludeScope=runtime -DincludeArtifactIds="$JARS" -DoutputDirectory="$DIR.tmp" \
    >"$INFRA/logs/mvn-spark-kafka.log" 2>&1; then
  echo "[spark-kafka] ERROR: Maven could not fetch the jars (Maven Central reachable?); see $INFRA/logs/mvn-spark-kafka.log" >&2
  tail -n 20 "$INFRA/logs/mvn-spark-kafka.log" >&2
  exit 1
fi
mv "$DIR.tmp" "$DIR"; touch "$DIR/.complete"
echo "[spark-kafka] $(ls "$DIR"/*.jar | wc -l) jars in $DIR after $(( $(date +%s) - started )) s"
