#!/usr/bin/env bash
# A resume.h5 continues only the run that wrote it. Starting the contrastive
# phase after phase 1 was stopped by hand continues from phase 1's best.h5
# (as the reference does), not from phase 1's last state; the same phase
# resumes exactly; a resume.h5 of another phase with no best.h5 is refused,
# naming the file. And the conventional phase has no validation contrastive
# term even with n_outliers_val > 0 (as the reference).
# Usage: bash test_phase_rule.sh BUILD_DIR SOURCE_DIR
source "$(dirname "$0")/../support/lib.sh" "$@"
train() {  # train DIR N_OUTLIERS [more cdae-train options]: prints the exit status
  local dir=$1 n=$2; shift 2
  local rc=0
  "$BIN/cdae-train" --config "$SRC/configs/smoke.json" --set epochs=40 --set dtheta=2.0 \
    --set path_save_model="$dir/model" --set path_scratch="$dir/scratch" \
    --set contrastive_loss.n_outliers="$n" --set contrastive_loss.n_outliers_val=2 "$@" >> "$dir/train.log" 2>&1 || rc=$?
  echo $rc
}

# Phase 1, stopped by hand at epoch 25 (as SIGUSR1 would).
mkdir -p "$T/a"
rc=$(CDAE_TEST_STOP_EPOCH=25 train "$T/a" 0)
check "phase 1 stopped with status 75" test "$rc" = 75
check "phase 1 left resume.h5 and best.h5" test -s "$T/a/model/resume.h5" -a -s "$T/a/model/best.h5"
check "phase 1 printed no validation contrastive term (n_outliers 0, n_outliers_val 2)" \
  bash -c "grep '^epoch ' '$T/a/train.log' | awk '{ if (\$6 != \"0.00000\" || \$10 != \"0.00000\") bad = 1 } END { exit bad }'"
best_epoch=$(tail -n 1 "$T/a/model/best.txt" | awk '{print $1}')
cp -r "$T/a" "$T/b"   # the same state, for the refusal below

# Phase 2 on the same folder: from best.h5, not from resume.h5.
: > "$T/a/train.log"
rc=$(train "$T/a" 4)
check "phase 2 ran to the end" test "$rc" = 0
check "phase 2 said why it does not resume phase 1's resume.h5" \
  grep -q "resume.h5 was written by the conventional phase, but this config is the contrastive" "$T/a/train.log"
check "phase 2 continued from best.h5 at phase 1's best epoch ($best_epoch)" \
  grep -q "^# continuing from $T/a/model/best.h5 (epoch $best_epoch," "$T/a/train.log"
check "phase 2's first epoch is the one after phase 1's best" \
  grep -q "^epoch *$((best_epoch + 1)) " "$T/a/train.log"

# The same phase resumes exactly.
: > "$T/b/train.log"
rc=$(train "$T/b" 0 --set epochs=30)
check "phase 1 resumed with status 0" test "$rc" = 0
check "phase 1 resumed exactly from resume.h5 at epoch 25" \
  grep -q "^# resuming exactly from $T/b/model/resume.h5 (epoch 25," "$T/b/train.log"

# Another phase's resume.h5 and no best.h5: refused, naming the file.
mkdir -p "$T/c"
rc=$(CDAE_TEST_STOP_EPOCH=5 train "$T/c" 0)
check "a run stopped before epoch 10 has no best.h5" test ! -e "$T/c/model/best.h5"
rc=$(train "$T/c" 4)
check "phase 2 without best.h5 failed" test "$rc" != 0
check "the refusal names resume.h5 and says to remove it" \
  grep -q "'$T/c/model/resume.h5' belongs to another phase .* remove '$T/c/model/resume.h5'" "$T/c/train.log"

echo "$failures failed"
[ "$failures" -eq 0 ]
