"""The same networks and training steps in PyTorch, as a speed reference only.

Needs PyTorch (``pip install torch``; the CPU build, or a CUDA one to compare
on a GPU), which pconvgan itself does not use. Mirrors pconvgan's layer
sizes, partial-convolution definition, batch-norm placement, losses and the
three step types, in channels_last memory format. ``torch_phase_rates`` times each step; ``bench/compare.py`` prints
them beside pconvgan's.
"""

from __future__ import annotations

import common

import torch
import torch.nn.functional as F
from torch import nn

ENCODER = ((5, 64), (5, 128), (3, 256), (3, 256), (3, 256))
DECODER = (256, 256, 128, 64, 3)


class PartialConv(nn.Module):
  """Liu et al.'s partial convolution over groups that carry one mask each."""

  def __init__(self, groups, out_ch, k, stride, bias):
    super().__init__()
    self.stride, self.pad, self.k = stride, (k - 1) // 2, k
    self.channels = sum(groups)
    self.weight = nn.Parameter(torch.empty(out_ch, self.channels, k, k))
    nn.init.kaiming_normal_(self.weight)
    self.bias = nn.Parameter(torch.zeros(out_ch)) if bias else None
    counts = torch.tensor(groups, dtype=torch.float32).view(1, -1, 1, 1)
    self.register_buffer("count_kernel", counts.expand(1, len(groups), k, k)
                         .contiguous())

  def forward(self, xs, masks):
    x = torch.cat([a * m for a, m in zip(xs, masks)], 1)
    y = F.conv2d(x, self.weight, None, self.stride, self.pad)
    with torch.no_grad():
      known = F.conv2d(torch.cat(masks, 1), self.count_kernel, None,
                       self.stride, self.pad)
      new_mask = (known > 0).to(y.dtype)
      scale = self.channels * self.k * self.k / known.clamp(min=1) * new_mask
    y = y * scale
    if self.bias is not None:
      y = (y + self.bias.view(1, -1, 1, 1)) * new_mask
    return y, new_mask


def _filters(c, width):
  return max(1, int(round(c * width)))


class Generator(nn.Module):
  """Table 1: BN after every layer but enc1 and the 1x1 output."""

  def __init__(self, width=1.0):
    super().__init__()
    enc = [_filters(c, width) for _, c in ENCODER]
    dec = [_filters(c, width) for c in DECODER[:-1]] + [DECODER[-1]]
    skips = enc[-2::-1] + [3]
    self.enc, self.dec, self.bns = nn.ModuleList(), nn.ModuleList(), nn.ModuleList()
    c_in = 3
    for i, ((k, _), c) in enumerate(zip(ENCODER, enc)):
      self.enc.append(PartialConv([c_in], c, k, 2, bias=i == 0))
      self.bns.append(nn.BatchNorm2d(c, momentum=0.1) if i else nn.Identity())
      c_in = c
    for skip, c in zip(skips, dec):
      self.dec.append(PartialConv([c_in, skip], c, 3, 1, bias=False))
      self.bns.append(nn.BatchNorm2d(c, momentum=0.1))
      c_in = c
    self.out = PartialConv([c_in], 3, 1, 1, bias=True)

  def forward(self, image, mask):
    h, m = image * mask, mask
    skips = [(h, m)]
    for conv, bn in zip(self.enc, self.bns):
      h, m = conv([h], [m])
      h = F.relu(bn(h))
      skips.append((h, m))
    skips.pop()
    for conv, bn in zip(self.dec, self.bns[len(self.enc):]):
      sh, sm = skips.pop()
      up = lambda t: F.interpolate(t, scale_factor=2, mode="nearest")
      h, m = conv([up(h), sh], [up(m), sm])
      h = F.leaky_relu(bn(h), 0.2)
    h, _ = self.out([h], [m])
    return torch.sigmoid(h)


