"""Fine-tunes the shipped generator inside a plain Flax training loop.

The generator is ``pconvgan.linen.Generator``; its variables are the
shipped weights as they are, the optimiser state is Flax's ``TrainState``
and the batch statistics travel beside it, as in the Flax examples.

    python examples/finetune_linen.py --images MY_PHOTOS --steps 200 --out mine.msgpack

It saves what it trained as a weights file (``--out``) that
``pconvgan.weights.load``, ``inpaint_photos --ckpt`` and ``eval.py --ckpt``
take.
"""

import argparse

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax.training import train_state

import pconvgan
from pconvgan import data
from pconvgan import linen
from pconvgan import masks
from pconvgan import weights


class TrainState(train_state.TrainState):
  batch_stats: dict


def batches(folder, size, batch_size, seed=0):
  """Random crops of the photographs in ``folder`` with free-form holes."""
  rng = np.random.default_rng(seed)
  photos = [data.load_image(p) for p in data.list_images(folder)]
  while True:
    picks = rng.integers(0, len(photos), batch_size)
    images = np.stack([data.crop_to_array(photos[i], size, rng) for i in picks])
    known = np.stack([masks.freeform_mask(rng, size, size, (0.1, 0.3))
                      for _ in picks])
    yield jnp.asarray(images), jnp.asarray(known, jnp.float32)


def hole_mse(output, image, mask):
  return jnp.sum((1 - mask) * (output - image) ** 2) / jnp.maximum(
      jnp.sum(1 - mask) * 3, 1.0)


@jax.jit
def train_step(state, image, mask):
  def loss_fn(params):
    output, updates = state.apply_fn(
        {"params": params, "batch_stats": state.batch_stats}, image, mask,
        train=True, mutable=["batch_stats"])
    return hole_mse(output, image, mask), updates["batch_stats"]
  (loss, stats), grads = jax.value_and_grad(loss_fn, has_aux=True)(state.params)
  return state.apply_gradients(grads=grads).replace(batch_stats=stats), loss


def main(argv=None):
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--images", default=data.demo_folder(),
                      help="a folder of photographs (default: the demo's)")
  parser.add_argument("--steps", type=int, default=100, help="training steps")
  parser.add_argument("--batch_size", type=int, default=4, help="crops a step")
  parser.add_argument("--size", type=int, default=128, help="crop side (x32)")
  parser.add_argument("--lr", type=float, default=1e-4, help="Adam's rate")
  parser.add_argument("--out", default="finetuned.msgpack",
                      help="weights file to write at the end")
  args = parser.parse_args(argv)
  if not args.out.endswith(".msgpack"):
    parser.error(f"--out must be a .msgpack weights file, got {args.out}")

  variables, config = pconvgan.pretrained()
  model = linen.Generator(config)
  state = TrainState.create(apply_fn=model.apply, params=variables["params"],
                            tx=optax.adam(args.lr),
                            batch_stats=variables["batch_stats"])
  stream = batches(args.images, args.size, args.batch_size)
  for step in range(1, args.steps + 1):
    state, loss = train_step(state, *next(stream))
    print(f"step {step}: hole MSE {float(loss):.5f}", flush=True)
  weights.save(args.out, {"params": state.params,
                          "batch_stats": state.batch_stats}, config)
  print(f"wrote {args.out} (use it with --ckpt {args.out})")
  return state


if __name__ == "__main__":
  main()
