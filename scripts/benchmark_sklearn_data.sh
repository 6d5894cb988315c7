#!/usr/bin/env bash
# The Deep SAD protocol of scripts/benchmark_fmnist.sh on two small real data
# sets that ship with Debian's python3-sklearn (nothing is downloaded), through
# `cdae-import table`:
#   digits         sklearn/datasets/data/digits.csv.gz: 1797 8x8 images of the
#                  digits 0-9, pixels 0..16 (scaled to [0, 1], stored (1, 8, 8));
#                  one digit normal, one other digit the known class, every digit
#                  in the test split (20% of each class drawn for it), as Fashion-MNIST
#   breast-cancer  sklearn/datasets/data/breast_cancer.csv: 569 tumours x 30
#                  features (standardized over the unlabelled train samples);
#                  benign normal, malignant the anomaly (pair 1:0; no unseen class)
# For each it runs the cdae families (configs/<set>-<family>.json) and the shallow
# baselines of python/baselines.py on the same files, then prints the tables.
#
#   bash scripts/benchmark_sklearn_data.sh                          # both, dense + 3 baselines, 10 digit pairs
#   bash scripts/benchmark_sklearn_data.sh digits --families "" --seeds "0 1 2"   # baselines only, 3 seeds
#   bash scripts/benchmark_sklearn_data.sh breast-cancer --list
#
# Options (the data set names and these; every other argument goes to
# scripts/benchmark_fmnist.sh, e.g. --families, --baselines, --seeds, --gammas,
# --np, --set, --fresh, --list, --no-setup: see its --help):
#   digits | breast-cancer   the data sets to run (default: both)
#   --pairs LIST      the digits' NORMAL:KNOWN pairs, or ten | all (default "ten")
#   --out DIR         results in DIR/digits and DIR/breast-cancer (default bench_out)
#   --sklearn-data DIR  where digits.csv.gz and breast_cancer.csv are (default: the
#                     data folder of the Python's sklearn.datasets)
# Defaults passed on: --families dense --baselines "iforest ocsvm supervised" --reference none
# --np 1 (a step on these few samples is too small to share: on 2 cores one rank
# trained a breast-cancer run in ~3 s, two ranks in 13-41 s).
set -euo pipefail
export LC_ALL=C
cd "$(dirname "$0")/.."

die() { echo "benchmark_sklearn_data.sh: $*" >&2; exit 2; }
sets=() digit_pairs="ten" out=bench_out sk_data="" list=0 passed=()
while (($#)); do
  case $1 in
    digits|breast-cancer) sets+=("$1"); shift ;;
    --pairs) digit_pairs=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --sklearn-data) sk_data=$2; shift 2 ;;
    --list) list=1; passed+=("$1"); shift ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    --fresh|--no-setup) passed+=("$1"); shift ;;
    --*) (($# >= 2)) || die "option '$1' needs a value (see --help)"; passed+=("$1" "$2"); shift 2 ;;
    *) die "unknown argument '$1': a data set (digits, breast-cancer) or an option (see --help)" ;;
  esac
done
((${#sets[@]})) || sets=(digits breast-cancer)
PY=${CDAE_PYTHON:-$PWD/.venv/bin/python3}
if [ -z "$sk_data" ]; then
  sk_data=$("$PY" -c 'import os, sklearn.datasets as d; print(os.path.join(os.path.dirname(d.__file__), "data"))') ||
    die "no scikit-learn in $PY (apt-get install python3-sklearn, or --sklearn-data DIR)"
fi

for set in "${sets[@]}"; do
  case $set in
    digits)
      file=$sk_data/digits.csv.gz names=0,1,2,3,4,5,6,7,8,9
      import="table --file $file --scale 0.0625 --sample-shape 1,8,8"
      # shellcheck disable=SC2206  # the pairs are a word list
      pairs=($digit_pairs) ;;
    breast-cancer)
      file=$sk_data/breast_cancer.csv names=malignant,benign
      import="table --file $file --skip-lines 1 --class-names $names --standardize"
      pairs=(1:0) ;;
  esac
  [ -f "$file" ] || die "$set: no $file (Debian's python3-sklearn ships it; or --sklearn-data DIR)"
  echo "=== $set: $file"
  bash scripts/benchmark_fmnist.sh "${pairs[@]}" --import "$import" --configs "configs/$set" --out "$out/$set" \
    --families dense --baselines "iforest ocsvm supervised" --reference none --np 1 "${passed[@]}"
  ((list)) || "$PY" python/benchmark_table.py "$out/$set/runs.tsv" --reference none --class-names "$names" \
    > "$out/$set/tables.md"
  ((list)) || echo "=== $set: the tables in $out/$set/tables.md"
done
