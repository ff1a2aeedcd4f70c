#!/bin/bash
# Mutation testing of one pconvgan module with cosmic-ray
# (pip install -r requirements-mutation.txt): every mutant of
# pconvgan/MODULE.py that operators.toml keeps is applied, in a copy of the
# committed tree, and the module's tests below are run against it; a mutant
# the tests pass is a survivor. Resumable: run it again and it goes on.
#
#     tests/mutation/run.sh MODULE [WORK_DIR]   # default ~/mutation/MODULE
#
# Prints the survivors' diffs at the end (cr-report); docs/mutation.md
# keeps the scores and the survivors judged equivalent. Where a selection
# leaves out slow tests, run the survivors against the whole file after:
#     python tests/mutation/recheck.py WORK_DIR --tests "tests/test_masks.py ..."
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
MODULE=${1:?usage: tests/mutation/run.sh MODULE [WORK_DIR]}
WORK=${2:-$HOME/mutation/$MODULE}
case $MODULE in
  metrics) TESTS="tests/test_metrics.py" ;;
  evaluation) TESTS="tests/test_eval.py -m 'not slow'" ;;
  losses) TESTS="tests/test_losses.py tests/test_perceptual.py" ;;
  steps) TESTS="tests/test_step_configs.py tests/test_steps.py -m 'not slow'" ;;
  masks) TESTS="tests/test_masks.py tests/test_mask_strokes.py tests/test_mask_files.py tests/test_mask_command.py -m 'not slow'" ;;
  generator) TESTS="tests/test_generator.py tests/test_dihedral.py tests/test_regions.py::test_reached_is_where_the_network_sees_a_known_pixel tests/test_regions.py::test_one_pass_inpaint_warns_of_unreached_hole_pixels tests/test_weights.py -k 'not quick_start'" ;;
  discriminator) TESTS="tests/test_discriminator.py" ;;
  regions) TESTS="tests/test_regions.py" ;;
  inpaint_photos) TESTS="tests/test_inpaint.py" ;;
  poisson) TESTS="tests/test_poisson.py" ;;
  layers) TESTS="tests/test_layers.py tests/test_generator.py -k numpy" ;;
  *) echo "run.sh: no test selection for module '$MODULE'; add one here" >&2
     exit 2 ;;
esac
mkdir -p "$WORK"
# One XLA compilation cache for all the mutants' test runs (tests/conftest.py
# uses it instead of a fresh one per run): a mutant recompiles only the
# programs it changes, which for the JAX modules is most of a run's time.
export PCONVGAN_TEST_XLA_CACHE="$WORK/xla-cache"
mkdir -p "$PCONVGAN_TEST_XLA_CACHE"
if [ ! -d "$WORK/tree" ]; then  # mutants are written to disk: never the work tree
  git -C "$ROOT" worktree add --detach "$WORK/tree" HEAD
  git -C "$ROOT" rev-parse HEAD > "$WORK/commit"  # recheck.py checks it
fi
cat > "$WORK/config.toml" <<TOML
[cosmic-ray]
module-path = "pconvgan/$MODULE.py"
timeout = 600.0
excluded-modules = []
test-command = "python -m pytest -x -q -n 0 -p no:cacheprovider $TESTS"

[cosmic-ray.distributor]
name = "local"
TOML
# A run killed mid-mutant leaves that mutant written: start from the original.
git -C "$WORK/tree" checkout -- "pconvgan/$MODULE.py"
cd "$WORK/tree"
if [ ! -f "$WORK/session.sqlite" ]; then
  cosmic-ray init "$WORK/config.toml" "$WORK/session.sqlite"
  cr-filter-operators "$WORK/session.sqlite" "$ROOT/tests/mutation/operators.toml"
fi
cosmic-ray exec "$WORK/config.toml" "$WORK/session.sqlite"
cr-report --show-diff --surviving-only "$WORK/session.sqlite"
cr-report "$WORK/session.sqlite" | tail -3
