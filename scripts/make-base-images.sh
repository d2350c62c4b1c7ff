#!/usr/bin/env bash
# Builds the local stand-ins for the public base images, since no image registry is reachable here:
#   localhost/embedbench-debian-base:bookworm  Debian bookworm minbase + this host's CA bundle
#                                              (stands in for the runtime base of the CPU image)
#   localhost/embedbench-node-base:20          the same + this host's node and npm, laid out as in
#                                              the official node image (stands in for NODE_IMAGE)
# The debootstrapped rootfs is cached as a tarball under .cache/base-images, and images that already
# exist for the same node version are kept, so reruns take seconds. Needs root (debootstrap, podman).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/apt.sh

DEBIAN_IMAGE=localhost/embedbench-debian-base:bookworm
NODE_IMAGE=localhost/embedbench-node-base:20
CACHE_DIR=.cache/base-images
ROOTFS_TARBALL=$CACHE_DIR/bookworm-minbase.tar
HOST_CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt
host_node_version=$(node --version)

command -v podman >/dev/null || bash scripts/setup-podman.sh

if podman image exists "$DEBIAN_IMAGE" && podman image exists "$NODE_IMAGE" \
  && [ "$(podman image inspect --format '{{index .Labels "embedbench.node-version"}}' "$NODE_IMAGE")" = "$host_node_version" ]; then
  echo "make-base-images: $DEBIAN_IMAGE and $NODE_IMAGE (node $host_node_version) already exist"
  exit 0
fi

if [ ! -s "$ROOTFS_TARBALL" ]; then
  command -v debootstrap >/dev/null || apt_install debootstrap
  # The Debian mirror this machine's apt already uses (deb822 .sources or one-line .list entries).
  mirror=$( (grep -hoE 'https?://[^ ]+/debian/?( |$)' /etc/apt/sources.list /etc/apt/sources.list.d/* 2>/dev/null || true) \
    | awk '!/security/ { print $1; exit }')
  [ -n "$mirror" ] || { echo "make-base-images: no Debian mirror found in /etc/apt" >&2; exit 1; }
  mkdir -p "$CACHE_DIR"
  rootfs=$(mktemp -d "$CACHE_DIR/rootfs.XXXXXX")
  trap 'rm -rf "$rootfs"' EXIT
  echo "make-base-images: debootstrap bookworm from $mirror"
  debootstrap --variant=minbase bookworm "$rootfs" "$mirror" >"$CACHE_DIR/debootstrap.log" 2>&1 \
    || { echo "make-base-images: debootstrap failed, see $CACHE_DIR/debootstrap.log" >&2; exit 1; }
  rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
  tar -C "$rootfs" -cf "$ROOTFS_TARBALL.partial" .
  mv "$ROOTFS_TARBALL.partial" "$ROOTFS_TARBALL"
  rm -rf "$rootfs"
  trap - EXIT
fi

# Both images: the cached rootfs plus the host CA bundle (npm in a build reaches the registry only
# when it trusts this machine's CAs). The node image adds node and npm where the official image has them.
staging=$(mktemp -d)
trap 'rm -rf "$staging"' EXIT
tar -C "$staging" -xf "$ROOTFS_TARBALL"
mkdir -p "$staging/etc/ssl/certs"
cp "$HOST_CA_BUNDLE" "$staging/etc/ssl/certs/ca-certificates.crt"
common_changes=(--change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' --change 'CMD ["/bin/bash"]')
tar -C "$staging" -c . | podman import --quiet "${common_changes[@]}" - "$DEBIAN_IMAGE" >/dev/null

npm_dir=$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")")
cp "$(readlink -f "$(command -v node)")" "$staging/usr/local/bin/node"
mkdir -p "$staging/usr/local/lib/node_modules"
cp -a "$npm_dir" "$staging/usr/local/lib/node_modules/npm"
ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$staging/usr/local/bin/npm"
ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$staging/usr/local/bin/npx"
tar -C "$staging" -c . | podman import --quiet "${common_changes[@]}" \
  --change "LABEL embedbench.node-version=$host_node_version" - "$NODE_IMAGE" >/dev/null

echo "make-base-images: built $DEBIAN_IMAGE and $NODE_IMAGE (node $host_node_version)"
