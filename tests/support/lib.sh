# Shared by the e2e scripts, which start with
#   source "$(dirname "$0")/../support/lib.sh" "$@"     # arguments: BIN_DIR SOURCE_DIR
# It sets BIN and SRC, a fresh temporary directory T (its own name, so tests
# can run in parallel; removed at exit with whatever still runs in it), the
# usual output overrides OUT, and the helpers below.
set -euo pipefail
export OMP_NUM_THREADS=1 OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
BIN=$(cd "${1:?usage: $0 BIN_DIR SOURCE_DIR}" && pwd)
SRC=$(cd "${2:?usage: $0 BIN_DIR SOURCE_DIR}" && pwd)
PY=${CDAE_PYTHON:-python3}   # CMake's Python3: the .venv of scripts/setup.sh (torch, h5py)
MPI="mpirun --oversubscribe --bind-to none"
failures=0

# Kills whatever still runs with DIR in its command line, then removes DIR.
kill_and_remove() {
  local pids; pids=$(pgrep -f "$1/" || true)
  [ -n "$pids" ] && kill -9 $pids 2>/dev/null || true
  rm -rf "$1"
}

T=$(mktemp -d "${TMPDIR:-/tmp}/cdae-$(basename "$0" .sh).XXXXXX")
trap 'kill_and_remove "$T"' EXIT
OUT=(--set path_save_model=$T/model --set path_scratch=$T/scratch --set inference.results=$T/res
     --set inference.weights=$T/model/best.h5)

# check NAME COMMAND...: runs COMMAND, prints PASS/FAIL and counts failures.
check() {
  local name=$1; shift
  echo "CHECK: $name"
  if "$@"; then echo "PASS: $name"; else echo "FAIL: $name"; failures=$((failures + 1)); fi
}

# expect_failure NAME MESSAGE COMMAND...: COMMAND must exit non-zero and print
# MESSAGE (a fixed string) on stdout or stderr.
expect_failure() {
  local name=$1 message=$2; shift 2
  local log="$T/expect_failure.log"
  echo "CHECK: $name"
  if "$@" > "$log" 2>&1; then
    echo "FAIL: $name: exited 0"; failures=$((failures + 1)); return 0
  fi
  if grep -qF -- "$message" "$log"; then
    echo "PASS: $name"
  else
    echo "FAIL: $name: no '$message' in:"; sed 's/^/    /' "$log" | head -20; failures=$((failures + 1))
  fi
}

# Ends the script with the count of failed checks.
finish() {
  if [ "$failures" -eq 0 ]; then echo "ALL CHECKS PASSED"; exit 0; fi
  echo "$failures CHECK(S) FAILED"; exit 1
}
