"""``jax.jit`` for training steps, with the CPU's faster forms where they run.

    step = pconvgan.training_jit(my_step)             # instead of jax.jit
    step = pconvgan.training_jit(my_step, donate_argnums=0)

A step of your own that differentiates ``pconvgan.apply(..., train=True)``
(or ``apply_discriminator``) gets, compiled for CPU devices, what pconvgan's
own training steps get there: the layers traced in ``cpu_training.forms``
(custom VJPs for strided convolutions and batch norm) and XLA compiled with
``cpu_training.xla_options``. Same values up to float summation order. For
any other platform it is ``jax.jit`` itself.

The decision is made here, once, when the step is built, from ``platform``
(default: JAX's default backend); the model modules never look at the
backend. Two limits come with the CPU forms: compiler options are allowed
on top-level jits only (call the step directly, not inside another
``jax.jit``), and their custom VJPs do not support forward-mode
differentiation (``jax.jvp`` of the step's insides); use ``jax.jit`` for
those. Pass ``fn`` un-jitted: pconvgan's own jits keep programs traced
inside the forms apart from the others, but a jit of your own that wraps
``pconvgan.apply`` and is called both inside a training_jit step and
outside it caches whichever it traced first.
"""

from __future__ import annotations

import functools
from typing import Callable

import jax

from pconvgan import cpu_training


def training_jit(fn: Callable, *, platform: str | None = None,
                 **jit_kwargs) -> Callable:
  """``jax.jit(fn, **jit_kwargs)``; for ``platform`` 'cpu' (default: JAX's
  default backend) traced with the CPU forms and compiled with their XLA
  options (merged under any ``compiler_options`` given)."""
  platform = jax.default_backend() if platform is None else platform
  if platform != "cpu":
    return jax.jit(fn, **jit_kwargs)
  options = dict(cpu_training.xla_options() or {})
  options.update(jit_kwargs.pop("compiler_options", None) or {})

  @functools.wraps(fn)
  def traced(*args, **kwargs):
    with cpu_training.forms():
      return fn(*args, **kwargs)
  return jax.jit(traced, compiler_options=options or None, **jit_kwargs)
