#!/usr/bin/env bash
# Makes onnxruntime's WebGPU provider (Dawn over Vulkan) runnable without a GPU: Mesa's lavapipe
# software Vulkan driver, from bookworm-backports (Dawn refuses bookworm's Mesa 22.3: it lacks
# shaderUniform*ArrayDynamicIndexing). The driver is unpacked into .cache/lavapipe, not over the
# system's Mesa; its dependencies come from bookworm's own mesa-vulkan-drivers. Prints the ICD file;
# scripts/run-tests.mjs and `embedbench doctor` find it there.
# Speed on lavapipe means nothing: it proves the WebGPU code path and its parity with the CPU.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD/.cache/lavapipe"
ICD="$ROOT/lvp_icd.json"
MESA_VERSION=25.0.7-2~bpo12+1

if [ -f "$ICD" ] && [ -f "$ROOT/usr/lib/x86_64-linux-gnu/libvulkan_lvp.so" ]; then
  echo "setup-lavapipe: $ICD (Mesa $MESA_VERSION)"
  exit 0
fi
source "$(dirname "$0")/lib/apt.sh"
# The Vulkan loader, and the libraries Mesa 25's driver links against (those of bookworm's own driver
# package), without installing that package: its Mesa 22 would be the system's Vulkan driver.
apt_install --no-install-recommends libvulkan1 libllvm15 libdrm-amdgpu1 libdrm2 libelf1 libexpat1 libwayland-client0 \
  libx11-xcb1 libxcb-dri3-0 libxcb-present0 libxcb-randr0 libxcb-shm0 libxcb-sync1 libxcb-xfixes0 libxcb1 libxshmfence1 libzstd1 zlib1g

mirror=$( (cat /etc/apt/sources.list.d/*.sources /etc/apt/sources.list.d/*.list /etc/apt/sources.list 2>/dev/null || true) |
  sed -n 's/^URIs: *\(http[^ ]*debian\)$/\1/p; s/^deb \(http[^ ]*debian\) bookworm .*/\1/p' | head -n 1)
mirror=${mirror:-http://deb.debian.org/debian}
lists=$(mktemp -d)
trap 'rm -rf "$lists"' EXIT
mkdir -p "$lists/state/partial" "$lists/debs"
echo "deb $mirror bookworm-backports main" > "$lists/backports.list"
apt_options=(-oAPT::Sandbox::User=root -oDir::Etc::SourceList="$lists/backports.list" -oDir::Etc::SourceParts=/dev/null -oDir::State::Lists="$lists/state")
apt-get "${apt_options[@]}" update -qq
(cd "$lists/debs" && apt-get "${apt_options[@]}" download -qq "mesa-vulkan-drivers=$MESA_VERSION")
rm -rf "$ROOT" && mkdir -p "$ROOT"
dpkg -x "$lists"/debs/mesa-vulkan-drivers_*.deb "$ROOT"
cat > "$ICD" <<JSON
{ "file_format_version": "1.0.0",
  "ICD": { "library_path": "$ROOT/usr/lib/x86_64-linux-gnu/libvulkan_lvp.so", "api_version": "1.4.305" } }
JSON
echo "setup-lavapipe: $ICD (Mesa $MESA_VERSION)"
