#!/usr/bin/env bash
# Deep SAD's semi-supervised benchmark (Ruff et al., ICLR 2020) on Fashion-MNIST:
# one class normal, the other nine anomalies; a fraction gamma_l = m / (n + m)
# of labelled anomalies from ONE known class joins the training split; the test
# split holds all ten classes (1000 each), so eight anomaly classes were never
# seen. For every (normal, known) pair and gamma_l it imports the data, trains
# each family under mpirun and scores the test split, then writes
#   OUT/runs.tsv     one row per run: pair, gamma_l, family, contrastive kind,
#                    AUROC on the whole test split (normal vs the nine anomaly
#                    classes), on the unseen classes only, of the known class,
#                    the known class's latent AUROC, train / score / wall seconds;
#                    `config` is a hash of the config file and the --set overrides
#   OUT/summary.tsv  means over the pairs per (gamma_l, family, kind)
# gamma_l = 0 trains each family as a plain autoencoder (no labelled anomalies,
# no contrastive term): Deep SAD's unsupervised row and the baseline the
# unseen-class AUROC is compared with.
#
#   bash scripts/benchmark_fmnist.sh ten                      # 0:1 1:2 ... 9:0, gamma_l 0 0.01 0.05, conv
#   bash scripts/benchmark_fmnist.sh 0:1 6:0 --gammas "0 0.05" --families "conv dense"
#
# Options (before or after the pairs):
#   PAIR            NORMAL:KNOWN class ids (0 T-shirt/top 1 Trouser 2 Pullover 3 Dress 4 Coat
#                   5 Sandal 6 Shirt 7 Sneaker 8 Bag 9 Ankle boot); "ten" = every class normal
#                   once, the next class known (9:0 last)
#   --gammas LIST   gamma_l values (default "0 0.01 0.05")
#   --families LIST conv | dense | vae, the configs configs/fmnist-<family>.json (default "conv")
#   --seed N        seed of the import and of the training (default 0)
#   --np N          MPI ranks (default 2)
#   --out DIR       (default bench_out/fmnist); runs already in OUT/runs.tsv are kept, not rerun
#   --fresh         drop OUT/runs.tsv first
#   --set KEY=VAL   a training config override for every run (repeatable)
#   --import ARGS   the cdae-import source and its options (default "fashion-mnist"; e.g.
#                   "idx --train-images ... --class-names ..." for another copy)
#   --no-setup      skip scripts/setup.sh and the dataset package (the build must exist)
set -euo pipefail
export LC_ALL=C  # printf %.1f and awk read and write numbers with a dot
cd "$(dirname "$0")/.."

pairs=() gammas="0 0.01 0.05" families="conv" seed=0 np=2 out=bench_out/fmnist
fresh=0 setup=1 import_args="fashion-mnist" sets=()
while (($#)); do
  case $1 in
    --gammas) gammas=$2; shift 2 ;;
    --families) families=$2; shift 2 ;;
    --seed) seed=$2; shift 2 ;;
    --np) np=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --fresh) fresh=1; shift ;;
    --set) sets+=(--set "$2"); shift 2 ;;
    --import) import_args=$2; shift 2 ;;
    --no-setup) setup=0; shift ;;
    ten) for c in 0 1 2 3 4 5 6 7 8 9; do pairs+=("$c:$(((c + 1) % 10))"); done; shift ;;
    *:*) [[ $1 =~ ^[0-9]+:[0-9]+$ ]] || { echo "benchmark_fmnist.sh: pair '$1' is not NORMAL:KNOWN (class ids)" >&2; exit 2; }
         pairs+=("$1"); shift ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "benchmark_fmnist.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
