"""EmbeddingHead: the embedding is the linear map of the pooled feature, the loss is the
configured pair loss of those embeddings and the samples' labels, predict stores each
row as pred_embedding; bad shapes and missing labels are clear errors."""
import pytest
import torch
from mmpretrain.registry import MODELS
from mmpretrain.structures import DataSample

from kd_plugins.models.losses.mutual_metric import multi_similarity_loss


@pytest.fixture(autouse=True)
def mmpretrain_scope():
    """Build in mmpretrain's scope, whatever an earlier test left set."""
    from mmengine.registry import DefaultScope
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        yield


def head(embed_dim=4):
    torch.manual_seed(0)
    return MODELS.build(dict(type='EmbeddingHead', in_channels=6, embed_dim=embed_dim,
                             loss=dict(type='MultiSimilarityLoss', loss_weight=2.0)))


def test_embedding_is_the_linear_map_of_the_last_pooled_feature():
    h = head()
    feats = (torch.randn(5, 3), torch.randn(5, 6))  # the last neck output is used
    emb = h(feats)
    assert emb.shape == (5, 4)
    assert torch.allclose(emb, feats[1] @ h.fc.weight.T + h.fc.bias)


def test_loss_is_the_pair_loss_of_the_embeddings_and_labels():
    h = head()
    x = torch.randn(6, 6)
    labels = [0, 0, 1, 1, 2, 2]
    samples = [DataSample().set_gt_label(lab) for lab in labels]
    loss = h.loss((x, ), samples)['loss']
    expect = 2.0 * multi_similarity_loss(h(x), torch.tensor(labels))
    assert loss.item() == pytest.approx(expect.item(), rel=1e-6)
    loss.backward()
    assert h.fc.weight.grad.abs().sum() > 0


def test_predict_stores_each_embedding():
    h = head()
    x = torch.randn(3, 6)
    out = h.predict((x, ), [DataSample().set_gt_label(i) for i in range(3)])
    emb = h(x)
    for i, ds in enumerate(out):
        assert torch.allclose(ds.pred_embedding, emb[i])
        assert ds.gt_label.item() == i
    assert len(h.predict((x, ))) == 3  # no data samples: new ones


def test_bad_inputs_are_clear_errors():
    h = head()
    with pytest.raises(ValueError, match=r'expects pooled \(N, 6\).*in_channels'):
        h(torch.randn(2, 6, 3, 3))
    with pytest.raises(ValueError, match='class label of every training sample'):
        h.loss((torch.randn(2, 6), ), [DataSample(), DataSample()])
    with pytest.raises(ValueError, match='head.embed_dim'):
        head(embed_dim=0)
