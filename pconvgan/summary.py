"""Prints the architecture tables with parameter counts: ``python -m pconvgan.summary``.

The rows are the paper's layers (Table 1 and 2) with their strides, filters
and output shapes. ``flax.linen.tabulate`` cannot give them: the layers are
pure functions, so a Flax module over them (pconvgan.linen) is one row.
"""

from __future__ import annotations

import argparse

import jax

from pconvgan import discriminator
from pconvgan import generator


def generator_rows(variables: dict, size: tuple[int, int]) -> list[tuple]:
  """(layer, kernel, stride, in -> out channels, output size, parameters),
  with the refinement head's layers if ``variables`` hold them."""
  h, w = size
  rows = []
  refine = int(generator.REFINE[0] in variables["params"])
  for name in generator.layer_names({"refine": refine}):
    p = variables["params"][name]
    k, _, c_in, c_out = p["conv"]["kernel"].shape
    if name.startswith("enc"):
      stride, h, w = 2, h // 2, w // 2
    else:
      stride = 1
      if name.startswith("dec"):
        h, w = h * 2, w * 2
    rows.append((name, f"{k}x{k}", stride, f"{c_in} -> {c_out}", f"{h}x{w}",
                 generator.count_params(p)))
  return rows


def discriminator_rows(params: dict, size: tuple[int, int]) -> list[tuple]:
  """(network, input region, convolutions, fully connected, parameters)."""
  h, w = size
  cut = discriminator.split_columns(w)
  regions = {"global": f"{h}x{w}", "local_left": f"{h}x{cut}",
             "local_right": f"{h}x{w - cut}"}
  rows = []
  order = ("global", "local_left", "local_right", "combiner")
  for name in [n for n in order if n in params]:
    p = params[name]
    if name == "combiner":
      fc = p["kernel"].shape
      rows.append((name, "features", "-", f"{fc[0]} -> {fc[1]}",
                   generator.count_params(p)))
      continue
    filters = "-".join(str(c["kernel"].shape[-1]) for c in p["convs"])
    fc = p["fc"]["kernel"].shape
    rows.append((name, regions[name], f"5x5 s2: {filters}",
                 f"{fc[0]} -> {fc[1]}", generator.count_params(p)))
  return rows


def markdown(header: tuple, rows: list[tuple]) -> str:
  lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
  lines += ["| " + " | ".join(f"{c:,}" if isinstance(c, int) and i == len(r) - 1
                              else str(c) for i, c in enumerate(r)) + " |"
            for r in rows]
  return "\n".join(lines)


def main(argv=None) -> None:
  parser = argparse.ArgumentParser(description=__doc__)
  parser.add_argument("--size", type=int, nargs=2, default=(128, 128),
                      metavar=("H", "W"), help="image size (multiples of 32)")
  parser.add_argument("--width", type=float, default=1.0,
                      help="channel width multiplier")
  parser.add_argument("--refine", type=int, default=0,
                      help="channels of the refinement head (0: none)")
  args = parser.parse_args(argv)
  size = tuple(args.size)
  g = generator.init_generator(jax.random.key(0), {"width": args.width,
                                                   "refine": args.refine})
  d = discriminator.init_discriminator(jax.random.key(0), size,
                                       {"width": args.width})
  g_rows = generator_rows(g, size)
  print(f"Generator at {size[0]}x{size[1]}, width {args.width}"
        + (f", refinement head of {args.refine} channels" if args.refine
           else "") + ":\n")
  print(markdown(("layer", "kernel", "stride", "channels", "output",
                  "parameters"), g_rows))
  print(f"\nGenerator parameters: {generator.count_params(g['params']):,} "
        f"(+ {generator.count_params(g['batch_stats']):,} batch statistics)\n")
  print(markdown(("network", "input", "convolutions", "fully connected",
                  "parameters"), discriminator_rows(d, size)))
  print(f"\nDiscriminator parameters: {generator.count_params(d):,}")


if __name__ == "__main__":
  main()
