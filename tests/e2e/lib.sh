# Shared by the e2e scripts (source "$(dirname "$0")/lib.sh").
export OMP_NUM_THREADS=1 OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
PY=/usr/bin/python3
failures=0

# check NAME COMMAND...: runs COMMAND, prints PASS/FAIL and counts failures.
check() {
  local name=$1; shift
  echo "CHECK: $name"
  if "$@"; then echo "PASS: $name"; else echo "FAIL: $name"; failures=$((failures + 1)); fi
}

# Kills whatever still runs with DIR in its command line, then removes DIR.
kill_and_remove() {
  local pids; pids=$(pgrep -f "$1/" || true)
  [ -n "$pids" ] && kill -9 $pids 2>/dev/null || true
  rm -rf "$1"
}
