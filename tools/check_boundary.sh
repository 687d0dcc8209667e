#!/bin/bash
# The library's clients use only its public headers (issue 11).  CMake already
# refuses an internal include in the CLI (src/ is not on its include path);
# this check also covers bench/, examples/ and python/ and says which line.
#   - C files of cli/, bench/, examples/ include only <system> headers, the
#     public include/*.h, and headers that sit beside them in the same folder;
#   - every gcam_* function the Python package binds (python/gradcam/*.py) is
#     declared GCAM_API in include/;
#   - and, as a self-test, that a probe including gcam_internal.h from cli/ fails.
# Usage: tools/check_boundary.sh [ROOT]  (prints "N passed, N failed, 0 skipped")
set -u
ROOT=${1:-$(cd "$(dirname "$0")/.." && pwd)}
cd "$ROOT" || exit 1
pass=0; fail=0
ok() { pass=$((pass + 1)); }
bad() { echo "FAIL $*"; fail=$((fail + 1)); }

public=$(cd include && ls *.h)
for dir in cli bench examples; do
  [ -d "$dir" ] || continue
  for f in "$dir"/*.c "$dir"/*.h; do
    [ -f "$f" ] || continue
    while IFS=: read -r line inc; do
      name=$(echo "$inc" | sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/p')
      [ -n "$name" ] || continue
      if echo "$public" | grep -qx "$name" || [ -f "$dir/$name" ]; then ok
      else bad "$f:$line includes \"$name\", not a public header (include/) nor one of $dir/"; fi
    done < <(grep -n '^[[:space:]]*#[[:space:]]*include[[:space:]]*"' "$f")
  done
done

# the Python package binds by name through ctypes: each name must be public
declared=$(grep -ohE 'GCAM_API[^(]*\(' include/*.h | grep -oE 'gcam_[a-z0-9_]+' | sort -u)
for fn in $(grep -ohE '\blib\.gcam_[a-z0-9_]+|"gcam_[a-z0-9_]+"' python/gradcam/*.py 2>/dev/null |
            grep -oE 'gcam_[a-z0-9_]+' | sort -u); do
  if echo "$declared" | grep -qx "$fn"; then ok; else bad "python/ binds $fn, which include/ does not declare GCAM_API"; fi
done

# the check itself must be able to fail: a client that reaches into src/
if [ -z "${GCAM_BOUNDARY_SELFTEST:-}" ]; then
  tmp=$(mktemp -d)
  mkdir -p "$tmp/include" "$tmp/cli"
  cp include/*.h "$tmp/include/"
  printf '#include "gcam.h"\n#include "gcam_internal.h"\n' > "$tmp/cli/probe.c"
  if GCAM_BOUNDARY_SELFTEST=1 bash "$0" "$tmp" > "$tmp/log" 2>&1; then bad "self-test: an include of gcam_internal.h in cli/ passed"
  elif grep -q 'cli/probe.c:2 includes "gcam_internal.h"' "$tmp/log"; then ok
  else bad "self-test: unexpected output: $(head -c 200 "$tmp/log")"; fi
  rm -rf "$tmp"
fi

echo "$pass passed, $fail failed, 0 skipped"
[ "$fail" -eq 0 ]
