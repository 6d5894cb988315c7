#!/usr/bin/env bash
# cdae-import's command line on a tiny table: --help lists every flag, a good
# import exits 0 with its summary and writes the layout, bad input exits 1 with
# "cdae-import: error:" naming the file / line / option and leaves no output.
# Usage: bash test_import_cli.sh BUILD_DIR SOURCE_DIR (only cdae-import is used)
source "$(dirname "$0")/../support/lib.sh" "$@"
IMPORT="$BIN/cdae-import"

# 40 rows of two features and a label: 30 "ok", 10 "bad".
{
  echo "x,y,kind"
  for k in $(seq 0 39); do
    if [ $((k % 4)) -eq 0 ]; then kind=bad; else kind=ok; fi
    echo "$k,-$k,$kind"
  done
} > "$T/t.csv"

echo "CHECK: --help exits 0 and lists every flag of import_main.cpp"
rc=0; "$IMPORT" --help > "$T/help.txt" 2>&1 || rc=$?
flags=$(grep -ohE '^\s*\("([a-z],)?[a-z][a-z-]+",' "$SRC/src/app/import_main.cpp" |
        sed -E 's/^\s*\("([a-z],)?([a-z-]+)",/\2/' | sort -u)
missing=""
for f in $flags; do grep -qE -- "--$f\b" "$T/help.txt" || missing="$missing --$f"; done
if [ "$rc" -eq 0 ] && [ -z "$missing" ] && [ "$(echo $flags | wc -w)" -ge 10 ]; then
  echo "PASS: --help"
else
  echo "FAIL: --help: exit $rc, missing:$missing"; failures=$((failures + 1))
fi

echo "CHECK: a table import exits 0, prints its summary and writes the file"
if "$IMPORT" table --file "$T/t.csv" --label-column kind --normal ok --known bad --known-count 3 \
     --seed 1 --output "$T/out/d.h5" > "$T/ok.log" 2>&1 &&
   grep -qE '^total' "$T/ok.log" && grep -qE '^1 +bad +3 +1 +2$' "$T/ok.log" && [ -s "$T/out/d.h5" ]; then
  echo "PASS: table import"
else
  echo "FAIL: table import:"; sed 's/^/    /' "$T/ok.log"; failures=$((failures + 1))
fi
if "$PY" -c "import h5py" 2>/dev/null; then
  check "the file holds the layout" "$PY" - "$T/out/d.h5" <<'EOF'
import sys, h5py
f = h5py.File(sys.argv[1], "r")
n = f["samples"].shape[0]
assert f["samples"].shape == (n, 2) and f["samples"].dtype == "float32", f["samples"]
assert f["samples"].chunks == (n, 2), f["samples"].chunks  # n < 256 rows: one chunk
assert f["labels"].shape == (n,) and f["split"].dtype == "uint8"
assert f.attrs["class_names"] == "ok,bad", f.attrs["class_names"]
assert "--known-count 3" in f.attrs["description"] and "m = 3" in f.attrs["description"]
EOF
fi

echo "CHECK: a gzipped table with a metadata line, class names, scale, image shape and standardization"
# As scikit-learn ships its tables: "rows,features,names..." on top, labels 0/1 last; 4 features -> (1, 2, 2).
{ echo "40,4,bad,ok"; for k in $(seq 0 39); do echo "$k,$((2 * k)),7,$((k % 5)),$((k % 4 ? 1 : 0))"; done; } |
  gzip > "$T/sk.csv.gz"
if "$IMPORT" table --file "$T/sk.csv.gz" --skip-lines 1 --class-names bad,ok --scale 0.5 --sample-shape 1,2,2 \
     --standardize --normal ok --known bad --known-count 3 --output "$T/out/sk.h5" > "$T/sk.log" 2>&1 &&
   grep -q '^# scaling: features standardized with the mean and standard deviation of the 22 unlabelled train samples (1 constant, only centred)$' "$T/sk.log"; then
  echo "PASS: sklearn-style table"
else
  echo "FAIL: sklearn-style table:"; sed 's/^/    /' "$T/sk.log"; failures=$((failures + 1))
fi
if "$PY" -c "import h5py" 2>/dev/null; then
  check "its file: (N, 1, 2, 2) samples standardized over the unlabelled train rows" "$PY" - "$T/out/sk.h5" <<'EOF'
import sys, h5py, numpy as np
f = h5py.File(sys.argv[1], "r")
x, labels, split = f["samples"][()], f["labels"][()], f["split"][()]
assert x.shape[1:] == (1, 2, 2) and x.dtype == np.float32, x.shape
assert f.attrs["class_names"] == "ok,bad", f.attrs["class_names"]
train = x[(split == 0) & (labels != 1)].reshape(-1, 4)
assert np.allclose(train.mean(0), 0, atol=1e-5) and np.allclose(train.std(0), [1, 1, 0, 1], atol=1e-5), train.std(0)
assert "--standardize" in f.attrs["description"] and "scaling: features standardized" in f.attrs["description"]
EOF
fi

rm -rf "$T/out"
expect_failure "a metadata line is pointed at --skip-lines" "(if the first line is metadata, drop it with --skip-lines 1)" \
  "$IMPORT" table --file "$T/sk.csv.gz" --normal 1 --output "$T/out/d.h5"
expect_failure "--sample-shape must hold the features" "--sample-shape (1, 3, 3) holds 9 values" \
  "$IMPORT" table --file "$T/sk.csv.gz" --skip-lines 1 --sample-shape 1,3,3 --normal 1 --output "$T/out/d.h5"
expect_failure "--class-names must name every class" "--class-names 'a' names 1 classes" \
  "$IMPORT" table --file "$T/sk.csv.gz" --skip-lines 1 --class-names a --normal 1 --output "$T/out/d.h5"
expect_failure "--standardize is a table option" "--standardize is an option of 'table'" \
  "$IMPORT" png --folder "$T" --standardize --normal 0 --output "$T/out/d.h5"
expect_failure "missing table names the file" "cdae-import: error: table '$T/none.csv' cannot be opened" \
  "$IMPORT" table --file "$T/none.csv" --normal ok --output "$T/out/d.h5"
printf 'x,y,kind\n1,2,ok\n3,zz,bad\n' > "$T/bad.csv"
expect_failure "a text cell names line and column" "line 3 column 2 (y): 'zz' is not a finite number" \
  "$IMPORT" table --file "$T/bad.csv" --normal ok --output "$T/out/d.h5"
expect_failure "an unknown class is refused" "--known 'dent' is not a class" \
  "$IMPORT" table --file "$T/t.csv" --normal ok --known dent --output "$T/out/d.h5"
expect_failure "--output is required" "--output FILE.h5 is required" \
  "$IMPORT" table --file "$T/t.csv" --normal ok
expect_failure "an option of another source is refused" "--folder is an option of 'png'" \
  "$IMPORT" table --file "$T/t.csv" --folder "$T" --normal ok --output "$T/out/d.h5"
check "no output after the failures" test ! -e "$T/out/d.h5"
finish
