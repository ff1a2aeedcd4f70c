"""What the benchmark scripts share: their common command-line arguments."""

import argparse


def parser(description: str, repeats: int = 4) -> argparse.ArgumentParser:
  """An argument parser with --batch, --size, --width and --repeats."""
  p = argparse.ArgumentParser(description=description)
  p.add_argument("--batch", type=int, default=16, help="global batch size")
  p.add_argument("--size", type=int, default=128, help="image side in pixels")
  p.add_argument("--width", type=float, default=1.0,
                 help="channel width multiplier of the networks")
  p.add_argument("--repeats", type=int, default=repeats,
                 help="timed runs after warm-up (the median is printed)")
  return p
