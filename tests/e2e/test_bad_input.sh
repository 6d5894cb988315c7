#!/usr/bin/env bash
# Bad input is refused at start: for every case, cdae-train / cdae-infer must
#   - exit non-zero (and not hang: every run is under `timeout`),
#   - print a message that names the offending key, file or value,
#   - leave every existing output untouched (a sentinel file, an existing
#     best.h5/last.h5 and an existing --output file keep their checksums, and
#     no file appears or disappears in the output directories).
# Also: --help exits 0 and lists every flag defined in src/app.
# Usage: bash test_bad_input.sh BUILD_DIR SOURCE_DIR
source "$(dirname "$0")/../support/lib.sh" "$@"
CFG="$SRC/configs/smoke.json"
start=$SECONDS

# ---------------------------------------------------------------- fixtures
echo "# setup: a 2-epoch smoke run leaves a real checkpoint in $T/model"
timeout 120 "$BIN/cdae-train" --config "$CFG" "${OUT[@]}" --set epochs=2 > "$T/setup.log" 2>&1 \
  || { cat "$T/setup.log"; echo "FAIL: setup training run failed"; exit 1; }
[ -s "$T/model/last.h5" ] || { echo "FAIL: setup produced no last.h5"; exit 1; }
# An existing best.h5 (the file a rerun would continue from) and sentinels in every output dir.
cp "$T/model/last.h5" "$T/model/best.h5"
mkdir -p "$T/scratch" "$T/res"
for d in model scratch res; do echo "sentinel $d $RANDOM" > "$T/$d/sentinel.txt"; done
echo "previous scores" > "$T/res/scores.h5"          # an existing --output file
WEIGHTS="$T/model/last.h5"

snapshot() {  # path + checksum of every file in the output dirs
  (cd "$T" && find model scratch res -type f -print0 | sort -z | xargs -0 sha256sum)
}
snapshot > "$T/before.sum"
echo "# outputs protected: $(wc -l < "$T/before.sum") files (best.h5, last.h5, sentinels, scores.h5)"

