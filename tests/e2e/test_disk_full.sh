#!/usr/bin/env bash
# A full disk while a checkpoint is being written.
# 1. RLIMIT_FSIZE (`ulimit -f`), which works everywhere: a write()
# beyond the limit fails (EFBIG instead of ENOSPC) once SIGXFSZ is ignored, which
# `trap '' XFSZ` does and exec keeps. Small files (progress.dat, best.txt,
# pictures) stay under the limit; checkpoints do not, so the first checkpoint
# write of the continued run fails part-way.
# 2. A real ENOSPC: a small tmpfs holding the previous checkpoints, when this
# machine lets us mount one (root with CAP_SYS_ADMIN); skipped, and said so, otherwise.
# (`chmod a-w` on the directory would not do: root ignores permission bits.)
# Checks: non-zero exit; a message naming the checkpoint file; the previous
# best.h5/last.h5 (and their .prev) unchanged and still loadable; no *.tmp.* left.
# Usage: bash test_disk_full.sh BUILD_DIR SOURCE_DIR
source "$(dirname "$0")/../support/lib.sh" "$@"
trap 'umount "$T/disk" 2>/dev/null || true; kill_and_remove "$T"' EXIT
OUT=(--config "$SRC/configs/smoke.json" --set path_save_model=$T/model --set path_scratch=$T/scratch
     --set inference.results=$T/res --set checkpoint_every=4 --set picture_every=1000)
start=$SECONDS

echo "# a previous good run (14 epochs) leaves best.h5 and last.h5"
timeout 120 "$BIN/cdae-train" "${OUT[@]}" --set epochs=14 > "$T/good.log" 2>&1 \
  || { tail "$T/good.log"; echo "FAIL: the good run failed"; exit 1; }
for f in best.h5 last.h5; do [ -s "$T/model/$f" ] || { echo "FAIL: no $f after the good run"; exit 1; }; done
size_kib=$(( $(stat -c %s "$T/model/last.h5") / 1024 ))
(cd "$T/model" && sha256sum $(ls | grep -E '\.h5(\.prev)?$') > "$T/before.sum")
sed 's/^/    /' "$T/before.sum"

# The limit is applied inside each rank only (mpirun and the PMIx server create
# shared-memory files that a small RLIMIT_FSIZE would break); btl self,tcp keeps
# the ranks' own MPI transport off shared-memory files for the same reason.
for limit_kib in $(( size_kib / 2 )) $(( size_kib - 8 )); do
  echo "# the same command with more epochs continues from best.h5 and checkpoints at once;" \
       "file size limit $limit_kib KiB (a checkpoint is $size_kib KiB), 2 ranks"
  rc=0
  timeout 120 mpirun -np 2 --oversubscribe --bind-to none --mca btl self,tcp \
    bash -c 'trap "" XFSZ; ulimit -f "$1"; shift; exec "$@"' limit "$limit_kib" \
    "$BIN/cdae-train" "${OUT[@]}" --set epochs=24 > "$T/full.log" 2>&1 || rc=$?
  grep -E '^(# continuing|cdae: error)' "$T/full.log" | cut -c1-300 | sed 's/^/    | /'
  check "the run exits non-zero (exit $rc) and does not hang" test "$rc" -ne 0 -a "$rc" -ne 124 -a "$rc" -ne 137
  check "the error names the checkpoint being written" grep -qE "cdae: error on rank 0: .*(last|best|resume)\.h5" "$T/full.log"
  check "the error gives the reason (File too large)" grep -q "File too large" "$T/full.log"
  check "training got past the restore before failing (epoch lines printed)" grep -q '^epoch ' "$T/full.log"
  (cd "$T/model" && sha256sum $(awk '{print $2}' "$T/before.sum") > "$T/after.sum" 2>/dev/null) || true
  check "best.h5, last.h5 and their .prev are byte-for-byte unchanged" cmp -s "$T/before.sum" "$T/after.sum"
  check "no temporary *.tmp.* file left behind" test -z "$(ls -A "$T/model" | grep -F '.tmp.' || true)"
done

echo "CHECK: the previous checkpoints still load (checksum verified by cdae-infer)"
ok=1
for f in best.h5 last.h5; do
  if timeout 120 "$BIN/cdae-infer" "${OUT[@]}" --weights "$T/model/$f" --set inference.n_samples=2 \
       > "$T/infer_$f.log" 2>&1 && grep -q "^# weights $T/model/$f" "$T/infer_$f.log"; then
    echo "    $f: $(grep '^# weights' "$T/infer_$f.log")"
  else
    ok=0; tail -n 5 "$T/infer_$f.log"
  fi
done
check "best.h5 and last.h5 load after the failed writes" test "$ok" -eq 1

echo "# a genuinely full filesystem (ENOSPC): a tmpfs just large enough for the previous checkpoints"
mkdir -p "$T/disk"
used_kib=$(du -sk "$T/model" | awk '{print $1}')
if mount -t tmpfs -o size=$(( used_kib + size_kib / 2 ))k tmpfs "$T/disk" 2>/dev/null; then
  cp -a "$T/model" "$T/disk/model"
  echo "    tmpfs of $(( used_kib + size_kib / 2 )) KiB, $(df -k "$T/disk" | awk 'NR == 2 {print $4}') KiB free after the copy"
  rc=0
  timeout 120 mpirun -np 2 --oversubscribe --bind-to none "$BIN/cdae-train" "${OUT[@]}" \
    --set path_save_model=$T/disk/model --set epochs=24 > "$T/enospc.log" 2>&1 || rc=$?
  grep -E '^(# continuing|cdae: error)' "$T/enospc.log" | cut -c1-300 | sed 's/^/    | /'
  check "ENOSPC: the run exits non-zero (exit $rc) and does not hang" test "$rc" -ne 0 -a "$rc" -ne 124 -a "$rc" -ne 137
  check "ENOSPC: the error names the checkpoint and says 'No space left on device'" \
    grep -qE "cdae: error on rank 0: .*(last|best|resume)\.h5.*No space left on device" <(tr '\n' ' ' < "$T/enospc.log")
  (cd "$T/disk/model" && sha256sum $(awk '{print $2}' "$T/before.sum") > "$T/after.sum" 2>/dev/null) || true
  check "ENOSPC: best.h5, last.h5 and their .prev are byte-for-byte unchanged" cmp -s "$T/before.sum" "$T/after.sum"
  check "ENOSPC: no temporary *.tmp.* file left behind" test -z "$(ls -A "$T/disk/model" | grep -F '.tmp.' || true)"
  umount "$T/disk"
else
  echo "SKIP: cannot mount a tmpfs here (needs root with CAP_SYS_ADMIN); the RLIMIT_FSIZE cases above cover the write path"
fi

echo "# a rerun without the limit continues normally from the untouched checkpoints"
rc=0
timeout 120 "$BIN/cdae-train" "${OUT[@]}" --set epochs=18 > "$T/after.log" 2>&1 || rc=$?
check "the rerun (no limit) succeeds" test "$rc" -eq 0
check "it continues from a good checkpoint" grep -qE '^# (continuing|resuming exactly) from' "$T/after.log"

echo "# $((SECONDS - start)) s"
if [ "$failures" -ne 0 ]; then cat "$T/full.log"; echo "FAIL: $failures check(s) failed"; exit 1; fi
echo "PASS: a checkpoint write that runs out of space fails loudly and keeps the previous checkpoints"
