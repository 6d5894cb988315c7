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

rm -rf "$T/out"
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
