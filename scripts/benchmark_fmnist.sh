#!/usr/bin/env bash
# Deep SAD's semi-supervised benchmark (Ruff et al., ICLR 2020) on Fashion-MNIST:
# one class normal, the other nine anomalies; a fraction gamma_l = m / (n + m)
# of labelled anomalies from ONE known class joins the training split; the test
# split holds all ten classes (1000 each), so eight anomaly classes were never
# seen. For every seed, (normal, known) pair and gamma_l it imports the data,
# trains each family under mpirun and scores the test split, runs the shallow
# baselines (python/baselines.py) on the same file, then writes
#   OUT/runs.tsv     one row per run: pair, gamma_l, family (or baseline), contrastive
#                    kind, seed, AUROC on the whole test split (normal vs the nine
#                    anomaly classes), on the unseen classes only, of the known class,
#                    the known class's latent AUROC, train / score / wall seconds;
#                    `config` is a hash of the config file and the --set overrides
#                    (of python/baselines.py for a baseline), the import and the ranks
#   OUT/summary.tsv  means over the pairs per (gamma_l, family, config): the mean over
#                    seeds of each seed's mean over the pairs, and its spread
#   OUT/score-cache  iforest and ocsvm test scores, fitted once per normal class and seed
#                    and reused for every known class and gamma_l (python/baselines.py)
# gamma_l = 0 trains each family as a plain autoencoder (no labelled anomalies,
# no contrastive term): Deep SAD's unsupervised row and the baseline the
# unseen-class AUROC is compared with.
#
#   bash scripts/benchmark_fmnist.sh ten                      # 0:1 1:2 ... 9:0, gamma_l 0 0.01 0.05, conv
#   bash scripts/benchmark_fmnist.sh 0:1 6:0 --gammas "0 0.05" --families "conv dense"
#   bash scripts/benchmark_fmnist.sh ten --families dense --seeds "0 1 2"        # 3 seeds
#   bash scripts/benchmark_fmnist.sh all --families "conv dense" --baselines "iforest ocsvm supervised"
#   bash scripts/benchmark_fmnist.sh all --list               # the 270 planned runs, kept or to run
#
# Options (before or after the pairs):
#   PAIR            NORMAL:KNOWN class ids (0 T-shirt/top 1 Trouser 2 Pullover 3 Dress 4 Coat
#                   5 Sandal 6 Shirt 7 Sneaker 8 Bag 9 Ankle boot); "ten" = every class normal
#                   once, the next class known (9:0 last); "all" = every ordered pair of two
#                   different classes (90 with ten classes, Deep SAD's full protocol)
#   --classes N     the class ids "ten" and "all" range over: 0 .. N-1 (default 10)
#   --gammas LIST   gamma_l values (default "0 0.01 0.05")
#   --families LIST cdae families: conv | dense | vae, the configs PREFIX-<family>.json
#                   (default "conv"; "" for none, with --baselines)
#   --configs PREFIX  the family configs' prefix (default configs/fmnist)
#   --baselines LIST  shallow baselines run on each imported file after the families:
#                   iforest | ocsvm | supervised (python/baselines.py --help); supervised
#                   needs labelled anomalies and is not run at gamma_l 0 (default "")
#   --seeds LIST    seeds of the import and of the training, one run each (default "0");
#                   the runs go seed by seed, so an early stop leaves whole seeds
#   --seed N        the same as --seeds N
#   --np N          MPI ranks (default 2)
#   --out DIR       (default bench_out/fmnist); runs already in OUT/runs.tsv are kept, not rerun,
#                   so an interrupted benchmark resumes with the same command
#   --fresh         drop OUT/runs.tsv first
#   --list          print the planned runs (kept or to run) and their count, run nothing
#   --set KEY=VAL   a training config override for every run (repeatable)
#   --import ARGS   the cdae-import source and its options (default "fashion-mnist"; e.g.
#                   "idx --train-images ... --class-names ..." for another copy)
#   --reference R   the published figures the means table sits beside: fmnist (Deep SAD's)
#                   or none (default fmnist)
#   --no-setup      skip scripts/setup.sh and the dataset package (the build must exist)
set -euo pipefail
export LC_ALL=C  # printf %.1f and awk read and write numbers with a dot
cd "$(dirname "$0")/.."

die() { echo "benchmark_fmnist.sh: $*" >&2; exit 2; }

