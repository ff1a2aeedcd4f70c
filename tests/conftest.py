"""Two simulated CPU devices for every test, set before JAX starts its backend,
so that data-parallel steps can be compared with one-device steps in-process."""

import jax

jax.config.update("jax_num_cpu_devices", 2)
