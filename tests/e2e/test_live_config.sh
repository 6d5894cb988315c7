#!/usr/bin/env bash
# The config file is re-read every epoch: a broken edit is reported and
# ignored (the run goes on), a valid edit of a live key takes effect.
# Usage: bash test_live_config.sh BUILD_DIR SOURCE_DIR
source "$(dirname "$0")/../support/lib.sh" "$@"
cfg=$T/live.json
$PY - "$SRC/configs/smoke.json" "$cfg" "$T" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
c.update(epochs=400, path_save_model=sys.argv[3] + "/model", path_scratch=sys.argv[3] + "/scratch")
json.dump(c, open(sys.argv[2], "w"), indent=1)
PY
wait_for() {  # wait_for PATTERN: until the log has it (60 s at most)
  for _ in $(seq 600); do grep -q "$1" "$T/train.log" 2>/dev/null && return 0; sleep 0.1; done
  echo "FAIL: timed out waiting for '$1'"; tail "$T/train.log"; exit 1
}
"$BIN/cdae-train" --config "$cfg" > "$T/train.log" 2>&1 &
pid=$!
wait_for '^epoch          2 '
cp "$cfg" "$T/good.json"
echo '{ "epochs": 12, ' > "$cfg"            # a broken edit
wait_for 'cannot be used'
sleep 1
# A valid edit: stop a few epochs from now, with another learning rate.
last=$(grep -c '^epoch ' "$T/train.log")
target=$((last + 4))
$PY -c "import json,sys; c=json.load(open('$T/good.json')); c['epochs']=$target; c['learning_rate']=0.001; json.dump(c, open('$cfg','w'))"
timeout 120 tail --pid=$pid -f /dev/null || true
rc=0; wait $pid || rc=$?
check "the run ends normally after the live edit" test "$rc" -eq 0
check "the broken edit was reported with the file name" grep -q "# warning: config '$cfg' was edited but cannot be used" "$T/train.log"
check "the new epoch count took effect" grep -q "^# config: epochs = $target" "$T/train.log"
check "the new learning rate took effect" grep -q "^# config: learning_rate = 0.001" "$T/train.log"
check "the run stopped at the new epoch count" test "$(grep -c '^epoch ' "$T/train.log")" -eq "$target"
[ "$failures" -eq 0 ] || { tail -n 20 "$T/train.log"; exit 1; }
echo "PASS: live config"
