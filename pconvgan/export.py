"""A generator as a file other code can run: weights, a JAX program, ONNX.

    python -m pconvgan.export --out generator.msgpack        # weights
    python -m pconvgan.export --out inpaint.jaxexport        # jax.export program
    python -m pconvgan.export --ckpt RUN --out inpaint.onnx  # ONNX model

The kind follows the suffix of ``--out``; ``--ckpt`` is a train.py workdir,
step folder or weights file (default: the shipped model).

The two programs are one pass of the network: (image (B, H, W, 3) float32
in [0, 1], mask (B, H, W, 1), 1 = known, binarised at 0.5) -> (filled,
too_deep, out_of_range), with the weights inside and B, H, W symbolic (H
and W multiples of 32). ``filled`` is the composite (known pixels exact,
the generator's output in the holes); ``too_deep`` (B,) int32 counts each
image's hole pixels farther than ``regions.DEPTH`` pixels (in rows or
columns) from every known pixel, deeper than one pass fills well. Such an
image is refused: its hole pixels are NaN, never a blotchy fill that looks
like an answer (``pconvgan.inpaint_image`` fills holes of any size).
``out_of_range`` (B,) int32 counts each image's known values farther than
``checks.RANGE_SLACK`` outside [0, 1] (8-bit levels, say), as
``pconvgan.inpaint`` refuses them; such an image is all NaN. A
``.jaxexport`` file runs with JAX alone, without pconvgan::

    from jax import export
    program = export.deserialize(open("inpaint.jaxexport", "rb").read())
    filled, too_deep, out_of_range = program.call(image, mask)

An ``.onnx`` file runs in onnxruntime (inputs 'image' and 'mask', outputs
'filled', 'too_deep' and 'out_of_range').
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from typing import Any, Callable, Sequence

import jax
import jax.numpy as jnp
import numpy as np
from jax import export as jax_export

from pconvgan import checks
from pconvgan import files
from pconvgan import generator
from pconvgan import regions
from pconvgan import weights

PROGRAM_SUFFIXES = (".msgpack", ".jaxexport", ".onnx")


def too_deep(known: jax.Array, depth: int = regions.DEPTH) -> jax.Array:
  """(B,) int32: hole pixels of ``known`` ((B, H, W, 1), 1 = known) with no
  known pixel within ``depth`` rows and columns. Two box sums of the known
  mask (convolutions, which every runtime has), traceable with symbolic
  sizes."""
  size = 2 * depth + 1
  dims = ("NHWC", "HWIO", "NHWC")
  near = known
  for shape in ((size, 1, 1, 1), (1, size, 1, 1)):
    near = jax.lax.conv_general_dilated(
        near, jnp.ones(shape, known.dtype), (1, 1),
        ((shape[0] // 2,) * 2, (shape[1] // 2,) * 2), dimension_numbers=dims)
  deep = (near < 0.5) & (known < 0.5)
  return jnp.sum(deep.astype(jnp.int32), axis=(1, 2, 3))


def inpaint_function(variables: dict, config: Any = None
                     ) -> Callable[[jax.Array, jax.Array],
                                   tuple[jax.Array, jax.Array, jax.Array]]:
  """``(image, mask) -> (filled, too_deep, out_of_range)`` with
  ``variables`` closed over:
  the function that the programs hold (no shape checks, so that it traces
  with symbolic sizes; float32 inputs). Images with too deep a hole get NaN
  in their hole pixels, images out of range in all (see the module's
  docstring)."""
  cfg = checks.as_config(generator.GeneratorConfig, config)
  variables = jax.tree.map(lambda x: jnp.asarray(x, jnp.float32), variables)

  def inpaint(image, mask):
    known = (mask > 0.5).astype(jnp.float32)
    output = generator.forward(variables, image, known, False, cfg)
    filled = generator.composite(output, image, known)
    deep = too_deep(known)
    refused = (deep > 0)[:, None, None, None] & (known < 0.5)
    outside = (known > 0.5) & ((image < -checks.RANGE_SLACK)
                               | (image > 1 + checks.RANGE_SLACK))
    out_of_range = jnp.sum(outside.astype(jnp.int32), axis=(1, 2, 3))
    refused |= (out_of_range > 0)[:, None, None, None]
    return jnp.where(refused, jnp.nan, filled), deep, out_of_range
  return inpaint


def _symbolic_inputs():
  b, h, w = jax_export.symbolic_shape("b, h, w")
  return (jax.ShapeDtypeStruct((b, 32 * h, 32 * w, 3), jnp.float32),
          jax.ShapeDtypeStruct((b, 32 * h, 32 * w, 1), jnp.float32))


def export_program(variables: dict, config: Any = None,
                   platforms: Sequence[str] = ("cpu", "cuda")
                   ) -> jax_export.Exported:
  """``inpaint_function`` as a ``jax.export.Exported`` for ``platforms``,
  batch, height and width symbolic."""
  fn = jax.jit(inpaint_function(variables, config))
  return jax_export.export(fn, platforms=tuple(platforms))(*_symbolic_inputs())


def load_program(path: str) -> Callable[[jax.Array, jax.Array],
                                        tuple[jax.Array, jax.Array, jax.Array]]:
  """A ``.jaxexport`` file as ``(image, mask) -> (filled, too_deep,
  out_of_range)``."""
  with open(path, "rb") as f:
    exported = jax_export.deserialize(bytearray(f.read()))
  return exported.call


def export_onnx(variables: dict, config: Any = None):
  """``inpaint_function`` as an ``onnx.ModelProto`` (needs jax2onnx, see
  requirements-onnx.txt), batch, height and width symbolic. jax2onnx
  converts one generator per process: a second call fails on the
  decoder's symbolic-size gathers."""
  # jax2onnx logs a traceback for each example plugin whose library
  # (equinox, dm-pix) is absent, and onnx_ir a warning per shape constant.
  quiet = [logging.getLogger(n) for n in ("jax2onnx", "onnx_ir")]
  levels = [log.level for log in quiet]
  for log in quiet:
    log.setLevel(logging.ERROR)
  try:
    try:
      from jax2onnx import to_onnx  # pylint: disable=import-outside-toplevel
    except ImportError as e:
      raise RuntimeError(
          f"ONNX export needs jax2onnx and onnx ({e}); install them with "
          "'pip install -r requirements-onnx.txt' and "
          "'pip install --no-deps jax2onnx'") from None
    return to_onnx(inpaint_function(variables, config),
                   list(_symbolic_inputs()), input_names=["image", "mask"],
                   output_names=["filled", "too_deep", "out_of_range"])
  finally:
    for log, level in zip(quiet, levels):
      log.setLevel(level)


