#!/usr/bin/env bash
# Failures inside a running multi-rank job (issue 3).
#   1. One rank throws (CDAE_TEST_THROW=1:3: rank 1 at epoch 3) while the others
#      wait in a collective: the whole job must end non-zero within 30 s of the
#      failure, with rank 1's message, and leave no process behind.
#   2. One poisoned step (CDAE_TEST_NAN_EPOCHS=2): skipped on every rank with one
#      "non-finite" warning; the run completes.
#   3. Too many in a row (epochs 3..7, max_nonfinite_steps=3): the run stops
#      non-zero with a clear message; last.h5 is a valid earlier checkpoint whose
#      weights are those of the last good step.
# Usage: bash test_rank_failure.sh BUILD_DIR SOURCE_DIR
source "$(dirname "$0")/../support/lib.sh" "$@"
args() {  # args DIR
  echo --config "$SRC/configs/smoke.json" --set path_save_model=$1/model --set path_scratch=$1/scratch \
       --set inference.results=$1/res
}
start=$SECONDS
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }

# ---------------------------------------------------------------- 1. a throwing rank
echo "# 1. CDAE_TEST_THROW=1:3 with 3 ranks"
t0=$(now); rc=0
CDAE_TEST_THROW=1:3 timeout 60 $MPI -np 3 "$BIN/cdae-train" $(args "$T/throw") --set epochs=20 \
  > "$T/throw.log" 2>&1 &
pid=$!
t_error=""
while kill -0 "$pid" 2>/dev/null; do
  [ -z "$t_error" ] && grep -qs "error on rank 1" "$T/throw.log" && t_error=$(now)
  sleep 0.1
done
wait "$pid" || rc=$?
t1=$(now)
[ -n "$t_error" ] || { grep -q "error on rank 1" "$T/throw.log" && t_error=$t1; } || t_error=$t1
total=$(elapsed "$t0" "$t1"); after=$(elapsed "$t_error" "$t1")
sed 's/^/    | /' "$T/throw.log" | grep -v '^    | epoch' | tail -n 8
echo "# mpirun exit $rc after $total s in all, $after s after rank 1's message"
check "mpirun exits non-zero, not by the 60 s timeout (exit $rc)" test "$rc" -ne 0 -a "$rc" -ne 124 -a "$rc" -ne 137
check "the job ends within 30 s of the failure ($after s)" awk -v a="$after" 'BEGIN { exit !(a < 30) }'
check "rank 1's message is printed" grep -q "cdae: error on rank 1: test hook CDAE_TEST_THROW: rank 1 fails at epoch 3" "$T/throw.log"
check "epochs 0..2 ran before the failure, epoch 3 was never printed" \
  test "$(grep -c '^epoch ' "$T/throw.log")" -eq 3
sleep 0.5
check "no process of the job is left" test -z "$(pgrep -f "$T/throw" || true)"

# ---------------------------------------------------------------- 2. one non-finite step
echo "# 2. CDAE_TEST_NAN_EPOCHS=2 with 2 ranks"
rc=0
CDAE_TEST_NAN_EPOCHS=2 timeout 120 $MPI -np 2 "$BIN/cdae-train" $(args "$T/nan1") --set epochs=6 \
  > "$T/nan1.log" 2>&1 || rc=$?
grep '^# warning' "$T/nan1.log" | sed 's/^/    | /' || true
check "the run completes (exit $rc)" test "$rc" -eq 0
check "exactly one 'non-finite' warning, for epoch 2" \
  test "$(grep -c 'non-finite' "$T/nan1.log")" -eq 1 -a "$(grep -c 'warning: epoch 2: non-finite' "$T/nan1.log")" -eq 1
check "all 6 epochs printed" test "$(grep -c '^epoch ' "$T/nan1.log")" -eq 6
check "epochs after the skipped step have finite losses" \
  awk '/^epoch/ && $2 > 2 { for (i = 4; i <= 12; i += 2) if ($i !~ /^-?[0-9]+\.[0-9]+$/) exit 1 }' "$T/nan1.log"

# ---------------------------------------------------------------- 3. too many in a row
echo "# 3. CDAE_TEST_NAN_EPOCHS=3,4,5,6,7, max_nonfinite_steps=3, checkpoint_every=2, 2 ranks"
rc=0
CDAE_TEST_NAN_EPOCHS=3,4,5,6,7 timeout 120 $MPI -np 2 "$BIN/cdae-train" $(args "$T/nan5") --set epochs=12 \
  --set max_nonfinite_steps=3 --set checkpoint_every=2 > "$T/nan5.log" 2>&1 || rc=$?
sed 's/^/    | /' "$T/nan5.log" | grep -v '^    | epoch' | tail -n 8
check "the run stops non-zero (exit $rc)" test "$rc" -ne 0 -a "$rc" -ne 124 -a "$rc" -ne 137
check "the message says why (3 consecutive non-finite steps, max_nonfinite_steps)" \
  grep -q "error on rank 0: 3 consecutive non-finite steps (max_nonfinite_steps)" "$T/nan5.log"
check "it stopped at epoch 5 (epochs 0..4 printed)" test "$(grep -c '^epoch ' "$T/nan5.log")" -eq 5
echo "CHECK: last.h5 is the last good checkpoint (epoch 2): loads (checksum), finite, not rewritten during the streak"
if $PY - "$T/nan5/model" <<'PY'
import sys, h5py, numpy as np
d = sys.argv[1]
with h5py.File(f"{d}/last.h5", "r") as f, h5py.File(f"{d}/last.h5.prev", "r") as p:
    e, ep = int(f.attrs["epoch"]), int(p.attrs["epoch"])
    print(f"  last.h5: epoch {e}, nonfinite_streak {int(f.attrs['nonfinite_streak'])}; last.h5.prev: epoch {ep}")
    # No checkpoint is written during the streak (epochs 3..5): last.h5 is epoch 2's, the last good step.
    assert e == 2, f"last.h5 was rewritten during the non-finite streak (epoch {e})"
    assert int(f.attrs["nonfinite_streak"]) == 0
    names = []
    f.visititems(lambda n, o: names.append(n) if isinstance(o, h5py.Dataset) else None)
    for n in names:
        assert np.all(np.isfinite(f[n][()])), f"/{n} is not finite"
PY
then
  if timeout 120 "$BIN/cdae-infer" $(args "$T/nan5") --weights "$T/nan5/model/last.h5" --set inference.n_samples=2 \
       > "$T/nan5_infer.log" 2>&1; then
    echo "    $(grep '^# weights' "$T/nan5_infer.log")"
    echo "PASS: last.h5 is a valid earlier checkpoint"
  else
    tail -n 5 "$T/nan5_infer.log"; echo "FAIL: last.h5 does not load"; failures=$((failures + 1))
  fi
else
  echo "FAIL: last.h5 is not a valid earlier checkpoint"; failures=$((failures + 1))
fi

echo "# $((SECONDS - start)) s"
if [ "$failures" -ne 0 ]; then echo "FAIL: $failures check(s) failed"; exit 1; fi
echo "PASS: a failing rank ends the job promptly; non-finite steps are skipped, then stop the run"
