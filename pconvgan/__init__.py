"""pconvgan: image inpainting with a GAN of partial convolutions, in JAX.

    variables, config = pconvgan.pretrained()          # the shipped model
    filled = pconvgan.inpaint(variables, image, mask, config=config)
    variables = pconvgan.init(jax.random.key(0))       # a fresh generator
    output = pconvgan.apply(variables, image, mask)     # (B, H, W, 3) in [0, 1]
    filled = pconvgan.inpaint(variables, image, mask)   # known pixels exact
    photo = pconvgan.inpaint_image(variables, photo, hole, config=config)
                          # (H, W, 3) of any size, hole (H, W) bool of any size
    d_params = pconvgan.init_discriminator(key, (128, 128))
    logits = pconvgan.apply_discriminator(d_params, images)

Images are float32 NHWC in [0, 1] with H and W multiples of 32; masks are
(B, H, W, 1) with 1 = known pixel, 0 = hole. All are pure functions of
pytrees and work under jax.jit, jax.vmap and jax.grad.
"""

from pconvgan.checks import MaskCoverageWarning
from pconvgan.discriminator import DiscriminatorConfig
from pconvgan.discriminator import apply_discriminator
from pconvgan.discriminator import init_discriminator
from pconvgan.generator import GeneratorConfig
from pconvgan.generator import UnreachedHoleWarning
from pconvgan.generator import apply_generator
from pconvgan.generator import count_params
from pconvgan.generator import init_generator
from pconvgan.generator import inpaint
from pconvgan.regions import inpaint_image
from pconvgan.step_jit import training_jit
from pconvgan.weights import pretrained

init = init_generator
apply = apply_generator

__version__ = "0.1.0"

__all__ = [
    "DiscriminatorConfig", "GeneratorConfig", "MaskCoverageWarning",
    "UnreachedHoleWarning", "apply", "apply_discriminator",
    "apply_generator", "count_params", "init", "init_discriminator",
    "init_generator", "inpaint", "inpaint_image", "pretrained", "training_jit",
]
