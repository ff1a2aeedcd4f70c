"""python -m pconvgan.export: weights files, jax.export programs run by JAX
alone in a fresh process, and ONNX models run by onnxruntime, each against
the library's own inpaint."""

import os
import subprocess
import sys
import textwrap

import jax
import numpy as np
import pytest

import pconvgan
from pconvgan import checkpoint
from pconvgan import export
from pconvgan import weights

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CFG = pconvgan.GeneratorConfig(width=0.125)


def inputs(batch, height, width, seed=0):
  rng = np.random.default_rng(seed)
  image = rng.random((batch, height, width, 3), dtype=np.float32)
  mask = np.ones((batch, height, width, 1), np.float32)
  mask[:, height // 4: height // 2, width // 8: width // 2] = 0
  mask[0, -8:, -12:] = 0.2  # soft values binarise at 0.5
  return image, mask


@pytest.fixture(scope="module")
def variables():
  # Non-trivial batch statistics, as a trained model has.
  v = pconvgan.init(jax.random.key(0), CFG)
  return jax.tree.map(lambda x: x + 0.1, v)


@pytest.mark.slow
def test_program_runs_with_jax_alone_at_any_size(variables, tmp_path):
  path = str(tmp_path / "inpaint.jaxexport")
  export.write(path, variables, CFG)
  sizes = [(2, 64, 96), (1, 32, 32), (3, 128, 64)]
  np.savez(tmp_path / "in.npz", **{f"{k}_{i}": a for i, s in enumerate(sizes)
                                   for k, a in zip("im", inputs(*s, seed=i))})
  script = textwrap.dedent(f"""
      import sys, numpy as np
      from jax import export
      program = export.deserialize(open({path!r}, "rb").read())
      data = np.load({str(tmp_path / 'in.npz')!r})
      out = {{f"o_{{i}}": np.asarray(program.call(data[f"i_{{i}}"], data[f"m_{{i}}"])[0])
              for i in range({len(sizes)})}}
      deep = np.ones((2, 128, 96, 1), np.float32)
      deep[0, 10:70, 20:80] = 0  # 60 x 60: its centre is 30 px from the rest
      deep[1, 10:58, 20:68] = 0  # 48 x 48: every pixel within 24
      filled, too_deep, _ = program.call(np.full((2, 128, 96, 3), 0.5, np.float32), deep)
      out["deep_filled"], out["too_deep"] = np.asarray(filled), np.asarray(too_deep)
      np.savez({str(tmp_path / 'out.npz')!r}, **out)
      assert not any(m.startswith("pconvgan") for m in sys.modules), "pconvgan imported"
      try:
        program.call(np.zeros((1, 40, 40, 3), np.float32), np.ones((1, 40, 40, 1), np.float32))
      except Exception as e:
        print("refused", type(e).__name__)
      """)
  result = subprocess.run([sys.executable, "-c", script], cwd=str(tmp_path),
                          capture_output=True, text=True, timeout=300)
  assert result.returncode == 0, result.stderr[-3000:]
  assert "refused" in result.stdout  # 40 is not a multiple of 32
  out = np.load(tmp_path / "out.npz")
  for i, size in enumerate(sizes):
    image, mask = inputs(*size, seed=i)
    want = pconvgan.inpaint(variables, image, mask, config=CFG)
    np.testing.assert_allclose(out[f"o_{i}"], want, atol=2e-6)
    known = mask > 0.5
    np.testing.assert_array_equal(np.broadcast_to(known, image.shape) * out[f"o_{i}"],
                                  np.broadcast_to(known, image.shape) * image)
  # A hole deeper than one pass fills is refused: NaN in its hole only.
  np.testing.assert_array_equal(out["too_deep"], [(60 - 2 * 24) ** 2, 0])
  filled = out["deep_filled"]
  assert np.isnan(filled[0, 10:70, 20:80]).all()
  assert not np.isnan(filled[0, :10]).any() and (filled[0, :10] == 0.5).all()
  assert not np.isnan(filled[1]).any()


def test_onnx_model_matches_the_library_at_any_size(variables, tmp_path):
  """One conversion covers the U-Net and the refinement head (its last layer
  made non-zero): jax2onnx fails on a second conversion in one process."""
  pytest.importorskip("jax2onnx")
  ort = pytest.importorskip("onnxruntime")
  cfg = pconvgan.GeneratorConfig(width=0.125, refine=4)
  head = pconvgan.generator.init_refine(jax.random.key(1), 4)
  head["refine3"] = jax.tree.map(lambda x: x + 0.05, head["refine3"])
  variables = dict(variables, params={**variables["params"], **head})
  path = str(tmp_path / "inpaint.onnx")
  export.write(path, variables, cfg)
  session = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
  assert [i.name for i in session.get_inputs()] == ["image", "mask"]
  for i, size in enumerate([(2, 64, 96), (1, 32, 32)]):
    image, mask = inputs(*size, seed=i)
    got, deep, outside = session.run(None, {"image": image, "mask": mask})
    want = pconvgan.inpaint(variables, image, mask, config=cfg)
    np.testing.assert_allclose(got, want, atol=2e-6)
    np.testing.assert_array_equal(deep, np.zeros(size[0]))
    np.testing.assert_array_equal(outside, np.zeros(size[0]))
  assert [o.name for o in session.get_outputs()] == ["filled", "too_deep",
                                                     "out_of_range"]
  mask = np.ones((1, 96, 96, 1), np.float32)
  mask[0, 20:80, 10:70] = 0
  got, deep, _ = session.run(None, {"image": np.zeros((1, 96, 96, 3), np.float32),
                                 "mask": mask})
  np.testing.assert_array_equal(deep, [(60 - 2 * 24) ** 2])
  assert np.isnan(got[0, 20:80, 10:70]).all() and not np.isnan(got[0, :20]).any()
  image, mask = inputs(2, 64, 64)
  image[0] *= 255  # 8-bit levels: that image refused, all NaN
  got, _, outside = session.run(None, {"image": image, "mask": mask})
  assert np.isnan(got[0]).all() and not np.isnan(got[1]).any()
  assert outside[0] > 0 and outside[1] == 0


def test_weights_file_to_float16_keeps_its_meta(tmp_path, capsys):
  src, out = str(tmp_path / "g.msgpack"), str(tmp_path / "h.msgpack")
  variables = pconvgan.init(jax.random.key(0), CFG)
  weights.save(src, variables, CFG, {"step": 12, "data": "mine"})
  assert export.main(["--ckpt", src, "--out", out, "--float16"]) == 0
  assert "wrote" in capsys.readouterr().out
  loaded, config, meta = weights.load(out)
  assert config == CFG and meta == {"step": 12, "data": "mine"}
  assert os.path.getsize(out) < 0.6 * os.path.getsize(src)


def test_float16_overflow_is_one_line_and_writes_nothing(tmp_path, capsys):
  src, out = str(tmp_path / "g.msgpack"), str(tmp_path / "h.msgpack")
  variables = pconvgan.init(jax.random.key(0), CFG)
  variables["params"] = jax.tree.map(lambda x: x * 1e5, variables["params"])
  weights.save(src, variables, CFG)
  assert export.main(["--ckpt", src, "--out", out, "--float16"]) == 1
  assert "float16" in capsys.readouterr().err
  assert not os.path.exists(out)


def test_bad_arguments_get_one_line(tmp_path, capsys):
  with pytest.raises(SystemExit):
    export.main(["--out", str(tmp_path / "x.pt")])
  assert "--out must end in one of .msgpack" in capsys.readouterr().err
  with pytest.raises(SystemExit):
    export.main(["--out", str(tmp_path / "x.onnx"), "--float16"])
  assert "--float16 applies to .msgpack" in capsys.readouterr().err
  assert export.main(["--ckpt", str(tmp_path / "none"),
                      "--out", str(tmp_path / "x.msgpack")]) == 1
  err = capsys.readouterr().err
  assert err.startswith("pconvgan.export: error:") and "none" in err
  assert not os.path.exists(tmp_path / "x.msgpack")


@pytest.mark.slow
def test_cli_writes_the_checkpoints_generator(tiny_checkpoint, tmp_path):
  out = str(tmp_path / "tiny.msgpack")
  result = subprocess.run(
      [sys.executable, "-m", "pconvgan.export", "--ckpt", tiny_checkpoint,
       "--out", out], cwd=ROOT, capture_output=True, text=True, timeout=300)
  assert result.returncode == 0, result.stderr[-2000:]
  loaded, config, meta = weights.load(out)
  want, want_config, _, step = checkpoint.load_generator(tiny_checkpoint)
  assert config == want_config and meta["step"] == step
  for a, b in zip(jax.tree.leaves(want), jax.tree.leaves(loaded)):
    np.testing.assert_array_equal(a, b)


def test_too_deep_counts_what_a_numpy_loop_counts():
  """Hole pixels with no known pixel within DEPTH rows and columns, by a
  loop over pixels, on holes of several shapes and at the image's edge."""
  rng = np.random.default_rng(4)
  known = np.ones((3, 96, 128, 1), np.float32)
  known[0, 5:90, 40:100] = 0
  known[1, :70, :70] = 0  # against the edge: padding is not known
  known[2] = (rng.random((96, 128, 1)) > 0.002).astype(np.float32)
  known[2, 30:90, 10:120] = 0
  depth = 24
  want = []
  for k in known[..., 0]:
    count = 0
    for y, x in zip(*np.nonzero(k < 0.5)):
      win = k[max(y - depth, 0):y + depth + 1, max(x - depth, 0):x + depth + 1]
      count += not (win > 0.5).any()
    want.append(count)
  assert min(want) > 0
  np.testing.assert_array_equal(export.too_deep(known, depth), want)


def test_an_image_out_of_range_is_counted_and_refused_all_nan(variables):
  """The program cannot raise: known values farther than checks.RANGE_SLACK
  outside [0, 1] (8-bit levels, say) are counted in ``out_of_range`` and
  make every pixel of that image NaN, and only of that one; as
  pconvgan.inpaint, a resampling filter's overshoot is taken."""
  fn = export.inpaint_function(variables, CFG)
  image, mask = inputs(4, 64, 64)
  image[0] *= 255  # 8-bit levels
  image[1, 0, 0, 0] = 1.06  # one known value out of range
  image[2, 20, 10] = 7.0  # under the hole: never read, not refused
  assert mask[2, 20, 10, 0] == 0
  image[3, 0, 0] = (-0.04, 1.04, 0.5)  # overshoot within the slack
  filled, too_deep, out_of_range = (np.asarray(a) for a in fn(image, mask))
  assert np.isnan(filled[0]).all() and np.isnan(filled[1]).all()
  assert not np.isnan(filled[2:]).any()
  known = np.broadcast_to(mask[0] > 0.5, image[0].shape)
  assert out_of_range[0] == np.sum(known & (image[0] > 1.05))
  np.testing.assert_array_equal(out_of_range[1:], [1, 0, 0])
  np.testing.assert_array_equal(too_deep, [0, 0, 0, 0])
  for value in (-0.06, 1.06):  # the same tolerance as check_range
    image[3, 0, 0, 0] = value
    assert np.asarray(fn(image, mask)[2])[3] == 1
    with pytest.raises(ValueError, match="values must be in"):
      pconvgan.inpaint(variables, image[3:], mask[3:], config=CFG)
