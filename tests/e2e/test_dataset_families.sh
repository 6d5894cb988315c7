#!/usr/bin/env bash
# Training on stored data, each family, distributed: a small image dataset in
# the layout of docs/datasets.md (normal: horizontal stripes, known defect:
# vertical stripes, other anomalies: blobs and noise), trained under mpirun
# -np 2 with the dense, convolutional and variational autoencoders (plus a
# denoising + sparse variant), then the test split scored: flags.tsv,
# summary.tsv, scores.h5, pictures. Bad files and impossible settings are
# refused before training, naming the file or key.
source "$(dirname "$0")/../support/lib.sh" "$@"

$PY - "$T/data.h5" <<'PY'
import sys, numpy as np, h5py
rng = np.random.default_rng(0)
def stripes(n, vertical):
    x = np.zeros((n, 1, 12, 12), np.float32)
    for k in range(n):
        phase = rng.integers(0, 3)
        for i in range(phase, 12, 3):
            if vertical: x[k, 0, :, i] = 1.0
            else: x[k, 0, i, :] = 1.0
    return np.clip(x + 0.05 * rng.standard_normal(x.shape), 0, 1).astype(np.float32)
def blobs(n):
    x = np.zeros((n, 1, 12, 12), np.float32)
    for k in range(n):
        r, c = rng.integers(2, 10, 2); x[k, 0, r-2:r+2, c-2:c+2] = 1.0
    return x
parts = [  # samples, label, split
    (stripes(240, False), 0, 0), (stripes(12, True), 1, 0),
    (stripes(40, False), 0, 1), (stripes(6, True), 1, 1),
    (stripes(60, False), 0, 2), (stripes(30, True), 1, 2), (blobs(30), 2, 2),
    (rng.random((30, 1, 12, 12)).astype(np.float32), 3, 2)]
with h5py.File(sys.argv[1], "w") as f:
    f["samples"] = np.concatenate([p[0] for p in parts])
    f["labels"] = np.concatenate([np.full(len(p[0]), p[1], np.int64) for p in parts])
    f["split"] = np.concatenate([np.full(len(p[0]), p[2], np.uint8) for p in parts])
    f.attrs["class_names"] = "normal,vertical,blob,noise"
PY

cat > "$T/base.json" <<JSON
{ "data": {"source": "hdf5", "path": "$T/data.h5"},
  "batch_size_train": 40, "batch_size_val": 20, "learning_rate": 0.003, "epochs": 12,
  "contrastive_loss": {"n_outliers": 6, "n_outliers_val": 3, "kind": "margin", "margin": 1.0, "margin_to": "every"},
  "model": {"hidden": [64], "channels": [8, 16], "latent": 8, "dropout": 0.0},
  "device": "cpu", "progress_seconds": 1000, "checkpoint_every": 4, "picture_every": 4 }
JSON

run_family() {  # run_family NAME [--set ...]: train then score; checks the outputs
  local name=$1; shift
  local out=(--set path_save_model=$T/$name/model --set path_scratch=$T/$name/scratch
             --set inference.results=$T/$name/res --set inference.weights=$T/$name/model/best.h5)
  check "$name: trains under mpirun -np 2" \
    bash -c "$MPI -np 2 '$BIN/cdae-train' --config '$T/base.json' ${out[*]} $* > '$T/$name.train.log' 2>&1"
  check "$name: 12 epoch lines and best.h5" \
    bash -c "[ \$(grep -c '^epoch ' '$T/$name.train.log') -eq 12 ] && [ -f '$T/$name/model/best.h5' ]"
  check "$name: scores the test split" \
    bash -c "$MPI -np 2 '$BIN/cdae-infer' --config '$T/base.json' ${out[*]} $* --pictures 3 > '$T/$name.infer.log' 2>&1"
  check "$name: flags.tsv has the rule and one row per test sample" \
    bash -c "grep -q '^# rule: ' '$T/$name/res/flags.tsv' && [ \$(grep -vc '^#' '$T/$name/res/flags.tsv') -eq 151 ]"
  check "$name: summary, scores.h5, histograms, 3 pictures" \
    bash -c "[ -f '$T/$name/res/summary.tsv' ] && [ -f '$T/$name/res/scores.h5' ] && [ -f '$T/$name/res/hist.tsv' ] &&
             [ \$(ls '$T/$name/res/top' | wc -l) -eq 3 ]"
  $PY - "$T/$name/res/scores.h5" "$T/$name/res/summary.tsv" "$name" <<'PY' || failures=$((failures + 1))
import sys, h5py, numpy as np, csv
with h5py.File(sys.argv[1]) as f:
    assert f["loss"].shape == (150,) and np.isfinite(f["loss"][:]).all(), "scores.h5 losses"
    assert sorted(set(f["label"][:])) == [0, 1, 2, 3], "labels"
rows = {r["class"]: r for r in csv.DictReader(open(sys.argv[2]), delimiter="\t")}
known = float(rows["vertical"]["auroc_vs_normal"])
print(f"{sys.argv[3]}: AUROC of the known class {known:.3f}, all anomalies {rows['all anomalies']['auroc_vs_normal']}")
assert known >= 0.9, f"the known class is not separated: AUROC {known}"
PY
}

run_family dense --set model.family=dense
run_family conv --set model.family=conv
run_family vae --set model.family=conv --set model.variational=true --set model.beta=0.01
run_family denoising_sparse --set model.family=dense --set denoising.noise=masking --set denoising.level=0.2 \
  --set sparsity.kind=l1 --set sparsity.weight=0.001 --set loss_type=bce

# Refusals, before any training.
expect_failure "labels out of range name the file and dataset" "'labels' holds 9" \
  bash -c "$PY -c \"import h5py; f = h5py.File('$T/data.h5', 'r+'); f['labels'][3] = 9\" &&
           '$BIN/cdae-train' --config '$T/base.json' --set model.family=dense --set path_save_model=$T/bad/model"
$PY -c "import h5py; f = h5py.File('$T/data.h5', 'r+'); f['labels'][3] = 0"
expect_failure "a missing file is named" "$T/none.h5" \
  "$BIN/cdae-train" --config "$T/base.json" --set model.family=dense --set data.path=$T/none.h5
# The same labels with vectors (N, 5) as samples.
$PY - "$T/data.h5" "$T/vec.h5" <<'PY'
import sys, h5py, numpy as np
with h5py.File(sys.argv[1]) as g, h5py.File(sys.argv[2], "w") as f:
    f["samples"] = np.zeros((len(g["labels"]), 5), np.float32)
    f["labels"] = g["labels"][:]
    f["split"] = g["split"][:]
    f.attrs["class_names"] = g.attrs["class_names"]
PY
expect_failure "conv on vectors names the family" "model.family conv takes images" \
  "$BIN/cdae-train" --config "$T/base.json" --set model.family=conv --set data.path=$T/vec.h5
$PY -c "import h5py; f = h5py.File('$T/vec.h5', 'r+'); l = f['labels'][:]; l[l == 1] = 2; f['labels'][:] = l"
expect_failure "known defects asked for but none labelled" "no known defect" \
  "$BIN/cdae-train" --config "$T/base.json" --set model.family=dense --set data.path=$T/vec.h5
finish
