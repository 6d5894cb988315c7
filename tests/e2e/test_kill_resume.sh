#!/usr/bin/env bash
# Exact resume after SIGKILL (no chance to save anything on the way out).
#   A: smoke config, 30 epochs, checkpoint_every=4, dropout 0.5, 2 ranks, uninterrupted.
#   B: the same command; `kill -9` mpirun and both ranks at a random moment after
#      resume.h5 first appears (possibly in the middle of a checkpoint write),
#      then the same command again, killed again the moment a checkpoint write is
#      under way (a NAME.tmp.<pid> exists), then the same command to completion.
# Checks: every dataset of A/model/last.h5 and B/model/last.h5 is bitwise equal;
#         progress.dat and best.txt are identical (no duplicated or lost epochs);
#         the epoch lines B prints before the kill and after the resume equal A's.
# KILL_DELAY=<seconds> fixes the kill moment (default: random, printed).
# Usage: bash test_kill_resume.sh BUILD_DIR SOURCE_DIR
source "$(dirname "$0")/../support/lib.sh" "$@"
BG=""
MPI="mpirun --oversubscribe --bind-to none -np 2"
EPOCHS=30
args() {  # args DIR
  echo --config "$SRC/configs/smoke.json" --set path_save_model=$1/model --set path_scratch=$1/scratch \
       --set inference.results=$1/res --set epochs=$EPOCHS --set checkpoint_every=4 --set model.dropout=0.5
}
start=$SECONDS

echo "# run A: uninterrupted"
t0=$SECONDS
timeout 170 $MPI "$BIN/cdae-train" $(args "$T/A") > "$T/A.log" 2>&1 || { tail "$T/A.log"; echo "FAIL: run A failed"; exit 1; }
runA=$((SECONDS - t0))
echo "# run A: $runA s"

echo "# run B: will be killed with SIGKILL"
timeout 170 $MPI "$BIN/cdae-train" $(args "$T/B") > "$T/B1.log" 2>&1 &
BG=$!
# Wait (bounded) for the first resume.h5.
for _ in $(seq 1 1200); do
  [ -e "$T/B/model/resume.h5" ] && break
  kill -0 "$BG" 2>/dev/null || break
  sleep 0.1
done
[ -e "$T/B/model/resume.h5" ] || { cat "$T/B1.log"; echo "FAIL: resume.h5 never appeared"; exit 1; }
# A random moment within the next ~12 epochs' time (of A's pace), at 10 ms resolution.
per_epoch_ms=$(( runA * 1000 / EPOCHS )); [ "$per_epoch_ms" -ge 50 ] || per_epoch_ms=50
delay=${KILL_DELAY:-$(awk -v r=$RANDOM -v p=$per_epoch_ms 'BEGIN { printf "%.2f", (r % 1200) / 100 * p / 1000 }')}
echo "# resume.h5 appeared; killing run B in $delay s (KILL_DELAY=$delay reproduces this moment)"
sleep "$delay"
pids=$(pgrep -f "$T/B/model" || true)
echo "CHECK: run B still running at the kill (pids: $(echo $pids))"
if [ -z "$pids" ] || grep -q "training finished" "$T/B1.log"; then
  echo "FAIL: run B finished before it could be killed (delay $delay s too long for this machine)"; exit 1
fi
kill -9 $pids 2>/dev/null || true
wait "$BG" 2>/dev/null || true
for _ in $(seq 1 100); do [ -z "$(pgrep -f "$T/B/model" || true)" ] && break; sleep 0.1; done
[ -z "$(pgrep -f "$T/B/model" || true)" ] || { echo "FAIL: processes of run B survived kill -9"; exit 1; }
killed_after=$(grep -c '^epoch ' "$T/B1.log" || true)
echo "PASS: run B killed after $killed_after epoch line(s); left in B/model: $(ls "$T/B/model" | tr '\n' ' ')"

echo "# run B again, killed with SIGKILL the moment a checkpoint write is under way (a *.tmp.* file exists)"
timeout 170 $MPI "$BIN/cdae-train" $(args "$T/B") > "$T/B2a.log" 2>&1 &
BG=$!
ranks=""
for _ in $(seq 1 600); do
  ranks=$(pgrep -f "^$BIN/cdae-train .*$T/B/model" || true)
  [ "$(echo $ranks | wc -w)" -ge 2 ] && grep -q '^# resuming' "$T/B2a.log" && break
  sleep 0.05
done
mpirun_pid=$(pgrep -f "^mpirun .*$T/B/model" || true)
caught=""
while kill -0 "$BG" 2>/dev/null; do
  if compgen -G "$T/B/model/*.tmp.*" > /dev/null; then
    kill -9 $mpirun_pid $ranks 2>/dev/null || true
    caught=$(cd "$T/B/model" && ls | grep -F '.tmp.' | tr '\n' ' ' || true)
    break
  fi
done
wait "$BG" 2>/dev/null || true
for _ in $(seq 1 100); do [ -z "$(pgrep -f "$T/B/model" || true)" ] && break; sleep 0.1; done
if [ -n "$caught" ]; then
  echo "PASS: run B killed inside a checkpoint write (left: $caught) after $(grep -c '^epoch ' "$T/B2a.log" || true) epoch line(s)"
else
  echo "# note: no checkpoint write was caught in progress this time (the run finished first); the final checks still apply"
