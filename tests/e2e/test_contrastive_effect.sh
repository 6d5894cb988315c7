#!/usr/bin/env bash
# The guard of the method's effect: a short two-phase training of the cpu
# preset on 2 ranks from a fixed seed. Phase 2 (contrastive) must raise the
# defect's median loss ratio to the normal class, and its AUROC against the
# other outliers, above what phase 1 (conventional) alone reaches, both
# measured here. About 3 minutes on 2 cores.
# Usage: bash test_contrastive_effect.sh BUILD_DIR SOURCE_DIR
source "$(dirname "$0")/../support/lib.sh" "$@"
E1=${CDAE_EFFECT_EPOCHS1:-500}
E2=${CDAE_EFFECT_EPOCHS2:-450}
mpirun="mpirun --oversubscribe --bind-to none -np 2"
paths=(--set path_save_model=$T/model --set path_scratch=$T/scratch --set progress_seconds=60)
classes="--classes=2.0,0,1.0,-2,3,random"   # normal, defect (configs/cpu-contrastive.json), other outliers
evaluate() {  # evaluate CONFIG WEIGHTS OUT
  $mpirun "$BIN/cdae-infer" --config "$1" --weights "$2" $classes --set inference.results="$3" \
    --set inference.n_samples=60 > "$3.log" 2>&1
}
started=$SECONDS
$mpirun "$BIN/cdae-train" --config "$SRC/configs/cpu-conventional.json" "${paths[@]}" --set epochs=$E1 > "$T/phase1.log" 2>&1
cp "$T/model/best.h5" "$T/phase1.h5"
evaluate "$SRC/configs/cpu-conventional.json" "$T/phase1.h5" "$T/before"
$mpirun "$BIN/cdae-train" --config "$SRC/configs/cpu-contrastive.json" "${paths[@]}" --set epochs=$((E1 + E2)) \
  > "$T/phase2.log" 2>&1
evaluate "$SRC/configs/cpu-contrastive.json" "$T/model/best.h5" "$T/after"
echo "wall time of both phases and evaluations: $((SECONDS - started)) s"
$PY "$SRC/python/compare_summaries.py" "$T/before/summary.tsv" "$T/after/summary.tsv" --tsv "$T/table.tsv"

# ratio of the defect (row 2) before and after; AUROC of the defect against the other outliers
ratio() { awk -F'\t' -v col="$1" 'NR == 3 { print $col }' "$T/table.tsv"; }
defect_vs_others() { sed -n 's/^# defect .* auroc_loss \([0-9.]*\).*/\1/p' "$1/summary.tsv"; }
gt() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a > b) }'; }
r1=$(ratio 4); r2=$(ratio 5)
a1=$(defect_vs_others "$T/before"); a2=$(defect_vs_others "$T/after")
echo "defect median / normal median: phase 1 $r1, phase 2 $r2; defect vs other outliers AUROC: $a1 -> $a2"
check "phase 2 at least doubles the defect's median ratio ($r1 -> $r2)" gt "$r2" "$(awk -v r="$r1" 'BEGIN { print 2 * r }')"
check "phase 2 raises the defect's AUROC against the other outliers ($a1 -> $a2)" gt "$a2" "$a1"
check "the contrastive term was active in phase 2" grep -qE '^epoch .* loss_ct +-?[0-9]*\.[0-9]*[1-9]' "$T/phase2.log"
echo "$failures failed"
[ "$failures" -eq 0 ]