# expect_fail NAME PATTERN... -- COMMAND...
#   every PATTERN (fixed string, case-sensitive) must appear in stdout+stderr.
expect_fail() {
  local name=$1; shift
  local patterns=()
  while [ "$1" != "--" ]; do patterns+=("$1"); shift; done
  shift
  local log="$T/case.log" rc=0 ok=1 why=""
  echo "CHECK: $name"
  timeout 120 "$@" > "$log" 2>&1 || rc=$?
  if [ "$rc" -eq 0 ]; then ok=0; why="exit status 0";
  elif [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then ok=0; why="timed out";
  fi
  for p in "${patterns[@]}"; do
    grep -qF -- "$p" "$log" || { ok=0; why="$why; no message containing '$p'"; }
  done
  snapshot > "$T/after.sum"
  if ! cmp -s "$T/before.sum" "$T/after.sum"; then
    ok=0; why="$why; outputs changed: $(diff "$T/before.sum" "$T/after.sum" | grep '^[<>]' | tr '\n' ' ')"
  fi
  if [ "$ok" -eq 1 ]; then
    echo "PASS: $name (exit $rc): $( (grep -m1 'cdae: error' "$log" || head -n1 "$log") | cut -c1-200)"
  else
    echo "FAIL: $name:${why}"; sed 's/^/    | /' "$log" | tail -n 15
    failures=$((failures + 1))
  fi
}

# ---------------------------------------------------------------- configs
printf '{\n  "epochs": 3,\n  "seed": 1\n' > "$T/malformed.json"     # no closing brace
expect_fail "malformed JSON config" "malformed.json" "not valid JSON" -- \
  "$BIN/cdae-train" --config "$T/malformed.json" "${OUT[@]}"

expect_fail "missing config file" "no_such_config.json" -- \
  "$BIN/cdae-train" --config "$T/no_such_config.json" "${OUT[@]}"

$PY - "$CFG" "$T" <<'PY'
import json, sys
cfg, T = sys.argv[1], sys.argv[2]
base = json.load(open(cfg))
c = dict(base); c["batch_size_train"] = "12"
json.dump(c, open(f"{T}/wrong_type.json", "w"))
c = dict(base); c.pop("learning_rate"); c["learning_rat"] = 0.001
json.dump(c, open(f"{T}/unknown_key.json", "w"))
PY
expect_fail "wrong type: batch_size_train is a string" "batch_size_train" "must be an integer" -- \
  "$BIN/cdae-train" --config "$T/wrong_type.json" "${OUT[@]}"
expect_fail "wrong type via --set batch_size_train=twelve" "batch_size_train" "twelve" -- \
  "$BIN/cdae-train" --config "$CFG" "${OUT[@]}" --set batch_size_train=twelve
expect_fail "a stray argument (class list without '=')" "unexpected argument '2.0,2.1'" -- \
  "$BIN/cdae-infer" --config "$CFG" "${OUT[@]}" --classes 2.0,2.1
expect_fail "unknown (misspelled) key learning_rat" "unknown key 'learning_rat'" -- \
  "$BIN/cdae-train" --config "$T/unknown_key.json" "${OUT[@]}"
expect_fail "impossible frame size: height=100 with the seed preset" "height=100" "seed" -- \
  "$BIN/cdae-train" --config "$CFG" "${OUT[@]}" --set model.preset=seed --set height=100 --set width=100
expect_fail "impossible sequence length: seqlen=20 with the small preset" "seqlen=20" -- \
  "$BIN/cdae-train" --config "$CFG" "${OUT[@]}" --set seqlen=20
expect_fail "batch_size_val=2 < 3 ranks (contrastive off)" "batch_size_val" "number of ranks (3)" -- \
  $MPI -np 3 "$BIN/cdae-train" --config "$CFG" "${OUT[@]}" --set batch_size_val=2 \
  --set contrastive_loss.n_outliers=0
expect_fail "infer: impossible frame size" "height=100" -- \
  "$BIN/cdae-infer" --config "$CFG" "${OUT[@]}" --weights "$WEIGHTS" --set model.preset=seed --set height=100 --set width=100

# ---------------------------------------------------------------- data.image
echo "this is not a PNG file" > "$T/not_a_png.png"
expect_fail "data.image is not a PNG" "not_a_png.png" -- \
  "$BIN/cdae-train" --config "$CFG" "${OUT[@]}" --set data.image=$T/not_a_png.png
$PY - "$T/wrong_size.png" <<'PY'
import sys, numpy as np, matplotlib
matplotlib.use("Agg")
import matplotlib.image as mpimg
mpimg.imsave(sys.argv[1], np.random.default_rng(0).random((20, 24)), cmap="gray")
PY
expect_fail "data.image PNG of the wrong size (20x24, config 37x37)" "wrong_size.png" "20x24" "37x37" -- \
  "$BIN/cdae-train" --config "$CFG" "${OUT[@]}" --set data.image=$T/wrong_size.png
expect_fail "infer: data.image is not a PNG" "not_a_png.png" -- \
  "$BIN/cdae-infer" --config "$CFG" "${OUT[@]}" --weights "$WEIGHTS" --set data.image=$T/not_a_png.png

# ---------------------------------------------------------------- cdae-infer --input
$PY - "$T" <<'PY'
import sys, h5py, numpy as np
T = sys.argv[1]
rng = np.random.default_rng(0)
with h5py.File(f"{T}/inputs.h5", "w") as f:
    f["rank3"] = rng.random((2, 21, 37)).astype(np.float32)                  # wrong rank
    f["int16"] = rng.integers(0, 255, (2, 21, 37, 37)).astype(np.int16)       # wrong dtype
    f["narrow"] = rng.random((2, 1, 21, 37, 36)).astype(np.float32)           # 37x36 frames
    f["good"] = rng.random((2, 1, 21, 37, 37)).astype(np.float32)
PY
expect_fail "infer --input: dataset of rank 3" "rank3" -- \
  "$BIN/cdae-infer" --config "$CFG" "${OUT[@]}" --weights "$WEIGHTS" --input "$T/inputs.h5" --dataset rank3 \
  --output "$T/res/scores.h5"
expect_fail "infer --input: int16 dataset" "int16" -- \
  "$BIN/cdae-infer" --config "$CFG" "${OUT[@]}" --weights "$WEIGHTS" --input "$T/inputs.h5" --dataset int16 \
  --output "$T/res/scores.h5"
expect_fail "infer --input: 37x36 frames" "narrow" "36" -- \
  "$BIN/cdae-infer" --config "$CFG" "${OUT[@]}" --weights "$WEIGHTS" --input "$T/inputs.h5" --dataset narrow \
  --output "$T/res/scores.h5"
expect_fail "infer --input: missing dataset" "no_such_dataset" -- \
  "$BIN/cdae-infer" --config "$CFG" "${OUT[@]}" --weights "$WEIGHTS" --input "$T/inputs.h5" \
  --dataset no_such_dataset --output "$T/res/scores.h5"
expect_fail "infer --input: not an HDF5 file" "not_a_png.png" -- \
  "$BIN/cdae-infer" --config "$CFG" "${OUT[@]}" --weights "$WEIGHTS" --input "$T/not_a_png.png" \
  --output "$T/res/scores.h5"

# ---------------------------------------------------------------- checkpoints
expect_fail "infer: checkpoint of another architecture (small vs seed 101x101)" "last.h5" "another architecture" -- \
  "$BIN/cdae-infer" --config "$CFG" "${OUT[@]}" --set model.preset=seed --set height=101 --set width=101 \
  --weights "$WEIGHTS"
expect_fail "infer: weights file does not exist" "missing.h5" -- \
  "$BIN/cdae-infer" --config "$CFG" "${OUT[@]}" --weights "$T/missing.h5"
expect_fail "infer: weights file is not HDF5" "not_a_png.png" -- \
  "$BIN/cdae-infer" --config "$CFG" "${OUT[@]}" --weights "$T/not_a_png.png"
# Training that would continue from best.h5 with another architecture: refused, best.h5 untouched.
expect_fail "train: best.h5 of another architecture in path_save_model" "best.h5" "another architecture" -- \
  "$BIN/cdae-train" --config "$CFG" "${OUT[@]}" --set model.dropout=0.1 --set model.preset=seed \
  --set height=101 --set width=101

# ---------------------------------------------------------------- outputs
echo "a regular file" > "$T/file"
expect_fail "train: path_save_model under a regular file" "$T/file/sub" "not writable" -- \
  "$BIN/cdae-train" --config "$CFG" "${OUT[@]}" --set path_save_model=$T/file/sub
expect_fail "infer: inference.results under a regular file" "$T/file/res" "not writable" -- \
  "$BIN/cdae-infer" --config "$CFG" "${OUT[@]}" --weights "$WEIGHTS" --set inference.results=$T/file/res
expect_fail "infer --input: --output under a regular file" "$T/file/out.h5" -- \
  "$BIN/cdae-infer" --config "$CFG" "${OUT[@]}" --weights "$WEIGHTS" --input "$T/inputs.h5" --dataset good \
  --output "$T/file/out.h5"

# ---------------------------------------------------------------- --help
# Every flag declared in src/app (("x,name", ...) or ("name", ...)) must be listed.
for prog in cdae-train cdae-infer; do
  echo "CHECK: $prog --help exits 0 and lists every flag"
  rc=0; timeout 60 "$BIN/$prog" --help > "$T/help.txt" 2>&1 || rc=$?
  src_files="$SRC/src/app/common.h $SRC/src/app/${prog#cdae-}_main.cpp"
  flags=$(grep -ohE '^\s*\("([a-z],)?[a-z][a-z-]+",' $src_files | sed -E 's/^\s*\("([a-z],)?([a-z-]+)",/\2/' | sort -u)
  missing=""
  for f in $flags; do grep -qE -- "--$f\b" "$T/help.txt" || missing="$missing --$f"; done
  n=$(echo "$flags" | wc -w)
  if [ "$rc" -eq 0 ] && [ -z "$missing" ] && [ "$n" -ge 4 ]; then
    echo "PASS: $prog --help (exit 0, $n flags: $(echo $flags | tr ' ' ','))"
  else
    echo "FAIL: $prog --help: exit $rc, flags found in source: $n, missing from help:$missing"
    failures=$((failures + 1))
  fi
done

echo "# $((SECONDS - start)) s"
if [ "$failures" -ne 0 ]; then echo "FAIL: $failures bad-input case(s) failed"; exit 1; fi
echo "PASS: every bad input refused with a message naming it, outputs untouched"
