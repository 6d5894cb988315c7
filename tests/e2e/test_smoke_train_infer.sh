#!/usr/bin/env bash
# The main job end to end: a contrastive smoke run on 2 ranks, then inference.
# Checks the reference log format, best.h5 contents, pictures, hist.dat.
source "$(dirname "$0")/../support/lib.sh" "$@"
MPI="mpirun --oversubscribe --bind-to none -np 2"

$MPI "$BIN/cdae-train" --config "$SRC/configs/smoke.json" "${OUT[@]}" > "$T/train.log"
cat "$T/train.log" | head -n 5
epochs=$(grep -c '^epoch ' "$T/train.log")
[ "$epochs" -eq 20 ] || { echo "FAIL: expected 20 epoch lines, got $epochs"; exit 1; }
bad=$(grep '^epoch ' "$T/train.log" | grep -Ecv '^epoch +[0-9]+  loss_t  +-?[0-9]+\.[0-9]{5}  loss_ct  +-?[0-9]+\.[0-9]{5}  loss_v  +-?[0-9]+\.[0-9]{5}  loss_cv  +-?[0-9]+\.[0-9]{5}  loss_min  +-?[0-9]+\.[0-9]{5}$' || true)
[ "$bad" -eq 0 ] || { echo "FAIL: $bad epoch lines differ from the reference format"; exit 1; }
# The exact reference layout: "epoch %10d  loss_t  %8.5f ..."
grep -q '^epoch          0  loss_t  ' "$T/train.log" || { echo "FAIL: epoch field is not %10d"; exit 1; }
# The contrastive term takes part (field 6 is loss_ct's value).
grep '^epoch ' "$T/train.log" | awk '$6 != "0.00000" { found = 1 } END { exit !found }' || { echo "FAIL: loss_ct is 0 in every epoch of a contrastive run"; exit 1; }
for f in best.h5 last.h5 best.txt progress.dat; do [ -s "$T/model/$f" ] || { echo "FAIL: no $f"; exit 1; }; done
[ ! -e "$T/model/resume.h5" ] || { echo "FAIL: resume.h5 left after a completed run"; exit 1; }
[ "$(wc -l < "$T/model/progress.dat")" -eq 20 ] || { echo "FAIL: progress.dat lines"; exit 1; }
ls "$T/scratch" | grep -Eq '^0010_grt-rec_-?[0-9]+\.[0-9]{5}\.png$' || { echo "FAIL: no scratch picture for epoch 10"; ls "$T/scratch"; exit 1; }

# Pictures of an earlier run are cleared, a user's other files are not.
mkdir -p "$T/res"; touch "$T/res/999999_1.23456.png" "$T/res/notes.txt" "$T/res/000001_x.png"
$MPI "$BIN/cdae-infer" --config "$SRC/configs/smoke.json" "${OUT[@]}" > "$T/infer.log"
[ ! -e "$T/res/999999_1.23456.png" ] || { echo "FAIL: a per-sample picture of an earlier run was left"; exit 1; }
[ -e "$T/res/notes.txt" ] && [ -e "$T/res/000001_x.png" ] || { echo "FAIL: a file cdae did not write was removed"; exit 1; }
grep -q "^# removed 1 per-sample pictures of an earlier run from $T/res" "$T/infer.log" || { echo "FAIL: the removal was not reported"; exit 1; }
[ "$(grep -Ec '^ +[0-9]+  loss_v  +[0-9]+\.[0-9]{5}$' "$T/infer.log")" -eq 40 ] || { echo "FAIL: inference lines"; head "$T/infer.log"; exit 1; }
[ "$(ls "$T/res" | grep -Ec '^[0-9]{6}_[0-9]+\.[0-9]{5}\.png$')" -eq 40 ] || { echo "FAIL: per-sample pictures"; exit 1; }

$PY - "$T" <<'PY'
import sys, h5py, numpy as np, matplotlib.image as mpimg, os, glob
T = sys.argv[1]
expected = {
 "spatial_encoder.0.weight": (1,), "spatial_encoder.0.bias": (1,), "spatial_encoder.0.running_mean": (1,),
 "spatial_encoder.0.running_var": (1,), "spatial_encoder.0.num_batches_tracked": (),
 "spatial_encoder.1.weight": (8,1,1,5,5), "spatial_encoder.1.bias": (8,), "spatial_encoder.4.weight": (8,8,5,5,5),
 "spatial_encoder.4.bias": (8,), "spatial_encoder.6.weight": (8,8,5,5,5), "spatial_encoder.6.bias": (8,),
 "temporal_encoder_decoder.convlstm_1.cell_list.0.conv.weight": (32,16,3,3),
 "temporal_encoder_decoder.convlstm_1.cell_list.0.conv.bias": (32,),
 "temporal_encoder_decoder.convlstm_2.cell_list.0.conv.weight": (16,12,3,3),
 "temporal_encoder_decoder.convlstm_2.cell_list.0.conv.bias": (16,),
 "temporal_encoder_decoder.convlstm_3.cell_list.0.conv.weight": (32,12,3,3),
 "temporal_encoder_decoder.convlstm_3.cell_list.0.conv.bias": (32,),
 "spatial_decoder.0.weight": (8,8,5,5,5), "spatial_decoder.0.bias": (8,), "spatial_decoder.2.weight": (8,8,5,5,5),
 "spatial_decoder.2.bias": (8,), "spatial_decoder.4.weight": (8,1,1,5,5), "spatial_decoder.4.bias": (1,),
 # the small preset's layer norms in front of the ConvLSTMs (model.lstm_norm)
 "temporal_encoder_decoder.norm_1.weight": (8,), "temporal_encoder_decoder.norm_1.bias": (8,),
 "temporal_encoder_decoder.norm_2.weight": (8,), "temporal_encoder_decoder.norm_2.bias": (8,),
 "temporal_encoder_decoder.norm_3.weight": (4,), "temporal_encoder_decoder.norm_3.bias": (4,)}
with h5py.File(f"{T}/model/best.h5", "r") as f:
    got = {}
    f["model"].visititems(lambda n, o: got.__setitem__(n, o.shape) if isinstance(o, h5py.Dataset) else None)
    assert got == expected, f"best.h5 state_dict differs: {set(got) ^ set(expected)}"
    assert int(f.attrs["epoch"]) > 10, "best rule: epoch > 10"
    assert "optimizer" in f and "exp_avg" in f["optimizer/spatial_encoder.1.weight"]
    for a in ("loss_min", "config", "architecture", "checksum", "seed", "world_size", "version"):
        assert a in f.attrs, a
    assert int(f.attrs["world_size"]) == 2
for png in glob.glob(f"{T}/scratch/*.png")[:3] + glob.glob(f"{T}/res/*.png")[:3]:
    img = mpimg.imread(png)
    assert img.ndim == 2 and img.shape[0] > 0, png
img = mpimg.imread(sorted(glob.glob(f"{T}/res/*.png"))[0])
assert img.shape == (21 * 37, 2 * 37), img.shape
hist = np.loadtxt(f"{T}/res/hist.dat")
assert hist.shape == (100, 2), hist.shape  # max(40 // 10, 100) bins
width = hist[1, 0] - hist[0, 0]
integral = (hist[:, 1] * width).sum()
assert abs(integral - 1) < 1e-6, integral
with h5py.File(f"{T}/res/losses.h5", "r") as f:
    assert f["losses"].shape == (40,) and np.isfinite(f["losses"][:]).all()
print("PASS: smoke training and inference outputs")
PY
