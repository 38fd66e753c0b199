#!/usr/bin/env bash
# Installs what building and testing Parallelize needs on Debian 12, through apt-get only.
# Idempotent: when every package is already present it does nothing and touches no network.
set -euo pipefail

PKGS=(
  build-essential cmake ninja-build ccache git pkg-config
  llvm-22-dev llvm-22-tools libmlir-22-dev mlir-22-tools clang-22 lld-22 libclang-rt-22-dev
  libopenmpi-dev openmpi-bin libopenblas-dev
  protobuf-compiler libprotobuf-dev libonnx-dev libonnx-testdata
  python3 python3-numpy python3-onnx python3-torch python3-yaml
  libgtest-dev libgmock-dev
  zlib1g-dev libzstd-dev libedit-dev libcurl4-openssl-dev
)

missing=()
for p in "${PKGS[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
