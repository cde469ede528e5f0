"""Boundary and band maps of label maps, by hand."""
import pytest
import torch

from kd_plugins.models.utils.boundary import boundary_band, dilate, label_boundary


def test_label_boundary_by_hand():
    row = torch.tensor([[0, 0, 1, 1]])
    assert label_boundary(row).tolist() == [[False, True, True, False]]
    # an ignored pixel is no boundary and makes none
    assert not label_boundary(torch.tensor([[0, 255, 1, 1]])).any()
    col = torch.tensor([[2], [2], [3]])
    assert label_boundary(col).flatten().tolist() == [False, True, True]
    batch = torch.stack([row, torch.ones_like(row)])
    assert label_boundary(batch).sum().item() == 2


def test_dilate_is_a_chebyshev_square():
    m = torch.zeros(5, 5, dtype=torch.bool)
    m[2, 2] = True
    assert dilate(m, 0).equal(m)
    d = dilate(m, 1)
    assert d.sum().item() == 9 and d[1:4, 1:4].all()
    assert dilate(m, 2).all()
    with pytest.raises(ValueError, match='width must be an integer >= 0'):
        dilate(m, -1)


def test_band_around_a_vertical_edge():
    lab = torch.zeros(5, 5, dtype=torch.long)
    lab[:, 2:] = 1  # boundary at columns 1 and 2
    band = boundary_band(lab, 1)
    assert band[:, :4].all() and not band[:, 4].any()
    assert boundary_band(lab, 0).sum().item() == 10
    with pytest.raises(ValueError, match=r'\(H, W\) or \(N, H, W\)'):
        label_boundary(torch.zeros(1, 1, 2, 2))
