#!/bin/bash
# Held-out curves of the Figure 4 runs: every EVERY-th checkpoint of each
# variant, the generator alone, on the corpus' held-out crops with the
# paper's masks (the first LIMIT crops; 0: all). One line per checkpoint in
# RUNS_DIR/curves.md; checkpoints already there are skipped, so it can run
# again at any time, beside the training or after it.
#
#     experiments/paper_curves.sh [RUNS_DIR] [EVERY] [LIMIT]
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-$HOME/runs/paper}
EVERY=${2:-5000}
LIMIT=${3:-160}
CURVES="$RUNS/curves.md"
mkdir -p "$RUNS/eval"
[ -f "$CURVES" ] || echo "| variant | step | crops | hole L1 % | PSNR dB | SSIM | LPIPS | sharpness | colour shift | checkerboard |" > "$CURVES"
for v in g1 a b c d; do
  [ -d "$RUNS/$v/checkpoints" ] || continue
  for step in $(ls "$RUNS/$v/checkpoints" | grep -E '^[0-9]+$' | sort -n); do
    [ $((step % EVERY)) -eq 0 ] || continue
    grep -q "^| $v | $step |" "$CURVES" && continue
    out="$RUNS/eval/${v}_$step"
    nice -n 5 python3 eval.py --ckpt "$RUNS/$v/checkpoints/$step" \
      --data "$HOME/data/photos/test" --masks paper --limit "$LIMIT" \
      --baselines= --grid 0 --out "$out" > "$out.log" 2>&1 || {
        echo "paper_curves: $v@$step failed, see $out.log"; continue; }
    row=$(grep -E "^\| [^ ]+@$step " "$out/results.md" | head -1 | cut -d'|' -f3-)
    echo "| $v | $step |$row" >> "$CURVES"
  done
done
