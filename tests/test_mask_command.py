"""python -m pconvgan.masks and export_masks: the evaluation masks as files,
defaults, limits and one-line mistakes."""

import os

import numpy as np
import pytest
from PIL import Image

from pconvgan import masks


def test_exported_masks_are_the_evaluation_masks(tmp_path, capsys):
  # --size is width then height, as every size message reads (WxH).
  masks.main(["--kind", "freeform", "--count", "6", "--size", "96", "64",
              "--seed", "5", "--out", str(tmp_path)])
  assert "masks of 96x64 (WxH)" in capsys.readouterr().out
  files = sorted(os.listdir(tmp_path))
  assert files == [f"mask_{i:05d}.png" for i in range(6)]
  assert Image.open(tmp_path / files[0]).size == (96, 64)
  for name in files:  # black and pure white, nothing between
    assert set(np.unique(np.asarray(Image.open(tmp_path / name)))) == {0, 255}
  sample = masks.mask_sampler({"kind": "freeform"}, 64, 96, train=False)
  from_files = masks.mask_sampler({"kind": "folder", "folder": str(tmp_path)},
                                  64, 96, train=False)
  for i in range(6):
    want = sample(masks.index_rng(5, i), i)
    np.testing.assert_array_equal(from_files(None, i), want)


@pytest.mark.parametrize("args,message", [
    (["--seed", "-1"], "--seed must be >= 0, got -1"),
    (["--count", "0"], "--count must be >= 1, got 0"),
    (["--size", "100000", "10"],
     "--size sides must be at most 16384 pixels, got 100000 10"),
    (["--out", "FILE"], "is a file, not a directory"),
    (["--out", "/proc/no/such"],
     "cannot write there (No such file or directory)"),
    (["--size", "0", "5"], "--size must be two positive sides W H, got 0 5"),
    (["--bucket", "0.5", "0.2"], "mask buckets must be (low, high)"),
])
def test_mask_command_mistakes_are_one_line(args, message, tmp_path, capsys):
  (tmp_path / "file.png").write_bytes(b"x")
  argv = ["--count", "1", "--out", str(tmp_path / "out")]
  argv += [str(tmp_path / "file.png") if a == "FILE" else a for a in args]
  with pytest.raises(SystemExit):
    masks.main(argv)
  err = capsys.readouterr().err.strip().splitlines()
  assert message in err[-1] and "Traceback" not in "".join(err)


@pytest.mark.slow
def test_python_dash_m_runs_the_mask_command(tmp_path):
  import subprocess  # pylint: disable=import-outside-toplevel
  import sys  # pylint: disable=import-outside-toplevel
  result = subprocess.run(
      [sys.executable, "-m", "pconvgan.masks", "--kind", "paper", "--count",
       "1", "--size", "16", "8", "--out", str(tmp_path)], capture_output=True,
      text=True, timeout=120)
  assert result.returncode == 0, result.stderr[-2000:]
  with Image.open(tmp_path / "mask_00000.png") as written:
    assert written.size == (16, 8)


def test_mask_command_sizes_and_out(tmp_path, capsys):
  masks.main(["--kind", "paper", "--count", "1", "--size", "1", "1", "--out",
              str(tmp_path)])
  with Image.open(tmp_path / "mask_00000.png") as written:
    assert written.size == (1, 1)
  with pytest.raises(SystemExit):
    masks.main(["--count", "1"])
  err = capsys.readouterr().err.strip().splitlines()
  assert "the following arguments are required: --out" in err[-1]


def test_mask_command_defaults_and_its_largest_side(tmp_path):
  masks.main(["--out", str(tmp_path / "default")])
  written = sorted(os.listdir(tmp_path / "default"))
  assert len(written) == 100  # --count 100, free-form, 128 x 128
  with Image.open(tmp_path / "default" / written[-1]) as image:
    assert image.size == (128, 128)
  masks.main(["--kind", "paper", "--count", "1", "--size", "16384", "1",
              "--out", str(tmp_path / "wide")])
  with pytest.raises(SystemExit):
    masks.main(["--kind", "paper", "--count", "1", "--size", "16385", "1",
                "--out", str(tmp_path / "wider")])


def test_exported_masks_and_the_command_default_to_seed_0(tmp_path):
  sample = masks.mask_sampler({"kind": "freeform"}, 16, 24, train=False)
  want = [sample(masks.index_rng(0, i), i)[..., 0] <= 0.5 for i in range(3)]
  by_function = masks.export_masks({"kind": "freeform"}, str(tmp_path / "f"),
                                   3, 16, 24)
  masks.main(["--count", "3", "--size", "24", "16", "--out",
              str(tmp_path / "c")])
  by_command = sorted(str(tmp_path / "c" / n)
                      for n in os.listdir(tmp_path / "c"))
  for paths in (by_function, by_command):
    got = [masks.load_mask_file(p) for p in paths]
    for g, w in zip(got, want, strict=True):
      np.testing.assert_array_equal(g, w)


def test_the_mask_command_writes_each_kind_but_folder(tmp_path, capsys):
  for kind in ("paper", "box", "freeform", "mix"):
    masks.main(["--kind", kind, "--count", "1", "--size", "8", "8", "--out",
                str(tmp_path / kind)])
    assert os.listdir(tmp_path / kind) == ["mask_00000.png"]
  with pytest.raises(SystemExit):
    masks.main(["--kind", "folder", "--count", "1", "--out", str(tmp_path)])
  assert "invalid choice: 'folder'" in capsys.readouterr().err