fi

grep '^epoch ' "$T/B2a.log" > "$T/B2a.epochs" || true
if [ -n "$caught" ]; then
  echo "# run B again: the same command resumes"
  timeout 170 $MPI "$BIN/cdae-train" $(args "$T/B") > "$T/B2.log" 2>&1 || { tail "$T/B2.log"; echo "FAIL: resumed run B failed"; exit 1; }
else
  # The second run completed; running it again would continue from best.h5 (a new phase).
  grep -q "training finished" "$T/B2a.log" || { tail "$T/B2a.log"; echo "FAIL: second run of B failed"; exit 1; }
  cp "$T/B2a.log" "$T/B2.log"; : > "$T/B2a.epochs"
fi

resumed=$(sed -nE 's/^# resuming exactly from .* \(epoch ([0-9]+),.*/\1/p' "$T/B2.log")
echo "# resumed from epoch '${resumed}': $(grep '^# resuming' "$T/B2.log" || true)"
check "the rerun resumed exactly (from resume.h5 or resume.h5.prev)" test -n "$resumed"
resumed=${resumed:-0}

grep '^epoch ' "$T/A.log" > "$T/A.epochs"
grep '^epoch ' "$T/B1.log" > "$T/B1.epochs" || true
grep '^epoch ' "$T/B2.log" > "$T/B2.epochs" || true
check "A printed all $EPOCHS epoch lines" test "$(wc -l < "$T/A.epochs")" -eq $EPOCHS
check "epoch lines B printed before the kill equal A's" \
  cmp -s "$T/B1.epochs" <(head -n "$(wc -l < "$T/B1.epochs")" "$T/A.epochs")
check "epoch lines of B's second (killed) run equal A's for those epochs" \
  cmp -s "$T/B2a.epochs" <(grep -F -x -f "$T/B2a.epochs" "$T/A.epochs" || true)
check "epoch lines B printed after the resume (epochs $((resumed + 1))..$((EPOCHS - 1))) equal A's" \
  cmp -s "$T/B2.epochs" <(awk -v r="$resumed" '$2 > r' "$T/A.epochs")
check "progress.dat of B equals A's (no duplicated or missing epochs)" \
  cmp -s "$T/A/model/progress.dat" "$T/B/model/progress.dat"
check "progress.dat has each epoch 0..$((EPOCHS - 1)) once" \
  test "$(awk '{print $1}' "$T/B/model/progress.dat" | tr '\n' ' ')" = "$(seq 0 $((EPOCHS - 1)) | tr '\n' ' ')"
check "best.txt of B equals A's" cmp -s "$T/A/model/best.txt" "$T/B/model/best.txt"
check "no resume.h5 left after the completed run" test ! -e "$T/B/model/resume.h5"
echo "CHECK: every dataset of A/model/last.h5 and B/model/last.h5 (and best.h5) is bitwise equal"
if $PY - "$T" <<'PY'
import sys, h5py, numpy as np
T = sys.argv[1]
bad = 0
for name in ("last.h5", "best.h5"):
    with h5py.File(f"{T}/A/model/{name}", "r") as a, h5py.File(f"{T}/B/model/{name}", "r") as b:
        sets = {}
        a.visititems(lambda n, o: sets.__setitem__(n, 1) if isinstance(o, h5py.Dataset) else None)
        names_b = []
        b.visititems(lambda n, o: names_b.append(n) if isinstance(o, h5py.Dataset) else None)
        if sorted(sets) != sorted(names_b):
            print(f"  {name}: different dataset names"); bad += 1; continue
        n_model = sum(1 for n in sets if n.startswith("model/"))
        for n in sorted(sets):
            x, y = a[n][()], b[n][()]
            if x.dtype != y.dtype or x.shape != y.shape or x.tobytes() != y.tobytes():
                diff = np.max(np.abs(x.astype(np.float64) - y.astype(np.float64))) if x.shape == y.shape else "shape"
                print(f"  {name}: /{n} differs (max abs diff {diff})"); bad += 1
        for attr in ("epoch", "loss_min", "checksum", "nonfinite_streak", "skipped_steps"):
            if a.attrs[attr] != b.attrs[attr]:
                print(f"  {name}: attribute {attr}: {a.attrs[attr]} != {b.attrs[attr]}"); bad += 1
        print(f"  {name}: {len(sets)} datasets ({n_model} under /model), epoch {a.attrs['epoch']}, "
              f"checksum {a.attrs['checksum']}")
        assert n_model > 0
sys.exit(1 if bad else 0)
PY
then echo "PASS: checkpoints of the killed+resumed run are bitwise equal to the uninterrupted run's"
else echo "FAIL: checkpoints differ"; failures=$((failures + 1)); fi
stale=$(ls "$T/B/model" | grep -F '.tmp.' || true)
[ -z "$stale" ] || echo "# note: temporary file(s) left by the killed writer: $stale"

echo "# $((SECONDS - start)) s"
if [ "$failures" -ne 0 ]; then
  echo "--- A epochs"; cat "$T/A.epochs"; echo "--- B1"; cat "$T/B1.log"; echo "--- B2"; cat "$T/B2.log"
  echo "FAIL: $failures check(s) failed (KILL_DELAY=$delay)"; exit 1
fi
echo "PASS: SIGKILL at a random moment, then the same command: bitwise the uninterrupted result"
