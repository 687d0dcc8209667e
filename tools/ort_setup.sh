#!/bin/bash
# Installs onnxruntime-node (the second forward oracle of tests/models) into
# a cache folder outside the repository and prints its node_modules path.
#
#   tools/ort_setup.sh [CACHE_DIR]     (default ~/.cache/gradcam)
#
# npm install --ignore-scripts: the package ships its Linux x64 CPU library,
# its install script only fetches GPU builds.  Exit 1 with one line when npm
# or the registry is not reachable.
set -eu
CACHE=${1:-${XDG_CACHE_HOME:-$HOME/.cache}/gradcam}
VERSION=1.30.0
DIR="$CACHE/ort-$VERSION"
if [ -f "$DIR/node_modules/onnxruntime-node/package.json" ]; then
  echo "$DIR/node_modules"; exit 0
fi
command -v npm >/dev/null || { echo "ort_setup: npm not found (apt-get install npm)" >&2; exit 1; }
mkdir -p "$DIR"
[ -f "$DIR/package.json" ] || echo '{"name": "gradcam-ort-cache", "private": true}' > "$DIR/package.json"
if ! (cd "$DIR" && npm install --ignore-scripts --no-audit --no-fund --silent "onnxruntime-node@$VERSION" >&2); then
  echo "ort_setup: npm install onnxruntime-node@$VERSION failed" >&2; exit 1
fi
echo "$DIR/node_modules"
