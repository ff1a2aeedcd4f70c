#!/bin/bash
# The paper's Figure 5 (the generator's fill after n iterations) from the
# Figure 4 runs: held-out photographs filled by checkpoints of one training,
# side by side, and the same checkpoints' figures on the curves' held-out
# crops, where colour shift measures the low frequencies (mean colour of the
# hole) and sharpness the details (gradient energy over the truth's).
#
#     experiments/paper_figure5.sh [RUNS_DIR] [CHECKPOINTS] [IMAGES] [LIMIT]
#
# CHECKPOINTS: VARIANT@STEP words (default g1 at 500, 1000, 2000, 5000 and
# 10,000 steps); IMAGES: file names in ~/data/photos/test, one grid row each;
# LIMIT: the first LIMIT held-out crops for the figures (0: all; give
# paper_curves.sh's LIMIT to score the curves' crops). Writes
# RUNS_DIR/figure5/grid.png (masked input | each checkpoint | truth; the
# fills are composites) and RUNS_DIR/figure5_crops/results.md.
set -euo pipefail
set -f  # CHECKPOINTS and IMAGES are split into words, never globbed
cd "$(dirname "$0")/.."
RUNS=${1:-$HOME/runs/paper}
CHECKPOINTS=${2:-g1@500 g1@1000 g1@2000 g1@5000 g1@10000}
IMAGES=${3:-gcompris-qt-data__details__EgeskovSlotSpejling_background__s256_r0c0.png gcompris-qt-data__categorization__fish9__s256_r0c0.png}
LIMIT=${4:-160}
TEST="$HOME/data/photos/test"
ckpts=()
for c in $CHECKPOINTS; do
  [[ $c == *@* ]] || { echo "paper_figure5: $c is not VARIANT@STEP" >&2; exit 2; }
  dir="$RUNS/${c%@*}/checkpoints/${c#*@}"
  [ -d "$dir" ] || { echo "paper_figure5: no checkpoint $dir" >&2; exit 1; }
  ckpts+=(--ckpt "$dir")
done
chosen=$(mktemp -d)
trap 'rm -rf "$chosen"' EXIT
rows=0
for name in $IMAGES; do
  [[ $name != */* && -f "$TEST/$name" ]] || {
    echo "paper_figure5: no image $name in $TEST" >&2; exit 1; }
  ln -s "$TEST/$name" "$chosen/$(printf %04d $rows)_$name"  # the given order
  rows=$((rows + 1))
done
python3 eval.py "${ckpts[@]}" --data "$chosen" --masks paper --baselines= \
  --nolpips --grid "$rows" --out "$RUNS/figure5"
python3 eval.py "${ckpts[@]}" --data "$TEST" --masks paper --limit "$LIMIT" \
  --baselines= --grid 0 --out "$RUNS/figure5_crops"