class Discriminators(nn.Module):
  """Table 2: global + left-third + right-two-thirds, combined by FC(1)."""

  def __init__(self, size, width=1.0, fc=512):
    super().__init__()
    cut = size // 3
    self.cut = cut
    self.nets = nn.ModuleList()
    for (h, w), filters in (((size, size), (32, 64, 64, 128, 128)),
                            ((size, cut), (32, 64, 64, 128)),
                            ((size, size - cut), (32, 64, 64, 128))):
      layers, c_in = [], 3
      for f in filters:
        c = _filters(f, width)
        layers += [nn.Conv2d(c_in, c, 5, 2, 2), nn.ReLU()]
        c_in = c
        h, w = -(-h // 2), -(-w // 2)
      layers += [nn.Flatten(), nn.Linear(h * w * c_in, fc), nn.ReLU()]
      self.nets.append(nn.Sequential(*layers))
    self.combiner = nn.Linear(3 * fc, 1)

  def forward(self, x):
    parts = (x, x[..., :self.cut], x[..., self.cut:])
    return self.combiner(torch.cat([n(p) for n, p in zip(self.nets, parts)],
                                   1))[:, 0]


def _mse(out, image, mask, valid_weight=1 / 6):
  n = out.numel()
  return (((out - image) * (1 - mask)) ** 2).sum() / n + valid_weight * (
      ((out - image) * mask) ** 2).sum() / n


class Trainer:
  """The three step types with separate Adam optimisers."""

  def __init__(self, size, width=1.0, adv_weight=1 / 2000, device="cpu"):
    cl = torch.channels_last
    self.g = Generator(width).to(device, memory_format=cl)
    self.d = Discriminators(size, width).to(device, memory_format=cl)
    self.g_opt = torch.optim.Adam(self.g.parameters(), 1e-3)
    self.d_opt = torch.optim.Adam(self.d.parameters(), 1e-3)
    self.adv_weight = adv_weight

  def _d_update(self, image, fake):
    self.d_opt.zero_grad(set_to_none=True)
    loss = F.softplus(-self.d(image)).mean() + F.softplus(self.d(fake)).mean()
    loss.backward()
    self.d_opt.step()
    return loss

  def generator_step(self, image, mask):
    self.g_opt.zero_grad(set_to_none=True)
    loss = _mse(self.g(image, mask), image, mask)
    loss.backward()
    self.g_opt.step()
    return loss

  def discriminator_step(self, image, mask):
    with torch.no_grad():
      out = self.g(image, mask)
    return self._d_update(image, mask * image + (1 - mask) * out)

  def joint_step(self, image, mask):
    out = self.g(image, mask)
    fake = mask * image + (1 - mask) * out
    self._d_update(image, fake.detach())
    self.g_opt.zero_grad(set_to_none=True)
    for p in self.d.parameters():
      p.requires_grad_(False)
    loss = _mse(out, image, mask) + self.adv_weight * F.softplus(
        -self.d(fake)).mean()
    loss.backward()
    for p in self.d.parameters():
      p.requires_grad_(True)
    self.g_opt.step()
    return loss


def phase_runners(batch=16, size=128, width=1.0, device="cpu") -> dict:
  """Phase -> ``run()``: one step of that type on ``device`` ('cpu',
  'cuda'), finished when it returns (``.item()`` waits); warmed up."""
  torch.manual_seed(0)
  trainer = Trainer(size, width, device=device)
  image = torch.rand(batch, 3, size, size).to(memory_format=torch.channels_last)
  mask = torch.ones(batch, 1, size, size)
  s = size
  mask[:, :, s // 4:3 * s // 4, s // 16:9 * s // 32] = 0
  mask[:, :, 5 * s // 16:11 * s // 16, s // 2:7 * s // 8] = 0
  mask = mask.to(memory_format=torch.channels_last)
  image, mask = image.to(device), mask.to(device)
  runners = {}
  for phase, step in (("generator", trainer.generator_step),
                      ("discriminator", trainer.discriminator_step),
                      ("joint", trainer.joint_step)):
    def run(step=step):
      step(image, mask).item()
    run()
    runners[phase] = run
  return runners


def torch_phase_rates(batch=16, size=128, width=1.0, repeats=4) -> dict:
  """Images/s of each step type (median of ``repeats`` after one warm-up)."""
  return {phase: common.median_rate(batch, [common.seconds(run)
                                            for _ in range(repeats)])
          for phase, run in phase_runners(batch, size, width).items()}


if __name__ == "__main__":
  print(torch_phase_rates())
