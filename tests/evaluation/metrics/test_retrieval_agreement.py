"""The retrieval metric against the libraries the field's users compare with
(issue 21): pytorch-metric-learning's AccuracyCalculator (faiss kNN and k-means,
scikit-learn's NMI) on the same embeddings. The libraries are test requirements
(requirements/tests.txt; faiss-cpu and scikit-learn are runtime ones): these tests fail,
they do not skip, without them."""
import logging

import pytest
import torch
import torch.nn.functional as F

from kd_plugins.evaluation.metrics.retrieval import (EmbeddingRecallNMI, faiss_kmeans,
                                                     kmeans, nmi, recall_at_k)

TOPK = (1, 2, 4, 8)


def gaussian_classes(n_cls=30, per=20, dim=32, noise=1.0, seed=0):
    """Embeddings around one random centre per class: continuous, so no exact ties."""
    g = torch.Generator().manual_seed(seed)
    centres = torch.randn(n_cls, dim, generator=g)
    labels = torch.arange(n_cls).repeat_interleave(per)
    return centres[labels] + noise * torch.randn(len(labels), dim, generator=g), labels


@pytest.fixture(scope='module')
def calculator():
    from pytorch_metric_learning.utils.accuracy_calculator import AccuracyCalculator
    logging.getLogger('PML').setLevel(logging.ERROR)

    class WithRecall(AccuracyCalculator):
        """PML's calculator plus Recall@K (it has precision@1 only): a hit when a
        same-label sample is among the K nearest of the (query-excluded) kNN."""

        def calculate_recall_at_k(self, knn_labels, query_labels, **kwargs):
            same = knn_labels == query_labels[:, None]
            return {k: same[:, :k].any(1).double().mean().item() for k in TOPK}

        def requires_knn(self):
            return super().requires_knn() + ['recall_at_k']

    def make(**kwargs):
        return WithRecall(k=max(TOPK), device=torch.device('cpu'), **kwargs)
    return make


@pytest.mark.parametrize('noise', [1.0, 1.5, 2.0])
@pytest.mark.parametrize('distance', ['cosine', 'euclidean'])
def test_recall_at_k_equals_pml(calculator, noise, distance):
    x, y = gaussian_classes(noise=noise)
    ours = recall_at_k(x, y, TOPK, distance)
    assert 0.2 < ours[1] < 1.0  # a case where ranks matter
    # PML searches faiss IndexFlatL2 on what it is given: normalised rows rank by
    # cosine, raw rows by Euclidean distance; the query is removed from its kNN
    given = F.normalize(x, dim=1) if distance == 'cosine' else x
    theirs = calculator(include=('precision_at_1', 'recall_at_k')).get_accuracy(given, y)
    assert theirs['recall_at_k'] == pytest.approx(ours, abs=1e-12)
    assert theirs['precision_at_1'] == pytest.approx(ours[1], abs=1e-12)


def test_lonely_queries_differ_as_documented(calculator):
    """A query with no other sample of its label: a miss for us (in the denominator),
    dropped by PML's precision_at_1."""
    x, y = gaussian_classes()
    y = y.clone()
    y[[0, 25]] = torch.tensor([900, 901])
    n, lonely = len(y), 2
    with pytest.warns(UserWarning, match='2 of 600 queries'):
        ours = recall_at_k(x, y, (1, ), 'cosine')[1]
    theirs = calculator(include=('precision_at_1', )).get_accuracy(
        F.normalize(x, dim=1), y)['precision_at_1']
    assert theirs == pytest.approx(ours * n / (n - lonely), abs=1e-12)
    assert theirs != pytest.approx(ours, abs=1e-6)