((${#pairs[@]})) || { echo "benchmark_fmnist.sh: no NORMAL:KNOWN pair given (e.g. 0:1, or ten)" >&2; exit 2; }
for f in $families; do
  [ -f "configs/fmnist-$f.json" ] || { echo "benchmark_fmnist.sh: no config configs/fmnist-$f.json for family '$f'" >&2; exit 2; }
done
for pair in "${pairs[@]}"; do
  [ "${pair%%:*}" != "${pair##*:}" ] ||
    { echo "benchmark_fmnist.sh: pair $pair: the known class must not be the normal one" >&2; exit 2; }
done

if ((setup)); then
  bash scripts/setup.sh
  if [ "$import_args" = fashion-mnist ] &&
     ! dpkg-query -W -f='${Status}' dataset-fashion-mnist 2>/dev/null | grep -q "install ok installed"; then
    sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends dataset-fashion-mnist
  fi
fi
BIN=${CDAE_BIN:-build}
PY=${CDAE_PYTHON:-/usr/bin/python3}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
mpirun=(mpirun --oversubscribe --bind-to none -np "$np")

mkdir -p "$out"
runs=$out/runs.tsv
((fresh)) && rm -f "$runs"
header="normal	known	gamma_l	family	contrastive	seed	config	auroc_all	auroc_unseen	auroc_known	latent_auroc_known	train_s	score_s	wall_s"
[ -s "$runs" ] || echo "$header" > "$runs"

# The contrastive kind a config trains with, after the --set overrides.
kind_of() {
  "$PY" - "$1" "${sets[@]}" <<'EOF'
import json, sys
c = json.load(open(sys.argv[1])).get("contrastive_loss", {})
kind, margin = c.get("kind", "seed"), c.get("recovery_margin", 0)
for a in sys.argv[2:]:
    if a.startswith("contrastive_loss.kind="): kind = a.split("=", 1)[1].strip('"')
    if a.startswith("contrastive_loss.recovery_margin="): margin = float(a.split("=", 1)[1])
print(kind + (f"+recovery_margin={margin:g}" if float(margin) > 0 else ""))
EOF
}

# Column $3 of summary.tsv $1 (6: auroc_vs_normal, 8: latent) in the row of class
# name $2 (row_by_name) or of label $2 (row_by_label; class names may be numbers too).
row_by_name() { awk -F'\t' -v row="$2" -v col="$3" 'NR > 1 && $1 == row { print $col; exit }' "$1"; }
row_by_label() { awk -F'\t' -v row="$2" -v col="$3" 'NR > 1 && $2 "" == row "" { print $col; exit }' "$1"; }

started=$SECONDS
total=$((${#pairs[@]} * $(echo $gammas | wc -w) * $(echo $families | wc -w))) done_runs=0 ran=0
# The import's identity: the data file is reused only for the same source and options.
import_id=$(echo "$import_args" | sha256sum | cut -c1-8)
for pair in "${pairs[@]}"; do
  normal=${pair%%:*} known=${pair##*:}
  for gamma in $gammas; do
    for family in $families; do
      done_runs=$((done_runs + 1))
      if awk -v g="$gamma" 'BEGIN { exit !(g + 0 == 0) }'; then kind=none; else kind=$(kind_of "configs/fmnist-$family.json"); fi
      # The run's identity: a run is kept only if its config file, overrides, data and ranks are unchanged.
      config_id=$({ cat "configs/fmnist-$family.json"; echo "${sets[*]}"; echo "$import_args"; echo "np=$np"; } |
                  sha256sum | cut -c1-8)
      key="$normal	$known	$gamma	$family	$kind	$seed	$config_id"
      if awk -v k="$key	" 'index($0, k) == 1 { found = 1 } END { exit !found }' "$runs"; then echo "== [$done_runs/$total] $pair gamma_l $gamma $family: in $runs, kept"; continue; fi
      run=$out/runs/n${normal}_k${known}_g${gamma}_${family}_s${seed}_${config_id}
      rm -rf "$run"; mkdir -p "$run"
      data=$out/data/n${normal}_k${known}_g${gamma}_s${seed}_${import_id}.h5
      if [ ! -s "$data" ]; then
        mkdir -p "$out/data"
        # shellcheck disable=SC2086  # import_args is a word list on purpose
        "$BIN/cdae-import" $import_args --normal "$normal" --known "$known" --known-ratio "$gamma" \
          --seed "$seed" --output "$data" > "$run/import.log"
      fi
      args=(--config "configs/fmnist-$family.json" --set "data.path=$data" --set "seed=$seed"
            --set "path_save_model=$run/model" --set "path_scratch=$run/scratch"
            --set "inference.results=$run/results" --set "inference.weights=$run/model/best.h5" "${sets[@]}")
      [ "$kind" = none ] && args+=(--set contrastive_loss.n_outliers=0 --set contrastive_loss.n_outliers_val=0)
      elapsed=$((SECONDS - started))
      eta=$((ran > 0 ? elapsed * (total - done_runs + 1) / ran : 0))  # kept runs took no time
      echo "== [$done_runs/$total, ${elapsed} s, ETA ${eta} s] normal $normal known $known gamma_l $gamma $family ($kind)"
      t0=$(date +%s.%N)
      "${mpirun[@]}" "$BIN/cdae-train" "${args[@]}" > "$run/train.log" 2>&1 ||
        { echo "benchmark_fmnist.sh: training failed, see $run/train.log:" >&2; tail -5 "$run/train.log" >&2; exit 1; }
      t1=$(date +%s.%N)
      "${mpirun[@]}" "$BIN/cdae-infer" "${args[@]}" > "$run/infer.log" 2>&1 ||
        { echo "benchmark_fmnist.sh: scoring failed, see $run/infer.log:" >&2; tail -5 "$run/infer.log" >&2; exit 1; }
      t2=$(date +%s.%N)
      s=$run/results/summary.tsv
      all=$(row_by_name "$s" "all anomalies" 6) unseen=$(row_by_name "$s" "unseen anomalies" 6)
      known_auroc=$(row_by_label "$s" 1 6) known_latent=$(row_by_label "$s" 1 8)
      train_s=$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }') score_s=$(awk -v a="$t1" -v b="$t2" 'BEGIN { print b - a }')
      printf '%s\t%s\t%s\t%s\t%s\t%.1f\t%.1f\t%.1f\n' "$key" "$all" "$unseen" "$known_auroc" "$known_latent" \
        "$train_s" "$score_s" "$(awk -v a="$train_s" -v b="$score_s" 'BEGIN { print a + b }')" >> "$runs"
      ran=$((ran + 1))
      grep -E '^# (progress|training)' "$run/train.log" | tail -1 || true
      echo "   AUROC all $all, unseen $unseen, known $known_auroc; train $(printf %.0f "$train_s") s, score $(printf %.0f "$score_s") s"
    done
  done
done

"$PY" python/benchmark_table.py "$runs" --summary-tsv "$out/summary.tsv" --means-only
echo "runs: $runs; means: $out/summary.tsv; each run's files under $out/runs/"
