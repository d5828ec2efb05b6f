#!/usr/bin/env bash
# The record run (test/sim/README.md): for each invariant, the first seed that breaks it when every
# other invariant is only noted, with its minimal replay. For code with known defects; CI runs the
# strict spec instead. Usage: test/sim/record.sh [seeds] [invariant...]
set -u
cd "$(dirname "$0")/../.."
ALL=(envelope monotonic snapshot-consistent convergence spin invalidate-answered leak code-shape internal-error call-after-close timer-after-close)
SEEDS=${1:-200}
shift || true
TARGETS=("${@:-${ALL[@]}}")
for target in "${TARGETS[@]}"; do
  others=$(printf '%s\n' "${ALL[@]}" | grep -vx "$target" | paste -sd, -)
  echo "## $target"
  node --conditions=@hush/source test/sim/run.cjs --seeds "$SEEDS" --first --tolerate "$others" | grep -v '^tolerated'
done
