"""Recall@K, NMI and k-means on hand-checkable inputs, and the registered retrieval
metric end to end."""
import math

import pytest
import torch

from kd_plugins.evaluation.metrics.retrieval import (EmbeddingRecallNMI, _reseed_empty,
                                                     kmeans, nmi, recall_at_k)

# six points on a line (y = 0): x = 0, 1, 2, 3, 10, 20 with labels 0, 1, 0, 1, 2, 2
LINE = torch.tensor([[0., 0.], [1., 0.], [2., 0.], [3., 0.], [10., 0.], [20., 0.]])
LINE_LABELS = [0, 1, 0, 1, 2, 2]


def points(*xy):
    return torch.tensor(xy, dtype=torch.float32)


def test_recall_on_a_line_by_hand():
    # Euclidean rankings (gallery = the other five; ties by index):
    #   q0 (l0): 1, 2(l0), ...          -> first hit at rank 2
    #   q1 (l1): 0, 2 (tie at 1), 3(l1) -> rank 3
    #   q2 (l0): 1, 3 (tie at 1), 0(l0) -> rank 3
    #   q3 (l1): 2, 1(l1)               -> rank 2
    #   q4 (l2): 3 (7), 2 (8), 1 (9), 0 and 5(l2) tied at 10, 0 first -> rank 5
    #   q5 (l2): 4(l2)                  -> rank 1
    # R@1 = 1/6, R@2 = 3/6, R@4 = 5/6, R@8 (= R@5, N - 1 = 5) = 6/6
    with pytest.warns(UserWarning, match='K = 8 > N - 1 = 5'):
        r = recall_at_k(LINE, LINE_LABELS, (1, 2, 4, 8), 'euclidean')
    assert r == pytest.approx({1: 1 / 6, 2: 3 / 6, 4: 5 / 6, 8: 1.0})
    # cosine: shifted to y = 1 the angles are 90, 45, 26.6, 18.4, 5.7, 2.9 degrees;
    # angular nearest: q0 -> 1, q1 -> 2, q2 -> 3, q3 -> 2 (8.1 < 12.7), all misses;
    # q4 -> 5 and q5 -> 4 hit: R@1 = 2/6
    r = recall_at_k(LINE + torch.tensor([0., 1.]), LINE_LABELS, (1,), 'cosine')
    assert r[1] == pytest.approx(2 / 6)  # q4 and q5 hit


def test_cosine_and_euclidean_differ_by_hand():
    # q = (1, 0) l0, p1 = (5, 0) l0, p2 = (1, .5) l1, p3 = (.5, 1) l1
    # Euclidean nearest: q -> p2 (.5, miss), p1 -> q (4 < 4.03, hit),
    #   p2 -> q (.5 < .71, miss), p3 -> p2 (.71 < 1.12, hit): R@1 = 2/4
    # angles 0, 0, 26.6, 63.4 degrees: q -> p1 (hit), p1 -> q (hit),
    #   p2 -> q (26.6 < 36.9, miss), p3 -> p2 (hit): R@1 = 3/4
    x = points([1, 0], [5, 0], [1, .5], [.5, 1])
    labels = torch.tensor([0, 0, 1, 1])
    assert recall_at_k(x, labels, (1,), 'euclidean') == {1: 0.5}
    assert recall_at_k(x, labels, (1,), 'cosine') == {1: 0.75}


def test_query_is_not_its_own_neighbour():
    # x = 0 (l0), 5 (l1), 6 (l0), 20 (l1): every nearest OTHER point has the other label
    # (0 -> 5, 5 -> 6, 6 -> 5, 20 -> 6), so R@1 = 0; with the query itself in the
    # gallery every query would hit at distance 0. R@2: 0 -> 5, 6 (hit); 5 -> 6, 0
    # (miss); 6 -> 5, 0 (hit); 20 -> 6, 5 (hit): 3/4
    x = points([0, 0], [5, 0], [6, 0], [20, 0])
    assert recall_at_k(x, [0, 1, 0, 1], (1, 2), 'euclidean') == {1: 0.0, 2: 0.75}


def test_ties_broken_by_index():
    # x = 0 (l0), 1 (l1), -1 (l0), 9 (l1): q0 has two neighbours at distance 1, index 1
    # (l1) ranks before index 2 (l0) -> miss; q1 -> 0 miss, q2 -> 0 hit, q3 -> 1 hit
    ranked = recall_at_k(points([0, 0], [1, 0], [-1, 0], [9, 0]), [0, 1, 0, 1], (1,),
                         'euclidean')
    assert ranked[1] == pytest.approx(2 / 4)
    # x = 0 (l0), -1 (l0), 1 (l1), 9 (l1): now the tied index 1 is q0's positive -> hit;
    # q1 -> 0 hit, q2 -> 0 miss, q3 -> 2 hit
    swapped = recall_at_k(points([0, 0], [-1, 0], [1, 0], [9, 0]), [0, 0, 1, 1], (1,),
                          'euclidean')
    assert swapped[1] == pytest.approx(3 / 4)


