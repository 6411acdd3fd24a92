#!/usr/bin/env bash
# Installs the Debian 12 packages ember builds with, skipping those already present.
# Usage: tools/install-deps.sh [extra packages...]   (as root, or with sudo available)
set -euo pipefail
packages=(cmake g++ make libopenblas-dev libtbb-dev libstb-dev doctest-dev zlib1g-dev
          nlohmann-json3-dev libcli11-dev libsleef-dev libpng-dev libturbojpeg0-dev
          libopenmpi-dev openmpi-bin iproute2 "$@")
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all packages present"
  exit 0
fi
echo "install-deps: installing ${missing[*]}"
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