pair_args=() gammas="0 0.01 0.05" families="conv" baselines="" seeds="0" np=2 out=bench_out/fmnist
classes=10 config_prefix=configs/fmnist fresh=0 setup=1 list=0 import_args="fashion-mnist" reference=fmnist sets=()
while (($#)); do
  case $1 in
    --gammas) gammas=$2; shift 2 ;;
    --families) families=$2; shift 2 ;;
    --baselines) baselines=$2; shift 2 ;;
    --configs) config_prefix=$2; shift 2 ;;
    --classes) classes=$2; shift 2 ;;
    --seed|--seeds) seeds=$2; shift 2 ;;
    --np) np=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --fresh) fresh=1; shift ;;
    --list) list=1; shift ;;
    --set) sets+=(--set "$2"); shift 2 ;;
    --import) import_args=$2; shift 2 ;;
    --reference) reference=$2; shift 2 ;;
    --no-setup) setup=0; shift ;;
    ten|all) pair_args+=("$1"); shift ;;
    *:*) [[ $1 =~ ^[0-9]+:[0-9]+$ ]] || die "pair '$1' is not NORMAL:KNOWN (class ids)"
         pair_args+=("$1"); shift ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument '$1' (see --help)" ;;
  esac
done

# ---------------------------------------------------------------- the plan
if ! [[ $classes =~ ^[0-9]+$ ]] || ((classes < 2)); then die "--classes '$classes' is not a class count >= 2"; fi
pairs=()
add_pair() { local p; for p in "${pairs[@]}"; do [ "$p" != "$1" ] || return 0; done; pairs+=("$1"); }
for arg in "${pair_args[@]}"; do
  case $arg in
    ten) for ((c = 0; c < classes; c++)); do add_pair "$c:$(((c + 1) % classes))"; done ;;
    all) for ((n = 0; n < classes; n++)); do for ((k = 0; k < classes; k++)); do
           ((n == k)) || add_pair "$n:$k"; done; done ;;
    *) add_pair "$arg" ;;
  esac
done
((${#pairs[@]})) || die "no NORMAL:KNOWN pair given (e.g. 0:1, ten or all)"
for pair in "${pairs[@]}"; do
  [ "${pair%%:*}" != "${pair##*:}" ] || die "pair $pair: the known class must not be the normal one"
done
for g in $gammas; do
  awk -v g="$g" 'BEGIN { exit !(g ~ /^[0-9]*\.?[0-9]+$/ && g + 0 < 1) }' || die "--gammas: '$g' is not a gamma_l in [0, 1)"
done
[ -n "${gammas// }" ] || die "--gammas is empty"
for s in $seeds; do [[ $s =~ ^[0-9]+$ ]] || die "--seeds: '$s' is not a non-negative integer seed"; done
[ -n "${seeds// }" ] || die "--seeds is empty"
for f in $families; do
  [ -f "$config_prefix-$f.json" ] || die "no config $config_prefix-$f.json for family '$f'"
done
for b in $baselines; do
  case $b in iforest|ocsvm|supervised) ;; *) die "--baselines: unknown baseline '$b' (iforest, ocsvm, supervised)" ;; esac
done
[ -n "${families// }${baselines// }" ] || die "no family and no baseline to run (--families, --baselines)"
case $reference in fmnist|none) ;; *) die "--reference '$reference': fmnist or none" ;; esac

is_zero() { awk -v g="$1" 'BEGIN { exit !(g + 0 == 0) }'; }
# One line per run, in running order: seed, normal, known, gamma_l, method (family or baseline).
plan=()
for seed in $seeds; do
  for pair in "${pairs[@]}"; do
    for gamma in $gammas; do
      for method in $families $baselines; do
        [ "$method" = supervised ] && is_zero "$gamma" && continue  # no labelled anomalies to learn from
        plan+=("$seed ${pair%%:*} ${pair##*:} $gamma $method")
      done
    done
  done
done

if ((setup && !list)); then
  bash scripts/setup.sh
  if [ "$import_args" = fashion-mnist ] &&
     ! dpkg-query -W -f='${Status}' dataset-fashion-mnist 2>/dev/null | grep -q "install ok installed"; then
    sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends dataset-fashion-mnist
  fi
fi
BIN=${CDAE_BIN:-build}
PY=${CDAE_PYTHON:-$PWD/.venv/bin/python3}   # the venv of scripts/setup.sh
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
mpirun=(mpirun --oversubscribe --bind-to none -np "$np")

runs=$out/runs.tsv
header="normal	known	gamma_l	family	contrastive	seed	config	auroc_all	auroc_unseen	auroc_known	latent_auroc_known	train_s	score_s	wall_s"
if ((!list)); then
  mkdir -p "$out"
  ((fresh)) && rm -f "$runs"
  [ -s "$runs" ] || echo "$header" > "$runs"
