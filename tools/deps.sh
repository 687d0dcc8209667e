#!/bin/sh
# Installs the Debian 12 packages gradcam needs to build, test and run its tools.
# Only missing packages are installed; run as root (or with sudo available).
set -e
PKGS="build-essential cmake pkg-config protobuf-c-compiler libprotobuf-c-dev libonnx-dev
libonnx-testdata libdnnl-dev libpng-dev libjpeg-dev python3-torch python3-torchvision
python3-onnx python3-numpy dataset-fashion-mnist clang libclang-rt-14-dev
python3-pytest python3-setuptools python3-wheel python3-pip python3-venv python3-pil
slurm-wlm munge chromium nodejs valgrind"
missing=""
# npm (tests/models' onnxruntime oracle): Debian's package, unless a nodejs
# that bundles npm is already installed (the two conflict)
command -v npm >/dev/null 2>&1 || PKGS="$PKGS npm"
for p in $PKGS; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "deps: installing$missing"
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO=sudo
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing
