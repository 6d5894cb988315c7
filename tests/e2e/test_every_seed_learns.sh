#!/usr/bin/env bash
# Users never have to "try another seed": with the small preset's sigmoid
# output, every one of seeds 0-8 of configs/smoke.json learns (with the
# reference's final ReLU, 4 of them started with a decoder inactive at every
# pixel and never learned), and no dead-output warning is printed.
# Usage: bash test_every_seed_learns.sh BUILD_DIR SOURCE_DIR
source "$(dirname "$0")/../support/lib.sh" "$@"
for seed in 0 1 2 3 4 5 6 7 8; do
  "$BIN/cdae-train" --config "$SRC/configs/smoke.json" --set seed=$seed --set epochs=50 \
    --set contrastive_loss.n_outliers=0 --set path_save_model="$T/m$seed" --set path_scratch="$T/s$seed" \
    > "$T/seed$seed.log" 2>&1
  first=$(awk '/^epoch / { print $4; exit }' "$T/seed$seed.log")
  last=$(awk '/^epoch / { v = $4 } END { print v }' "$T/seed$seed.log")
  check "seed $seed: the training loss falls ($first -> $last)" awk -v a="$first" -v b="$last" 'BEGIN { exit !(b < 0.9 * a) }'
  check "seed $seed: no dead-output warning" bash -c "! grep -q 'reconstruction is zero everywhere' '$T/seed$seed.log'"
done
echo "$failures failed"
[ "$failures" -eq 0 ]