fi

# ---------------------------------------------------------------- identities
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
# The import's identity: the data file is reused only for the same source and options.
import_id=$(echo "$import_args" | sha256sum | cut -c1-8)
# A run's identity: it is kept only if its config file (python/baselines.py for a
# baseline), overrides, data and ranks are unchanged.
declare -A config_of kind_with_labels
for f in $families; do
  config_of[$f]=$({ cat "$config_prefix-$f.json"; echo "${sets[*]}"; echo "$import_args"; echo "np=$np"; } |
                  sha256sum | cut -c1-8)
  kind_with_labels[$f]=$(kind_of "$config_prefix-$f.json")
done
for b in $baselines; do
  config_of[$b]=$({ cat python/baselines.py; echo "$b"; echo "$import_args"; } | sha256sum | cut -c1-8)
  kind_with_labels[$b]=none
done
is_baseline() { [[ " $baselines " == *" $1 "* ]]; }
kind_for() { if is_baseline "$2" || is_zero "$1"; then echo none; else echo "${kind_with_labels[$2]}"; fi; }
run_key() {  # "seed normal known gamma method" (a line of the plan)
  local seed normal known gamma method
  read -r seed normal known gamma method <<< "$1"
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s' "$normal" "$known" "$gamma" "$method" "$(kind_for "$gamma" "$method")" \
    "$seed" "${config_of[$method]}"
}
is_kept() { [ -f "$runs" ] && awk -v k="$1	" 'index($0, k) == 1 { found = 1 } END { exit !found }' "$runs"; }

if ((list)); then
  kept=0
  for entry in "${plan[@]}"; do
    read -r seed normal known gamma method <<< "$entry"
    if is_kept "$(run_key "$entry")"; then state=kept; kept=$((kept + 1)); else state="to run"; fi
    printf 'seed %s  normal %s  known %s  gamma_l %s  %s: %s\n' "$seed" "$normal" "$known" "$gamma" "$method" "$state"
  done
  echo "# ${#plan[@]} runs (${#pairs[@]} pairs x $(echo "$gammas" | wc -w) gamma_l x $(echo "$seeds" | wc -w) seeds;" \
       "$kept kept in $runs, $((${#plan[@]} - kept)) to run)"
  exit 0
fi

# ---------------------------------------------------------------- one run
# Column $3 of summary.tsv $1 (6: auroc_vs_normal, 8: latent) in the row of class
# name $2 (row_by_name) or of label $2 (row_by_label; class names may be numbers too);
# n/a where there is no such row (e.g. no unseen class).
row_by_name() { awk -F'\t' -v row="$2" -v col="$3" 'NR > 1 && $1 == row { v = $col; exit } END { print v == "" ? "n/a" : v }' "$1"; }
row_by_label() { awk -F'\t' -v row="$2" -v col="$3" 'NR > 1 && $2 "" == row "" { v = $col; exit } END { print v == "" ? "n/a" : v }' "$1"; }

ensure_data() {  # seed normal known gamma run_dir -> prints the data file
  local data=$out/data/n${2}_k${3}_g${4}_s${1}_${import_id}.h5
  if [ ! -s "$data" ]; then
    mkdir -p "$out/data"
    # shellcheck disable=SC2086  # import_args is a word list on purpose
    "$BIN/cdae-import" $import_args --normal "$2" --known "$3" --known-ratio "$4" --seed "$1" --output "$data" \
      > "$5/import.log" 2>&1 || { echo "benchmark_fmnist.sh: import failed, see $5/import.log:" >&2; tail -5 "$5/import.log" >&2; exit 1; }
  fi
  echo "$data"
}

