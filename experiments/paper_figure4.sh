#!/bin/bash
# The paper's Figure 4 experiment on a CPU (configs/paper_cpu.py): trains
# the shared generator-only phase g1, then the variants (a) full, (b) L_MSE
# only, (c) no local discriminators and (d) ordinary convolutions, one after
# another. Resumable: run it again after a stop and each run goes on from
# its newest checkpoint; finished runs are skipped.
#
#     experiments/paper_figure4.sh [RUNS_DIR]     # default ~/runs/paper
#
# The runs directory must be ~/runs/paper for (a)-(c) to find g1 (the
# config's init_from), unless --config.train.init_from is changed as well.
# experiments/paper_curves.sh evaluates the checkpoints as they appear.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-$HOME/runs/paper}
mkdir -p "$RUNS"
total() {  # the last step of a variant's schedule
  python3 -c "import sys; sys.path.insert(0, '.'); from configs import paper_cpu as p; print(sum(p.get_config('$1').train.phase_steps))"
}
for v in g1 a b c d; do
  if [ -d "$RUNS/$v/checkpoints/$(total $v)" ]; then
    echo "paper_figure4: $v is done"
    continue
  fi
  echo "paper_figure4: training $v ($(date -u +%F\ %T))"
  python3 train.py --config "configs/paper_cpu.py:$v" --workdir "$RUNS/$v"
done
echo "paper_figure4: all variants done ($(date -u +%F\ %T))"
