#!/usr/bin/env bash
# Installs the Debian 12 packages shmq needs, if any is missing. Idempotent; needs root only
# when something is missing.
set -euo pipefail

packages=(
  g++ clang clang-format clang-tidy libclang-rt-14-dev cmake ninja-build pkg-config python3
  libboost-dev librapidcheck-dev libgtest-dev libgmock-dev libbenchmark-dev
  libcli11-dev nlohmann-json3-dev libfmt-dev
  libzmq3-dev cppzmq-dev iceoryx libiceoryx-posh-dev libiceoryx-hoofs-dev
  python3-matplotlib valgrind python3-dev pybind11-dev python3-pytest
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "setup: installing ${missing[*]}"
if [ "$(id -u)" -ne 0 ]; then
  echo "setup: these Debian packages are missing and this is not root: ${missing[*]}" >&2
  echo "setup: run as root, or: sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
