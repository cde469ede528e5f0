"""An image generator for data-free distillation (method M7 of DESIGN.md; also usable
by MMRazor's ``DAFLDataFreeDistillation`` / ``DataFreeDistillation``).

A latent vector ``z ~ N(0, I)`` becomes an image in the teacher's *normalised* input
space (what its data preprocessor would hand it):

    z (latent_dim) -> Linear -> (hidden_channels, s, s) -> BN        s = img_size / 2^k
      -> k x [ Upsample(2) -> Conv3x3 -> BN -> LeakyReLU ]           channels halve
                                                                     after the first
      -> Conv3x3 (out_channels) -> tanh [-> BN(affine=False)]

The final affine-free BN (``output_norm=True``, as in DAFL) gives every channel zero mean
and unit variance over the batch, the scale of normalised real images.

Config::

    generator=dict(type='DataFreeImageGenerator', img_size=32, latent_dim=256,
                   hidden_channels=128, out_channels=3, num_upsamples=2)
"""
from typing import Optional

import torch
from mmengine.model import BaseModule
from mmrazor.registry import MODELS
from torch import nn

from ..utils.config_checks import check_positive_int


@MODELS.register_module()
class DataFreeImageGenerator(BaseModule):
    """Latent vector -> ``(out_channels, img_size, img_size)`` image.

    Args:
        img_size (int): side of the square output image; a multiple of
            ``2 ** num_upsamples``.
        latent_dim (int): length of the latent vector.
        hidden_channels (int): channels of the first feature map; each upsampling block
            after the first halves them (at least 1 must remain).
        out_channels (int): image channels (3 for RGB).
        num_upsamples (int): upsampling blocks (each doubles the side).
        leaky_slope (float): negative slope of the LeakyReLUs.
        output_norm (bool): end with an affine-free BatchNorm (DAFL's generator).
        init_cfg (dict, optional): mmengine initialisation config.
    """

    def __init__(self,
                 img_size: int,
                 latent_dim: int,
                 hidden_channels: int,
                 out_channels: int = 3,
                 num_upsamples: int = 2,
                 leaky_slope: float = 0.2,
                 output_norm: bool = True,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.img_size = check_positive_int(img_size, 'img_size')
        self.latent_dim = check_positive_int(latent_dim, 'latent_dim')
        self.hidden_channels = check_positive_int(hidden_channels, 'hidden_channels')
        self.out_channels = check_positive_int(out_channels, 'out_channels')
        self.num_upsamples = check_positive_int(num_upsamples, 'num_upsamples')
        scale = 2**num_upsamples
        if img_size % scale:
            raise ValueError(f'img_size={img_size} must be a multiple of '
                             f'2**num_upsamples={scale}')
        if hidden_channels >> (num_upsamples - 1) < 1:
            raise ValueError(f'hidden_channels={hidden_channels} is too small for '
                             f'num_upsamples={num_upsamples}: it halves after each '
                             f'block but the first (needs >= {2**(num_upsamples - 1)})')
        self.init_size = img_size // scale
        self.linear = nn.Linear(latent_dim, hidden_channels * self.init_size**2)
        self.input_norm = nn.BatchNorm2d(hidden_channels)
        blocks, channels = [], hidden_channels
        for i in range(num_upsamples):
            out = channels if i == 0 else channels // 2
            blocks += [nn.Upsample(scale_factor=2, mode='nearest'),
                       nn.Conv2d(channels, out, 3, padding=1),
                       nn.BatchNorm2d(out),
                       nn.LeakyReLU(leaky_slope)]
            channels = out
        blocks += [nn.Conv2d(channels, out_channels, 3, padding=1), nn.Tanh()]
        if output_norm:
            blocks.append(nn.BatchNorm2d(out_channels, affine=False))
        self.blocks = nn.Sequential(*blocks)

    def forward(self, latent: Optional[torch.Tensor] = None,
                batch_size: int = 1) -> torch.Tensor:
        """Images from ``latent`` ``(N, latent_dim)``, or from ``batch_size`` fresh
        standard-normal latents when ``latent`` is None. ``latent`` moves to this
        module's device (MMRazor's data-free algorithms make it on the CPU)."""
        device = self.linear.weight.device
        if latent is None:
            latent = torch.randn(check_positive_int(batch_size, 'batch_size'),
                                 self.latent_dim, device=device)
        elif latent.dim() != 2 or latent.size(1) != self.latent_dim:
            raise ValueError(f'latent must be (N, latent_dim={self.latent_dim}), got '
                             f'{tuple(latent.shape)}')
        x = self.linear(latent.to(device))
        x = x.view(x.size(0), self.hidden_channels, self.init_size, self.init_size)
        return self.blocks(self.input_norm(x))