def write(path: str, variables: dict, config: Any = None,
          meta: dict | None = None, *, float16: bool = False) -> None:
  """Writes ``variables`` as the kind that ``path``'s suffix names."""
  if path.endswith(".msgpack"):
    weights.save(path, variables, config, meta,
                 dtype=np.float16 if float16 else np.float32)
  elif path.endswith(".jaxexport"):
    data = export_program(variables, config).serialize()
    _atomic_write(path, bytes(data))
  elif path.endswith(".onnx"):
    _atomic_write(path, export_onnx(variables, config).SerializeToString())
  else:
    raise ValueError(f"the output must end in one of {PROGRAM_SUFFIXES}, "
                     f"got {path}")


def _atomic_write(path: str, data: bytes) -> None:
  tmp = f"{path}.tmp"
  with open(tmp, "wb") as f:
    f.write(data)
  os.replace(tmp, path)


def main(argv: Sequence[str] | None = None) -> int:
  parser = argparse.ArgumentParser(
      prog="python -m pconvgan.export",
      description="Write a generator as weights (.msgpack), a jax.export "
      "program (.jaxexport) or an ONNX model (.onnx).")
  weights.add_ckpt_argument(parser)
  parser.add_argument("--out", required=True,
                      help="the file to write; its suffix picks the kind: "
                      + ", ".join(PROGRAM_SUFFIXES))
  parser.add_argument("--float16", action="store_true",
                      help="weights files only: store float16 (half the size)")
  args = parser.parse_args(argv)
  if not args.out.endswith(PROGRAM_SUFFIXES):
    parser.error(f"--out must end in one of {', '.join(PROGRAM_SUFFIXES)}, "
                 f"got {args.out}")
  if args.float16 and not args.out.endswith(".msgpack"):
    parser.error("--float16 applies to .msgpack weights files only")
  args.out = os.path.expanduser(args.out)
  problem = files.output_problem(args.out, folder=False)
  if problem:
    parser.error(f"--out {args.out}: {problem}")
  try:
    variables, config, run_config, name, step, _ = weights.load_any(args.ckpt)
  except (ValueError, FileNotFoundError, OSError) as e:
    print(f"pconvgan.export: error: {e}", file=sys.stderr)
    return 1
  if args.ckpt is None or weights.is_weights_file(args.ckpt):
    meta = weights.load(args.ckpt or weights.PRETRAINED)[2]  # kept as it was
  else:
    meta = {"checkpoint": os.path.abspath(args.ckpt), "step": step,
            "ema": run_config.get("optim", {}).get("ema_decay", 0) > 0,
            "run_config": run_config}
  try:
    write(args.out, variables, config, meta, float16=args.float16)
  except (RuntimeError, ValueError) as e:
    print(f"pconvgan.export: error: {e}", file=sys.stderr)
    return 1
  print(f"wrote {args.out} ({os.path.getsize(args.out) / 1e6:.1f} MB, "
        f"{name})")
  return 0


if __name__ == "__main__":
  sys.exit(main())