def reference_recall(emb, labels, topk, distance):
    """Full stable sort by (distance, index), no chunks."""
    if distance == 'cosine':
        e = torch.nn.functional.normalize(emb.double(), dim=1)
        d = -(e @ e.T)
    else:
        d = torch.cdist(emb.double(), emb.double())
    d.fill_diagonal_(float('inf'))
    order = torch.sort(d, dim=1, stable=True).indices
    same = labels[order] == labels[:, None]
    return {k: same[:, :k].any(1).double().mean().item() for k in topk}


@pytest.mark.parametrize('distance', ['cosine', 'euclidean'])
def test_chunks_match_one_block_and_a_full_sort(distance):
    gen = torch.Generator().manual_seed(0)
    emb = torch.randint(-2, 3, (60, 3), generator=gen).float()  # many exact ties
    emb[emb.abs().sum(1) == 0] = 1.0
    labels = torch.randint(0, 6, (60,), generator=gen)
    whole = recall_at_k(emb, labels, (1, 2, 4, 8), distance, chunk_size=1024)
    assert recall_at_k(emb, labels, (1, 2, 4, 8), distance, chunk_size=7) == whole
    assert whole == pytest.approx(reference_recall(emb, labels, (1, 2, 4, 8), distance))
    x = torch.randn(80, 4, generator=gen)
    assert torch.equal(kmeans(x, 5, seed=1, chunk_size=3), kmeans(x, 5, seed=1))


def test_lonely_queries_are_misses_with_a_warning():
    # labels 0, 0, 1: q2 has no positive; q0 and q1 find each other at rank 1
    x = points([0, 0], [1, 0], [5, 0])
    with pytest.warns(UserWarning, match='1 of 3 queries'):
        assert recall_at_k(x, [0, 0, 1], (1,), 'euclidean')[1] == pytest.approx(2 / 3)
    with pytest.raises(ValueError, match='no query'):
        recall_at_k(x, [0, 1, 2], (1,), 'euclidean')


def test_nmi_by_hand():
    assert nmi([0, 0, 1, 1, 2], [0, 0, 1, 1, 2]) == pytest.approx(1.0)
    assert nmi([0, 0, 1, 1, 2], [7, 7, 3, 3, 5]) == pytest.approx(1.0)  # renamed ids
    assert nmi([0, 0, 1, 1], [0, 1, 0, 1]) == pytest.approx(0.0, abs=1e-12)
    assert nmi([1, 1, 1], [4, 4, 4]) == 1.0
    # labels 0,0,0,1 / clusters 0,0,1,1: p(y) = 3/4, 1/4; p(c) = 1/2, 1/2; occupied
    # cells (0,0) 1/2, (0,1) 1/4, (1,1) 1/4:
    #   I = 1/2 log(4/3) + 1/4 log(2/3) + 1/4 log 2 = 0.215762
    #   H(Y) = -(3/4 log 3/4 + 1/4 log 1/4) = 0.562335, H(C) = log 2 = 0.693147
    #   NMI = 2 I / (H(Y) + H(C)) = 0.343711
    mi = 0.5 * math.log(4 / 3) + 0.25 * math.log(2 / 3) + 0.25 * math.log(2)
    hy = -(0.75 * math.log(0.75) + 0.25 * math.log(0.25))
    expected = 2 * mi / (hy + math.log(2))
    assert expected == pytest.approx(0.343711, abs=1e-6)
    assert nmi(torch.tensor([0, 0, 0, 1]), torch.tensor([0, 0, 1, 1])) == \
        pytest.approx(expected, abs=1e-6)
    with pytest.raises(ValueError, match='equally long'):
        nmi([0, 1], [0])


def blobs(per=12, seed=0):
    gen = torch.Generator().manual_seed(seed)
    centers = torch.tensor([[0., 0.], [10., 0.], [0., 10.], [10., 10.], [5., 20.]])
    x = centers.repeat_interleave(per, 0) + 0.3 * torch.randn(5 * per, 2, generator=gen)
    return x, torch.arange(5).repeat_interleave(per)


