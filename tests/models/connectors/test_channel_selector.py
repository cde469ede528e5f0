"""M5's ActiveChannelSelector: the most active teacher channels by running activation
statistics, updated in training, fixed in eval; bad sizes named at build time."""
import pytest
import torch

from kd_plugins.models.connectors import ActiveChannelSelector


def batch(energies, hw=2):
    """(1, C, hw, hw) whose channel c has activation energy energies[c] (p=2)."""
    e = torch.tensor(energies, dtype=torch.float32).sqrt()
    return e.view(1, -1, 1, 1).expand(1, len(energies), hw, hw).clone()


def test_selects_most_active_channels_in_order():
    sel = ActiveChannelSelector(in_channel=5, num_selected=2)
    out = sel(batch([1.0, 9.0, 0.5, 4.0, 2.0]))
    assert sel.selected_indices().tolist() == [1, 3]
    torch.testing.assert_close(out, batch([1.0, 9.0, 0.5, 4.0, 2.0])[:, [1, 3]])
    torch.testing.assert_close(sel.running_activity,
                               torch.tensor([1.0, 9.0, 0.5, 4.0, 2.0]))
    # what the build-time channel check reads: the selected count, not the input's
    assert sel.declared_out_channels == out.size(1) == 2


def test_running_statistics_follow_training_not_init():
    sel = ActiveChannelSelector(in_channel=3, num_selected=1, momentum=0.5)
    sel.train()
    sel(batch([4.0, 1.0, 0.0]))
    assert sel.selected_indices().tolist() == [0]
    sel(batch([0.0, 9.0, 0.0]))  # running: 0.5*[4,1,0] + 0.5*[0,9,0] = [2, 5, 0]
    torch.testing.assert_close(sel.running_activity, torch.tensor([2.0, 5.0, 0.0]))
    assert sel.selected_indices().tolist() == [1]
    sel.eval()  # eval: statistics frozen
    sel(batch([100.0, 0.0, 0.0]))
    assert sel.selected_indices().tolist() == [1] and int(sel.num_updates) == 2


def test_statistics_are_saved_with_the_model():
    sel = ActiveChannelSelector(in_channel=3, num_selected=1)
    sel(batch([0.0, 0.0, 7.0]))
    fresh = ActiveChannelSelector(in_channel=3, num_selected=1)
    fresh.load_state_dict(sel.state_dict())
    assert fresh.selected_indices().tolist() == [2]


def test_equal_widths_keep_every_channel():
    x = torch.randn(2, 4, 3, 3)
    torch.testing.assert_close(ActiveChannelSelector(4, 4)(x), x)


def test_bad_sizes_are_named():
    with pytest.raises(ValueError, match='num_selected=9 exceeds the teacher feature\'s '
                       'in_channel=8'):
        ActiveChannelSelector(in_channel=8, num_selected=9)
    with pytest.raises(ValueError, match='num_selected must be an integer >= 1'):
        ActiveChannelSelector(in_channel=8, num_selected=0)
    with pytest.raises(ValueError, match='momentum'):
        ActiveChannelSelector(in_channel=8, num_selected=2, momentum=0.0)
    with pytest.raises(ValueError, match=r'in_channel=8\) got a feature of shape '
                       r'\(1, 6, 2, 2\)'):
        ActiveChannelSelector(8, 2)(torch.ones(1, 6, 2, 2))


def test_registered_as_mmrazor_connector():
    from mmrazor.registry import MODELS
    sel = MODELS.build(dict(_scope_='mmrazor', type='ActiveChannelSelector',
                            in_channel=16, num_selected=4))
    assert isinstance(sel, ActiveChannelSelector)
