"""Precise batch-norm statistics against statistics computed by hand."""

import jax
import jax.numpy as jnp
import numpy as np

import pconvgan
from pconvgan import calibration

CFG = pconvgan.GeneratorConfig(width=0.125)


def batches(n, seed=0, size=32):
  rng = np.random.default_rng(seed)
  out = []
  for _ in range(n):
    mask = np.ones((4, size, size, 1), np.float32)
    mask[:, 8:20, 4:16] = 0
    out.append({"image": rng.random((4, size, size, 3), np.float32), "mask": mask})
  return out


def test_one_batch_gives_that_batchs_statistics():
  variables = pconvgan.init(jax.random.key(0), CFG)
  (batch,) = batches(1)
  stats = calibration.batch_statistics(variables, batch["image"], batch["mask"],
                                       CFG)
  # Inference with a batch's own statistics must reproduce training mode on
  # that batch (which normalises by the batch's statistics).
  # Training normalises by the biased variance, the stored one is unbiased:
  # undo that over each layer's n = B * H * W values.
  b, size = batch["image"].shape[:2]
  sides = {f"enc{i}": size >> i for i in range(2, 6)}
  sides.update({f"dec{j}": size >> (5 - j) for j in range(1, 6)})
  biased = {name: {"mean": s["mean"],
                   "var": s["var"] * (b * sides[name] ** 2 - 1)
                   / (b * sides[name] ** 2)} for name, s in stats.items()}
  calibrated = dict(variables, batch_stats=biased)
  train_out, _ = pconvgan.apply(variables, batch["image"], batch["mask"],
                                train=True, config=CFG)
  eval_out = pconvgan.apply(calibrated, batch["image"], batch["mask"],
                            config=CFG)
  np.testing.assert_allclose(train_out, eval_out, atol=1e-4)
  assert float(jnp.abs(train_out - pconvgan.apply(
      variables, batch["image"], batch["mask"], config=CFG)).max()) > 0.01


def test_several_batches_pool_mean_and_variance():
  variables = pconvgan.init(jax.random.key(0), CFG)
  bs = batches(3, seed=1)
  per_batch = [calibration.batch_statistics(variables, b["image"], b["mask"],
                                            CFG) for b in bs]
  pooled = calibration.recalibrate(variables, bs, CFG)["batch_stats"]
  for name in pooled:
    means = np.stack([np.asarray(s[name]["mean"]) for s in per_batch])
    variances = np.stack([np.asarray(s[name]["var"]) for s in per_batch])
    np.testing.assert_allclose(pooled[name]["mean"], means.mean(0), rtol=1e-5,
                               atol=1e-6)
    np.testing.assert_allclose(pooled[name]["var"],
                               variances.mean(0) + means.var(0), rtol=1e-5,
                               atol=1e-6)
  # max_batches stops early: the first batch alone.
  first = calibration.recalibrate(variables, bs, CFG, max_batches=1)
  np.testing.assert_allclose(first["batch_stats"]["dec5"]["mean"],
                             per_batch[0]["dec5"]["mean"], rtol=1e-6)