run_family() {  # key run_dir data seed gamma family
  local key=$1 run=$2 data=$3 seed=$4 gamma=$5 family=$6
  local args=(--config "$config_prefix-$family.json" --set "data.path=$data" --set "seed=$seed"
              --set "path_save_model=$run/model" --set "path_scratch=$run/scratch"
              --set "inference.results=$run/results" --set "inference.weights=$run/model/best.h5" "${sets[@]}")
  is_zero "$gamma" && args+=(--set contrastive_loss.n_outliers=0 --set contrastive_loss.n_outliers_val=0)
  local t0 t1 t2
  t0=$(date +%s.%N)
  "${mpirun[@]}" "$BIN/cdae-train" "${args[@]}" > "$run/train.log" 2>&1 ||
    { echo "benchmark_fmnist.sh: training failed, see $run/train.log:" >&2; tail -5 "$run/train.log" >&2; exit 1; }
  t1=$(date +%s.%N)
  "${mpirun[@]}" "$BIN/cdae-infer" "${args[@]}" > "$run/infer.log" 2>&1 ||
    { echo "benchmark_fmnist.sh: scoring failed, see $run/infer.log:" >&2; tail -5 "$run/infer.log" >&2; exit 1; }
  t2=$(date +%s.%N)
  local s=$run/results/summary.tsv train_s score_s
  train_s=$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }') score_s=$(awk -v a="$t1" -v b="$t2" 'BEGIN { print b - a }')
  printf '%s\t%s\t%s\t%s\t%s\t%.1f\t%.1f\t%.1f\n' "$key" "$(row_by_name "$s" "all anomalies" 6)" \
    "$(row_by_name "$s" "unseen anomalies" 6)" "$(row_by_label "$s" 1 6)" "$(row_by_label "$s" 1 8)" \
    "$train_s" "$score_s" "$(awk -v a="$train_s" -v b="$score_s" 'BEGIN { print a + b }')" >> "$runs"
  grep -E '^# (progress|training)' "$run/train.log" | tail -1 || true
}

run_baseline() {  # key run_dir data seed gamma method normal known
  local run=$2
  "$PY" python/baselines.py "$3" --methods "$6" --seed "$4" --normal "$7" --known "$8" --gamma-l "$5" \
      --config "${config_of[$6]}" --runs "$runs" --score-cache "$out/score-cache" > "$run/baseline.log" 2>&1 ||
    { echo "benchmark_fmnist.sh: baseline $6 failed, see $run/baseline.log:" >&2; tail -5 "$run/baseline.log" >&2; exit 1; }
}

# ---------------------------------------------------------------- the runs
# ETA: the runs left of each method times that method's mean time so far (the
# mean of every run so far for a method not yet run); kept runs took no time.
declare -A left spent done_of
for m in $families $baselines; do left[$m]=0 spent[$m]=0 done_of[$m]=0; done
for entry in "${plan[@]}"; do m=${entry##* }; left[$m]=$((left[$m] + 1)); done
eta_seconds() {
  local m lines=""
  for m in $families $baselines; do lines+="${left[$m]} ${spent[$m]} ${done_of[$m]}"$'\n'; done
  awk '{ l[NR] = $1; s[NR] = $2; d[NR] = $3; S += $2; D += $3 }
       END { if (D == 0) { print "?"; exit } for (i = 1; i <= NR; i++) e += l[i] * (d[i] ? s[i] / d[i] : S / D); printf "%.0f\n", e }' <<< "$lines"
}

started=$SECONDS total=${#plan[@]} index=0
for entry in "${plan[@]}"; do
  read -r seed normal known gamma method <<< "$entry"
  index=$((index + 1))
  key=$(run_key "$entry")
  label="seed $seed normal $normal known $known gamma_l $gamma $method ($(kind_for "$gamma" "$method"))"
  if is_kept "$key"; then
    echo "== [$index/$total] $label: in $runs, kept"; left[$method]=$((left[$method] - 1)); continue
  fi
  run=$out/runs/n${normal}_k${known}_g${gamma}_${method}_s${seed}_${config_of[$method]}
  rm -rf "$run"; mkdir -p "$run"
  data=$(ensure_data "$seed" "$normal" "$known" "$gamma" "$run")
  echo "== [$index/$total, $((SECONDS - started)) s, ETA $(eta_seconds) s] $label"
  t0=$(date +%s.%N)
  if is_baseline "$method"; then
    run_baseline "$key" "$run" "$data" "$seed" "$gamma" "$method" "$normal" "$known"
  else
    run_family "$key" "$run" "$data" "$seed" "$gamma" "$method"
  fi
  spent[$method]=$(awk -v a="$t0" -v b="$(date +%s.%N)" -v s="${spent[$method]}" 'BEGIN { print s + b - a }')
  done_of[$method]=$((done_of[$method] + 1)) left[$method]=$((left[$method] - 1))
  tail -1 "$runs" | awk -F'\t' '{ printf "   AUROC all %s, unseen %s, known %s; train %.0f s, score %.0f s\n", $8, $9, $10, $12, $13 }'
done

"$PY" python/benchmark_table.py "$runs" --summary-tsv "$out/summary.tsv" --means-only --reference "$reference"
echo "runs: $runs; means: $out/summary.tsv; each run's files under $out/runs/"