def test_kmeans_recovers_blobs_deterministically():
    x, labels = blobs()
    perm = torch.randperm(len(x), generator=torch.Generator().manual_seed(3))
    x, labels = x[perm], labels[perm]
    clusters = kmeans(x, 5, seed=0)
    assert clusters.shape == labels.shape and clusters.max() < 5
    assert 100 * nmi(labels, clusters) == pytest.approx(100.0)
    assert torch.equal(kmeans(x, 5, seed=0), clusters)
    assert torch.equal(kmeans(x, 5, seed=7, restarts=2), kmeans(x, 5, seed=7, restarts=2))
    # duplicated points: more clusters than distinct points still ends (empty reseeds)
    dup = torch.tensor([[0., 0.], [0., 0.], [1., 0.], [1., 0.]])
    assert kmeans(dup, 3, max_iter=5).shape == (4,)
    with pytest.raises(ValueError, match='k = 5 clusters > N = 4'):
        kmeans(dup, 5)


def test_empty_cluster_takes_the_farthest_point():
    # points (0, 0), (1, 0), (9, 0), all in cluster 0 (centre (1, 0)); cluster 1 empty
    assign = torch.tensor([0, 0, 0])
    dist = torch.tensor([1., 0., 81.])  # point 2 is the farthest from its centre
    assert _reseed_empty(assign, dist, 2).tolist() == [0, 0, 1]
    assert dist[2] == 0


def embedding_samples():
    x, labels = blobs(per=4)
    return [dict(pred_embedding=e, gt_label=torch.tensor([int(lab)]))
            for e, lab in zip(x, labels)]


def test_registered_metric_end_to_end():
    from mmengine.registry import DefaultScope
    from mmpretrain.registry import METRICS
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        metric = METRICS.build(dict(type='EmbeddingRecallNMI', distance='euclidean'))
    samples = embedding_samples()
    metric.process({}, samples[:10])
    metric.process({}, samples[10:])
    out = metric.evaluate(len(samples))
    assert set(out) == {'retrieval/R@1', 'retrieval/R@2', 'retrieval/R@4',
                        'retrieval/R@8', 'retrieval/NMI'}
    assert out['retrieval/R@1'] == pytest.approx(100.0)  # blobs are far apart
    assert out['retrieval/NMI'] == pytest.approx(100.0)
    assert metric.results == []  # evaluate clears them


def test_metric_with_mmpretrain_data_samples():
    from mmpretrain.structures import DataSample

    # 0 <-> 1 (label 0) and 2 <-> 3 (label 1) are mutual nearest: hits; 4 (label 2, no
    # positive) and 5 (label 1) are each other's nearest: misses. R@1 = 4/6
    xs = [[0, 1], [0, 1.1], [1, 0], [1.1, 0], [1, 1], [.9, 1.2]]
    labels = [0, 0, 1, 1, 2, 1]
    samples = []
    for x, lab in zip(xs, labels):
        s = DataSample().set_gt_label(lab)
        s.set_field(torch.tensor(x), 'pred_embedding')
        samples.append(s.to_dict())
    metric = EmbeddingRecallNMI(topk=(1,), distance='euclidean', nmi=False,
                                prefix='val')
    metric.process({}, samples)
    out = metric.evaluate(6)
    assert out == pytest.approx({'val/R@1': 400 / 6})


def test_built_from_an_mmrazor_config(mmrazor_scope):
    from mmrazor.registry import METRICS
    metric = METRICS.build(dict(type='mmpretrain.EmbeddingRecallNMI', topk=(1, 5)))
    assert isinstance(metric, EmbeddingRecallNMI) and metric.topk == (1, 5)


@pytest.mark.parametrize('kwargs, field', [
    (dict(topk=()), 'topk'), (dict(topk=5), 'topk'), (dict(topk=(1, 0)), 'topk'),
    (dict(topk=(1, 2.0)), 'topk'), (dict(distance='manhattan'), 'distance'),
    (dict(nmi_restarts=0), 'nmi_restarts'), (dict(nmi_seed=-1), 'nmi_seed'),
    (dict(chunk_size=0), 'chunk_size'), (dict(nmi='yes'), 'nmi')])
def test_bad_arguments_name_the_field(kwargs, field):
    with pytest.raises(ValueError, match=field):
        EmbeddingRecallNMI(**kwargs)


def test_bad_samples():
    metric = EmbeddingRecallNMI(nmi=False)
    with pytest.raises(KeyError, match='pred_embedding'):
        metric.process({}, [dict(gt_label=torch.tensor([0]))])
    with pytest.raises(ValueError, match='at least 2 samples'):
        metric.compute_metrics([(torch.zeros(3), 0)])
    with pytest.raises(ValueError, match='at least 2 samples'):
        recall_at_k(torch.zeros(1, 3), [0], (1,), 'cosine')
    with pytest.raises(ValueError, match='distance'):
        recall_at_k(LINE, LINE_LABELS, (1,), 'l1')
    with pytest.raises(ValueError, match='topk'):
        recall_at_k(LINE, LINE_LABELS, [], 'cosine')
    with pytest.raises(ValueError, match='NaN'):
        recall_at_k(LINE * float('nan'), LINE_LABELS, (1,), 'cosine')
