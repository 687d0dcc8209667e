#!/bin/bash
# The Python package's tests, the way a user installs it (issue 14's contract):
#   /usr/bin/python3 -m venv --system-site-packages BUILD/pyenv
#   BUILD/pyenv/bin/pip install --no-build-isolation --no-index ./python
#   pytest python/tests --require-installed   (the installed copy, not python/)
# Usage: tools/run_python_tests.sh [BUILD_DIR] [pytest args...]
# Prints pytest's output, then "N passed, N failed, N skipped".
set -u
BUILD=${1:-build}
shift || true
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$(cd "$BUILD" && pwd)
ENV="$BUILD/pyenv"
fail() { echo "FAIL $*"; echo "0 passed, 1 failed, 0 skipped"; exit 1; }
[ -f "$BUILD/libgcam.so" ] || fail "$BUILD/libgcam.so is missing: run make"
/usr/bin/python3 -c "import pytest" 2>/dev/null || fail "python3-pytest is not installed (tools/deps.sh)"
if [ ! -x "$ENV/bin/pip" ]; then
  rm -rf "$ENV"
  /usr/bin/python3 -m venv --system-site-packages "$ENV" || fail "python3 -m venv (python3-venv) failed"
fi
# pip builds in place: keep its build/ and egg-info out of python/ afterwards
GCAM_BUILD_DIR="$BUILD" "$ENV/bin/pip" install --quiet --no-build-isolation --no-index --force-reinstall \
  --no-deps "$ROOT/python" || fail "pip install ./python failed"
rm -rf "$ROOT/python/build" "$ROOT/python/gradcam.egg-info"
XML=$(mktemp)
# run from BUILD so that `import gradcam` cannot pick python/ of the checkout
(cd "$BUILD" && "$ENV/bin/python" -m pytest -q -rs -p no:cacheprovider -W ignore::UserWarning \
  --junitxml="$XML" "$ROOT/python/tests" --require-installed --gradcam="$BUILD/gradcam" "$@")
rc=$?
/usr/bin/python3 - "$XML" <<'PY'
import sys, xml.etree.ElementTree as ET
try:
    r = ET.parse(sys.argv[1]).getroot()
    s = r if r.tag == "testsuite" else r.find("testsuite")
    t, f, e, k = (int(s.get(a, 0)) for a in ("tests", "failures", "errors", "skipped"))
    print("%d passed, %d failed, %d skipped" % (t - f - e - k, f + e, k))
except Exception as ex:
    print("FAIL no pytest report (%s)" % ex)
    print("0 passed, 1 failed, 0 skipped")
PY
rm -f "$XML"
exit $rc
