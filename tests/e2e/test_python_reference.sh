#!/usr/bin/env bash
# cdae against the PyTorch reference: train the small preset briefly, run cdae-infer,
# and compare its reconstructions, latents and losses with python/check_against_cdae.py.
# Usage: bash tests/e2e/test_python_reference.sh BUILD_DIR SOURCE_DIR
source "$(dirname "$0")/../support/lib.sh" "$@"
CFG="$SRC/configs/smoke.json"
CHECK="$SRC/python/check_against_cdae.py"

# $PY is the venv of scripts/setup.sh: the pinned torch wheel over Debian's h5py.
"$PY" -c 'import torch, h5py' || { echo "FAIL: $PY has no torch or h5py (run scripts/setup.sh)"; exit 1; }

run() { echo "+ $*"; "$@"; }

echo "== training the small preset for 12 epochs in $T"
run "$BIN/cdae-train" --config "$CFG" --set "path_save_model=$T/model" \
    --set "path_scratch=$T/scratch" --set epochs=12 --set model.dropout=0
test -f "$T/model/last.h5"

echo "== making the test input"
run "$PY" "$CHECK" --make-input "$T/in.h5" --checkpoint "$T/model/last.h5" --n 6

for ds in sequences sequences_f32; do
    echo "== cdae-infer on dataset $ds, then the PyTorch check"
    rm -f "$T/out.h5"
    run "$BIN/cdae-infer" --config "$CFG" --weights "$T/model/last.h5" \
        --input "$T/in.h5" --dataset "$ds" --output "$T/out.h5"
    run "$PY" "$CHECK" --checkpoint "$T/model/last.h5" --input "$T/in.h5" \
        --dataset "$ds" --cdae-output "$T/out.h5" --tol 1e-5
done
echo "== test_python_reference: PASS"
