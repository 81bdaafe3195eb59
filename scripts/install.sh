#!/usr/bin/env bash
# Install what oryxpy and its tests need on a fresh machine: system packages, a virtualenv in .venv, the project.
# Usage: bash scripts/install.sh            (idempotent; re-running only installs what is missing)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# Debian packages used by the tests (headless Chromium for the console test). Java 17 and Maven must exist.
APT_PACKAGES=(chromium chromium-driver)
missing=()
for pkg in "${APT_PACKAGES[@]}"; do dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg"); done
if ((${#missing[@]})); then
  if [[ $(id -u) -eq 0 ]]; then
    echo "[install] apt-get install ${missing[*]}"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    echo "[install] WARNING: missing Debian packages ${missing[*]}; install them as root (the console browser test needs them)" >&2
  fi
fi
command -v java >/dev/null || { echo "[install] ERROR: java 17+ is required for Kafka/HDFS" >&2; exit 1; }
command -v mvn >/dev/null || { echo "[install] ERROR: Maven is required to fetch the Kafka/HDFS jars" >&2; exit 1; }

[[ -x .venv/bin/python ]] || python3 -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e ".[dev,spark]"
# the Spark Kafka connector jars (Maven) for the Spark batch engine
bash scripts/fetch-spark-kafka.sh
bash scripts/fetch-oryx.sh  # the released Oryx 2.8.0 serving layer (Maven Central) for tests/interop
# The Compose Specification JSON schema (shipped inside the docker-compose 1.29.2 wheel) for tests/unit/test_compose.py.
schema=.infra/compose/compose_spec.json
if [[ ! -f $schema ]]; then
  tmp=$(mktemp -d)
  .venv/bin/python -m pip download -q --no-deps docker-compose==1.29.2 -d "$tmp"
  mkdir -p "$(dirname "$schema")"
  .venv/bin/python -c "import sys, zipfile; z = zipfile.ZipFile(sys.argv[1]); open(sys.argv[2], 'wb').write(z.read('compose/config/compose_spec.json'))" \
    "$tmp"/docker_compose-1.29.2-*.whl "$schema"
  rm -rf "$tmp"
fi
echo "[install] done: $(.venv/bin/python --version), oryxpy $(.venv/bin/python -c 'import oryxpy; print(oryxpy.__version__)')"
