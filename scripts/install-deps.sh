#!/usr/bin/env bash
# Installs what building and testing Parallelize needs on Debian 12: Debian packages through
# apt-get, then Hugging Face transformers (for the export helper's --hf and its tests) from PyPI,
# pinned to a release that works with Debian's torch 1.13.
# Idempotent: when everything is already present it does nothing and touches no network.
set -euo pipefail

# transformers 4.31 is the first with Llama's grouped-query attention (num_key_value_heads) and
# still supports torch 1.13; its own dependencies that Debian lacks are pinned alongside it (the
# rest come from the Debian packages below). --no-deps: pip must not replace Debian's numpy or torch.
PIP_PKGS=(transformers==4.31.0 tokenizers==0.13.3 safetensors==0.3.1 huggingface-hub==0.16.4)

install_pip() {
  # the pinned specs whose version is not the one installed
  local need
  mapfile -t need < <(/usr/bin/python3 - "${PIP_PKGS[@]}" <<'PY'
import importlib.metadata as m, sys
for spec in sys.argv[1:]:
    name, version = spec.split("==")
    try:
        if m.version(name) == version:
            continue
    except m.PackageNotFoundError:
        pass
    print(spec)
PY
)
  if [ ${#need[@]} -gt 0 ]; then
    echo "install-deps: pip installing ${need[*]}"
    local sudo=""
    if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
    $sudo /usr/bin/python3 -m pip install -q --break-system-packages --no-deps "${need[@]}"
  fi
}

PKGS=(
  build-essential cmake ninja-build ccache git pkg-config
  llvm-22-dev llvm-22-tools libmlir-22-dev mlir-22-tools clang-22 lld-22 libclang-rt-22-dev
  libopenmpi-dev openmpi-bin libopenblas-dev libdnnl2
  protobuf-compiler libprotobuf-dev libonnx-dev libonnx-testdata
  python3 python3-numpy python3-onnx python3-torch python3-yaml
  python3-pip python3-regex python3-tqdm python3-filelock python3-packaging python3-fsspec
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
  install_pip
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
install_pip
