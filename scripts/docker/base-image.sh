#!/usr/bin/env bash
# Build a Debian bookworm base image locally (debootstrap + docker import), for machines that cannot pull images.
#
#   bash scripts/docker/base-image.sh [TAG]      (default oryxpy-base:bookworm; nothing to do if TAG exists)
#   ORYX_BASE_REBUILD=1 bash scripts/docker/base-image.sh     (build it again)
#
# The image carries this machine's package-client settings so that builds on it reach the package registries
# as the host does: the Debian sources and Acquire/proxy settings of apt, the CA certificates added under
# /usr/local/share/ca-certificates, /etc/pip.conf, and the pip/proxy/CA environment variables that are set.
# Then: ORYX_BASE_IMAGE=TAG docker compose up -d --build     Needs root, debootstrap and a running dockerd.
set -euo pipefail

TAG="${1:-oryxpy-base:bookworm}"
SOURCES=/etc/apt/sources.list.d/debian.sources
MIRROR="${ORYX_DEBIAN_MIRROR:-$( (grep -m1 -E '^URIs:.*/debian/?$' "$SOURCES" 2>/dev/null || true) | awk '{print $2}')}"
MIRROR="${MIRROR:-http://deb.debian.org/debian}"
log() { echo "[base-image] $*"; }

if [[ -z "${ORYX_BASE_REBUILD:-}" ]] && docker image inspect "$TAG" >/dev/null 2>&1; then
  log "$TAG exists (ORYX_BASE_REBUILD=1 builds it again)"; exit 0
fi
command -v debootstrap >/dev/null || { echo "[base-image] ERROR: debootstrap is missing (apt-get install debootstrap)" >&2; exit 1; }
[[ $(id -u) -eq 0 ]] || { echo "[base-image] ERROR: debootstrap needs root" >&2; exit 1; }

started=$(date +%s)
root="$(mktemp -d /var/tmp/oryx-rootfs.XXXXXX)"
trap 'rm -rf "$root"' EXIT
log "debootstrap bookworm from $MIRROR into $root"
debootstrap --variant=minbase --include=ca-certificates bookworm "$root" "$MIRROR" >"$root.log" 2>&1 \
  || { tail -n 30 "$root.log" >&2; rm -f "$root.log"; echo "[base-image] ERROR: debootstrap failed" >&2; exit 1; }
rm -f "$root.log"

# apt: the host's Debian sources (with updates and security) and its Acquire/proxy settings
if [[ -f $SOURCES ]]; then
  cp "$SOURCES" "$root/etc/apt/sources.list.d/debian.sources"; rm -f "$root/etc/apt/sources.list"
fi
for f in /etc/apt/apt.conf.d/* /etc/apt/auth.conf.d/*; do   # not the index/appstream settings of desktop tools
  [[ -f $f ]] && grep -qiE 'proxy|check-valid-until|check-date|cainfo|verify-peer|^machine ' "$f" \
    && ! grep -qi 'IndexTargets' "$f" && cp "$f" "$root$f"
done
# TLS: the extra CA certificates of this machine (a registry mirror or an egress proxy may need them)
if compgen -G "/usr/local/share/ca-certificates/*.crt" >/dev/null; then
  cp /usr/local/share/ca-certificates/*.crt "$root/usr/local/share/ca-certificates/"
  chroot "$root" update-ca-certificates >/dev/null
fi
# pip and Maven settings, where the host has them
[[ -f /etc/pip.conf ]] && cp /etc/pip.conf "$root/etc/pip.conf"
[[ -f /root/.m2/settings.xml ]] && mkdir -p "$root/etc/oryx" && cp /root/.m2/settings.xml "$root/etc/oryx/maven-settings.xml"
chroot "$root" apt-get clean
rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin

changes=(--change 'CMD ["/bin/bash"]' --change 'ENV LANG=C.UTF-8'
         --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin')
for var in http_proxy https_proxy no_proxy HTTP_PROXY HTTPS_PROXY NO_PROXY PIP_INDEX_URL PIP_EXTRA_INDEX_URL \
           PIP_TRUSTED_HOST PIP_CERT PIP_DEFAULT_TIMEOUT SSL_CERT_FILE SSL_CERT_DIR REQUESTS_CA_BUNDLE CURL_CA_BUNDLE \
           MAVEN_OPTS; do
  [[ -n "${!var:-}" ]] && changes+=(--change "ENV $var=${!var}")
done
tar -C "$root" -c . | docker import "${changes[@]}" - "$TAG" >/dev/null
log "built $TAG in $(( $(date +%s) - started )) s"
