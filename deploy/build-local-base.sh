#!/usr/bin/env bash
# Build a Python base image from Debian's own packages, for machines that reach Debian's
# archive and PyPI but no container registry (the Dockerfile's default base, python:3.11-slim,
# cannot be pulled there):
#
#   deploy/build-local-base.sh [IMAGE]          # default IMAGE: syncd-base:bookworm
#   docker build --build-arg BASE_IMAGE=syncd-base:bookworm -t syncd:local .
#
# debootstrap --variant=minbase bookworm with python3, python3-venv and python3-pip, then a
# virtual environment in /opt/python put first on PATH, so `python` and `pip` behave as in the
# python:3.11-slim image (pip installs into a prefix of its own, not Debian's system Python),
# imported with `docker import`. Needs root, debootstrap and a running Docker engine.
# Idempotent: an IMAGE that already exists is kept (SYNCD_REBUILD_BASE=1 rebuilds it).
#
# Environment: DEBIAN_MIRROR (default http://deb.debian.org/debian), DOCKER (the docker
# client to use, default `docker`).
set -euo pipefail

IMAGE="${1:-syncd-base:bookworm}"
MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
DOCKER="${DOCKER:-docker}"

if [ -z "${SYNCD_REBUILD_BASE:-}" ] && "$DOCKER" image inspect "$IMAGE" >/dev/null 2>&1; then
  echo "$IMAGE already exists (SYNCD_REBUILD_BASE=1 rebuilds it)"
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "build-local-base.sh: debootstrap needs root" >&2
  exit 1
fi
command -v debootstrap >/dev/null || {
  echo "build-local-base.sh: debootstrap is not installed (apt-get install debootstrap)" >&2
  exit 1
}

work="$(mktemp -d /var/tmp/syncd-base.XXXXXX)"
rootfs="$work/rootfs"
cleanup() {
  # debootstrap mounts /proc (and /sys) in the rootfs: never remove through a mount.
  findmnt -rn -o TARGET | grep -F "$rootfs/" | sort -r | xargs -r -n1 umount -l 2>/dev/null || true
  rm -rf --one-file-system "$work"
}
trap cleanup EXIT

echo "debootstrap bookworm into $rootfs (from $MIRROR)"
debootstrap --variant=minbase \
  --include=python3,python3-venv,python3-pip,passwd,ca-certificates \
  bookworm "$rootfs" "$MIRROR" >"$work/debootstrap.log" 2>&1 || {
  tail -n 30 "$work/debootstrap.log" >&2
  exit 1
}

# Certificate authorities this host added locally (a TLS-inspecting proxy in front of PyPI,
# say) are trusted in the image too, so `pip install` during `docker build` verifies as it
# does here. The image's PIP_CERT below points pip at the system bundle that includes them.
if compgen -G "/usr/local/share/ca-certificates/*.crt" >/dev/null; then
  cp /usr/local/share/ca-certificates/*.crt "$rootfs/usr/local/share/ca-certificates/"
  chroot "$rootfs" update-ca-certificates >/dev/null
fi

# `python` and `pip` on PATH as in the official python images.
chroot "$rootfs" /usr/bin/python3 -m venv /opt/python
chroot "$rootfs" /opt/python/bin/python -m pip --version >/dev/null

# What an image does not need: apt's lists and caches, docs, the debootstrap log.
chroot "$rootfs" apt-get clean
rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/*.bin \
  "$rootfs"/usr/share/doc/* "$rootfs"/usr/share/man/* "$rootfs"/usr/share/info/* \
  "$rootfs"/var/log/*.log "$rootfs"/debootstrap
# The rootfs gets the resolver and hosts of the engine at run time.
: >"$rootfs/etc/resolv.conf"

echo "importing $rootfs as $IMAGE"
tar --numeric-owner -C "$rootfs" -c . | "$DOCKER" import \
  --change 'ENV PATH=/opt/python/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'ENV LANG=C.UTF-8' \
  --change 'ENV PIP_CERT=/etc/ssl/certs/ca-certificates.crt' \
  --change 'CMD ["python3"]' \
  --message "syncd base: Debian bookworm minbase with python3 (deploy/build-local-base.sh)" \
  - "$IMAGE" >/dev/null
"$DOCKER" image inspect --format "$IMAGE: {{.Size}} bytes" "$IMAGE"
