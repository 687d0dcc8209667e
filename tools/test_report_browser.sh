#!/bin/bash
# The HTML report in a real browser (issue 13): `gradcam report` on two
# bundled samples with --sanity, opened in headless Chromium through the
# DevTools protocol (tests/report/browser_check.js): no console error, every
# image decoded and at least 224 px wide, alt text everywhere; the page is
# self-contained (no http(s) URL in any src or href).  The same check must
# fail on a copy with a broken image and on one that logs an error.  The
# screenshot is kept: BUILD/report-screenshot.png.
# Usage: tools/test_report_browser.sh [BUILD_DIR]
set -u
BUILD=${1:-build}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
NODE=${NODE:-node}
pass=0; fail=0; skip=0
ok() { echo "ok   $1"; pass=$((pass + 1)); }
bad() { echo "FAIL $1"; fail=$((fail + 1)); }
finish() { echo "$pass passed, $fail failed, $skip skipped"; [ "$fail" -eq 0 ]; exit $?; }
if [ ! -x "$CHROMIUM" ] || ! command -v "$NODE" >/dev/null; then
  echo "SKIP report in a browser: needs $CHROMIUM and node (tools/deps.sh installs chromium)"
  skip=1; finish
fi
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
S="$ROOT/models/samples"
if "$BUILD/gradcam" report --quiet --sanity --out "$T/report.html" "$S/scene_01.png" "$S/scene_02.png" >"$T/out.txt" 2>&1; then
  ok "gradcam report wrote the page"
else
  bad "gradcam report: $(tail -n 3 "$T/out.txt")"; finish
fi
if grep -Eiq '(src|href)="(https?:)?//' "$T/report.html"; then bad "the page refers to the network"; else ok "no http(s) URL in any src or href"; fi
n_img=$(grep -o '<img ' "$T/report.html" | wc -l)
n_data=$(grep -o '<img src="data:image/' "$T/report.html" | wc -l)
[ "$n_img" -gt 0 ] && [ "$n_img" -eq "$n_data" ] && ok "$n_img images, all inline data: URIs" || bad "$n_data of $n_img images inline"
grep -q '<svg class="plot" role="img"' "$T/report.html" && ok "plots are inline SVG" || bad "no inline SVG plot"
if "$NODE" "$ROOT/tests/report/browser_check.js" "$T/report.html" --screenshot "$BUILD/report-screenshot.png" \
    --clip-height 1500 --scale 0.6 >"$T/check.txt" 2>&1; then
  ok "chromium: $(grep -c '^ok' "$T/check.txt") checks ($(sed -n 's/^ok   \([0-9/]* images decoded\).*/\1/p' "$T/check.txt"))"
else
  bad "chromium: $(grep -v '^ok' "$T/check.txt" | head -n 5 | tr '\n' ' ')"
fi
[ -s "$BUILD/report-screenshot.png" ] && ok "screenshot kept: $BUILD/report-screenshot.png" || bad "no screenshot"
# the check can fail: a broken image, and a page that logs an error
sed '0,/base64,\/9j\//s//base64,AAAA/' "$T/report.html" >"$T/broken.html"
if "$NODE" "$ROOT/tests/report/browser_check.js" "$T/broken.html" >"$T/b.txt" 2>&1; then bad "a broken image went unnoticed"
else grep -q 'FAIL.*images decoded' "$T/b.txt" && ok "a broken image is caught" || bad "broken image: $(cat "$T/b.txt")"; fi
sed 's|</body>|<script>console.error("deliberate")</script></body>|' "$T/report.html" >"$T/noisy.html"
if "$NODE" "$ROOT/tests/report/browser_check.js" "$T/noisy.html" >"$T/n.txt" 2>&1; then bad "a console error went unnoticed"
else grep -q 'FAIL no console errors' "$T/n.txt" && ok "a console error is caught" || bad "console error: $(cat "$T/n.txt")"; fi
finish