def test_nmi_equals_sklearn_and_pml_on_the_same_clusters(calculator):
    from sklearn.metrics import normalized_mutual_info_score
    x, y = gaussian_classes(noise=1.5)
    xn = F.normalize(x, dim=1)
    clusters = kmeans(xn, 30, seed=0, backend='faiss')
    ours = nmi(y, clusters)
    assert 0.5 < ours < 1.0
    assert ours == pytest.approx(normalized_mutual_info_score(y.numpy(), clusters.numpy()),
                                 abs=1e-12)
    # PML with our k-means: its NMI path (sklearn) must give the same number
    theirs = calculator(include=('NMI', ),
                        kmeans_func=lambda q, k: kmeans(q, k, seed=0, backend='faiss'))
    assert theirs.get_accuracy(xn, y)['NMI'] == pytest.approx(ours, abs=1e-12)


def inertia(x, clusters):
    centres = torch.stack([x[clusters == c].mean(0) for c in clusters.unique()])
    remap = {int(c): i for i, c in enumerate(clusters.unique())}
    idx = torch.tensor([remap[int(c)] for c in clusters])
    return float(((x - centres[idx]) ** 2).sum())


def test_faiss_and_own_kmeans_agree():
    # far-apart classes: both find them exactly
    x, y = gaussian_classes(n_cls=10, per=15, noise=0.05)
    for backend in ('faiss', 'torch'):
        assert nmi(y, kmeans(x, 10, seed=0, backend=backend)) == pytest.approx(1.0)
    # overlapping classes, 300 clusters of 10: the same quality (inertia within 1 %);
    # faiss is seeded (the same clusters twice)
    x, y = gaussian_classes(n_cls=300, per=10, dim=64, seed=1)
    xn = F.normalize(x, dim=1)
    by_faiss = faiss_kmeans(xn, 300, seed=0)
    assert torch.equal(by_faiss, faiss_kmeans(xn, 300, seed=0))
    own = kmeans(xn, 300, seed=0, backend='torch')
    assert inertia(xn, by_faiss) == pytest.approx(inertia(xn, own), rel=0.01)
    assert abs(nmi(y, by_faiss) - nmi(y, own)) < 0.01


def test_the_evaluator_uses_faiss_by_default_and_the_backend_is_checked():
    x, y = gaussian_classes(noise=1.5)
    samples = [dict(pred_embedding=e, gt_label=torch.tensor([int(lab)]))
               for e, lab in zip(x, y)]
    out = {}
    for backend in ('faiss', 'torch'):
        metric = EmbeddingRecallNMI(nmi_backend=backend)
        metric.process({}, samples)
        out[backend] = metric.evaluate(len(samples))
    assert EmbeddingRecallNMI().nmi_backend == 'faiss'
    for backend in ('faiss', 'torch'):
        clusters = kmeans(F.normalize(x, dim=1), 30, seed=0, restarts=3, max_iter=100,
                          backend=backend)
        assert out[backend]['retrieval/NMI'] == pytest.approx(100 * nmi(y, clusters))
    for key in ('retrieval/R@1', 'retrieval/R@8'):  # recall does not depend on it
        assert out['faiss'][key] == out['torch'][key]
    with pytest.raises(ValueError, match='nmi_backend'):
        EmbeddingRecallNMI(nmi_backend='sklearn')


def test_a_missing_faiss_is_named(monkeypatch):
    import builtins
    real_import = builtins.__import__

    def no_faiss(name, *args, **kwargs):
        if name == 'faiss':
            raise ImportError('No module named faiss')
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, '__import__', no_faiss)
    with pytest.raises(ImportError, match="nmi_backend='torch'"):
        EmbeddingRecallNMI()
    metric = EmbeddingRecallNMI(nmi_backend='torch')  # the own k-means needs no faiss
    x, y = gaussian_classes(n_cls=5, per=4, noise=0.05)
    metric.process({}, [dict(pred_embedding=e, gt_label=torch.tensor([int(lab)]))
                        for e, lab in zip(x, y)])
    assert metric.evaluate(20)['retrieval/NMI'] == pytest.approx(100.0)
