#!/usr/bin/env bash
# Fetch the released Oryx 2.8.0 serving layer (ALS app) and ZooKeeper 3.5.9 from Maven Central into .infra/oryx,
# and compile two small classes (scripts/infra/oryx/src): the launcher that stands in for Oryx's unpublished
# oryx-serving module, and a standalone ZooKeeper holding the topics' nodes that Oryx checks.
#
#   bash scripts/fetch-oryx.sh        (idempotent: does nothing once .infra/oryx/.complete exists)
#
# Result: .infra/oryx/lib/*.jar (91 jars, 58 MB) and .infra/oryx/classes. Used by tests/interop only.
# Env: ORYXPY_INFRA_DIR (default .infra).
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
INFRA="${ORYXPY_INFRA_DIR:-$REPO/.infra}"
DIR="$INFRA/oryx"

[[ -f "$DIR/.complete" ]] && { echo "[oryx] Oryx 2.8.0 already in $DIR"; exit 0; }
command -v mvn >/dev/null || { echo "[oryx] ERROR: Maven (mvn) is required" >&2; exit 1; }
command -v javac >/dev/null || { echo "[oryx] ERROR: a JDK (javac) 17+ is required" >&2; exit 1; }
started=$(date +%s)
rm -rf "$DIR" "$DIR.tmp"; mkdir -p "$INFRA/logs" "$DIR.tmp/classes"
log="$INFRA/logs/mvn-oryx.log"
if ! mvn -B -q -f "$REPO/scripts/infra/oryx/pom.xml" \
    org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy-dependencies \
    -DincludeScope=runtime -DoutputDirectory="$DIR.tmp/lib" >"$log" 2>&1; then
  echo "[oryx] ERROR: Maven could not fetch Oryx 2.8.0 (Maven Central reachable?); see $log" >&2
  tail -n 20 "$log" >&2
  exit 1
fi
if ! javac -nowarn -d "$DIR.tmp/classes" -cp "$DIR.tmp/lib/*" "$REPO"/scripts/infra/oryx/src/*.java >>"$log" 2>&1; then
  echo "[oryx] ERROR: could not compile the Oryx launcher; see $log" >&2
  tail -n 20 "$log" >&2
  exit 1
fi
mv "$DIR.tmp" "$DIR"; touch "$DIR/.complete"
echo "[oryx] $(ls "$DIR"/lib/*.jar | wc -l) jars in $DIR after $(( $(date +%s) - started )) s"
