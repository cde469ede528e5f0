"""DataFreeImageGenerator: output shape and scale, latent handling, bad arguments
named."""
import pytest
import torch

from kd_plugins.models.generators import DataFreeImageGenerator

pytestmark = pytest.mark.usefixtures('mmrazor_scope')


@pytest.mark.parametrize('img_size,out_channels,num_upsamples', [(32, 3, 2), (16, 1, 3),
                                                                 (8, 3, 1)])
def test_output_shape(img_size, out_channels, num_upsamples):
    gen = DataFreeImageGenerator(img_size, latent_dim=16, hidden_channels=8,
                                 out_channels=out_channels, num_upsamples=num_upsamples)
    out = gen(torch.randn(4, 16))
    assert out.shape == (4, out_channels, img_size, img_size)
    assert gen(batch_size=3).shape == (3, out_channels, img_size, img_size)


def test_output_is_batch_normalised_and_trainable():
    torch.manual_seed(0)
    gen = DataFreeImageGenerator(32, latent_dim=16, hidden_channels=8)
    out = gen(torch.randn(8, 16))
    # the affine-free output BN: zero mean, unit variance per channel over the batch
    assert out.mean(dim=(0, 2, 3)).abs().max() < 1e-4
    assert torch.allclose(out.var(dim=(0, 2, 3), unbiased=False), torch.ones(3),
                          atol=1e-3)
    out.pow(3).mean().backward()
    assert all(p.grad is not None for p in gen.parameters())

    raw = DataFreeImageGenerator(32, latent_dim=16, hidden_channels=8, output_norm=False)
    x = raw(torch.randn(8, 16))
    assert x.abs().max() <= 1  # tanh range


def test_mmrazor_call_convention():
    """MMRazor's data-free algorithms call generator(cpu_latent, batch_size)."""
    gen = DataFreeImageGenerator(32, latent_dim=16, hidden_channels=8)
    assert gen(torch.randn(2, 16), 2).shape == (2, 3, 32, 32)


@pytest.mark.parametrize('kwargs,match', [
    (dict(img_size=30), 'img_size=30 must be a multiple of 2\\*\\*num_upsamples=4'),
    (dict(latent_dim=0), 'latent_dim must be a positive int'),
    (dict(hidden_channels=1, num_upsamples=3), 'hidden_channels=1 is too small'),
    (dict(out_channels=2.0), 'out_channels must be a positive int'),
    (dict(num_upsamples=True), 'num_upsamples must be a positive int'),
])
def test_bad_arguments_are_named(kwargs, match):
    args = dict(img_size=32, latent_dim=16, hidden_channels=8)
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        DataFreeImageGenerator(**args)


def test_bad_latent_is_named():
    gen = DataFreeImageGenerator(32, latent_dim=16, hidden_channels=8)
    with pytest.raises(ValueError, match=r'latent must be \(N, latent_dim=16\), got '
                       r'\(2, 8\)'):
        gen(torch.randn(2, 8))


def test_registered_in_mmrazor():
    from mmrazor.registry import MODELS
    gen = MODELS.build(dict(type='DataFreeImageGenerator', img_size=16, latent_dim=4,
                            hidden_channels=4))
    assert isinstance(gen, DataFreeImageGenerator)
