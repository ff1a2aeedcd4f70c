"""bench/profile_steps.py sorts a compiled step's instructions into kinds:
checked on a convolution's gradient, whose three convolutions are known."""

import collections
import os
import sys

import jax
import jax.numpy as jnp

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "bench"))
import profile_steps  # pylint: disable=wrong-import-position


def test_a_convolutions_gradient_has_one_of_each_kind():
  def loss(x, k):
    y = jax.lax.conv_general_dilated(x, k, (1, 1), "SAME",
                                     dimension_numbers=("NHWC", "HWIO", "NHWC"))
    return jnp.sum(jnp.tanh(y))

  batch = 5
  x, k = jnp.ones((batch, 8, 8, 4)), jnp.ones((3, 3, 4, 6))
  text = jax.jit(jax.grad(loss, argnums=(0, 1))).lower(x, k).compile().as_text()
  kinds = profile_steps.hlo_kinds(text, batch)
  counts = collections.Counter(v for v in kinds.values() if v.startswith("conv"))
  assert counts == {"conv forward": 1, "conv input gradient": 1,
                    "conv weight gradient": 1}, counts
  assert "everything else" in kinds.values()  # tanh and its derivative


def test_matrix_products_count_as_convolution_work_forward_and_backward():
  """The CPU forms compute convolutions as matrix products, alone or fused:
  a product's gradient holds one forward and two backward products."""
  def loss(x, w):
    return jnp.sum(jnp.tanh(x @ w))

  x, w = jnp.ones((5, 8)), jnp.ones((8, 6))
  text = jax.jit(jax.grad(loss, argnums=(0, 1))).lower(x, w).compile().as_text()
  kinds = collections.Counter(profile_steps.hlo_kinds(text, 5).values())
  assert kinds["product forward"] == 1 and kinds["product backward"] == 2, kinds


def test_torch_ops_by_kind():
  assert profile_steps.torch_kind("aten::mkldnn_convolution") == "conv forward"
  assert profile_steps.torch_kind("aten::convolution_backward") == "conv backward"
  assert profile_steps.torch_kind("aten::cat") == "layout copies"
  assert profile_steps.torch_kind("aten::native_batch_norm") == "everything else"
