#!/usr/bin/env bash
# Installs Mesa's software Vulkan driver (lavapipe) new enough for Dawn, so the WebGPU backend
# runs on a machine without a GPU. Debian 12's stock Mesa 22.3 lavapipe is rejected by Dawn;
# Mesa 25 from bookworm-backports works. The backports entry reuses the URIs and Signed-By of
# the first entry of /etc/apt/sources.list.d/debian.sources. Needs root; does nothing when a
# Mesa >= 25 Vulkan driver is already installed.
set -euo pipefail
have=$(dpkg-query -W -f='${Version}' mesa-vulkan-drivers 2>/dev/null || echo 0)
if dpkg --compare-versions "$have" ge 25; then
  echo "lavapipe: mesa-vulkan-drivers $have is installed"
  exit 0
fi
src=/etc/apt/sources.list.d/debian.sources
dst=/etc/apt/sources.list.d/bookworm-backports.sources
if [ ! -f "$dst" ]; then
  if [ ! -f "$src" ]; then
    echo "install-lavapipe: $src not found; add the bookworm-backports suite to apt by hand" >&2
    exit 1
  fi
  uris=$(awk '/^URIs:/ {print; exit}' "$src")
  signed=$(awk '/^Signed-By:/ {print; exit}' "$src")
  printf 'Types: deb\n%s\nSuites: bookworm-backports\nComponents: main\n%s\n' "$uris" "$signed" > "$dst.tmp"
  mv "$dst.tmp" "$dst"
fi
apt-get update
apt-get install -y -t bookworm-backports --no-install-recommends mesa-vulkan-drivers
