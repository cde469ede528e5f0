"""Recall@K and NMI of image embeddings (a registered mmpretrain evaluator metric).

The deep-metric-learning evaluation of CUB-200 / Cars-196 / SOP: every test image is a
query against all the OTHER test images (the query is left out of its own gallery).
With d the distance (``'cosine'``: 1 - <x/|x|, y/|y|>; ``'euclidean'``: |x - y| on
the raw embeddings) and the gallery ranked by increasing d, ties broken by gallery index
(a stable sort by (d, index)):

    R@K = #{queries with a same-label sample among their K nearest} / #queries

A query whose class has no other sample in the set can never hit: it counts as a miss
(with a warning; pytorch-metric-learning's ``precision_at_1`` drops such queries
instead, so with lonely queries it is ours x N / (N - lonely)). NMI clusters the
embeddings (L2-normalised first for ``'cosine'``) with k-means into as many clusters as
there are labels, then, with natural logs,

    H(Y) = -sum_y p(y) log p(y)      I(Y; C) = sum_{y,c} p(y, c) log p(y, c) / (p(y) p(c))
    NMI = 2 I(Y; C) / (H(Y) + H(C))   (arithmetic-mean normalisation; 1 if both H are 0)

computed by scikit-learn's ``normalized_mutual_info_score`` (its default, the same
formula). k-means (``nmi_backend``):

- ``'faiss'`` (default): ``faiss.Kmeans`` with k-means++ seeding from ``nmi_seed``,
  ``nmi_max_iter`` Lloyd iterations, the lowest-inertia of ``nmi_restarts`` runs
  (``nredo``), on the CPU. The library pytorch-metric-learning's accuracy calculator
  uses (its defaults: random seeding, 20 iterations, one run). Measured against the
  project's own k-means at 6,000 points, 1,000 clusters, 64-d, one thread: 0.3 s
  against 1.1 s at the same inertia (within 0.1 %).
- ``'torch'``: the project's own k-means (k-means++ seeding from a ``torch.Generator``,
  Lloyd iterations until the assignments stop changing or ``nmi_max_iter``, an empty
  cluster re-seeded from the point farthest from its centre, the lowest-inertia of
  ``nmi_restarts`` runs), kept for machines without faiss (the GPU check kit) and for
  ``device='cuda'``; deterministic for a seed on the CPU.

Recall@K stays the project's own code: exact ties broken by gallery index (faiss's order
of equal distances is unspecified) and GPU tensors with ``device='cuda'``; faiss's flat
search was about 12x faster on 12,000 128-d embeddings (one thread), a candidate when
evaluation time matters. Both parts run over chunks of ``chunk_size`` rows, never an
N x N (or N x #classes) matrix at once. tests/evaluation/metrics/
test_retrieval_agreement.py checks Recall@K, NMI and k-means against
pytorch-metric-learning, faiss and scikit-learn on the same embeddings. Reported in
percent, like mmpretrain's accuracy:
``R@1``, ``R@2``, ... and ``NMI`` (``retrieval/R@1`` etc. with the default prefix).
The model's ``predict`` must store the embedding as ``pred_embedding`` in each data
sample (e.g. an ``ImageClassifier`` with kd_plugins' ``EmbeddingHead``).

Config::

    val_evaluator = dict(type='EmbeddingRecallNMI', topk=(1, 2, 4, 8),
                         distance='cosine', nmi=True, nmi_backend='faiss')
"""
import warnings
from typing import Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from mmengine.evaluator import BaseMetric
from mmpretrain.registry import METRICS

from ...models.utils.config_checks import (check_bool, check_int, check_positive_int,
                                           is_int)

DISTANCES = ('cosine', 'euclidean')
NMI_BACKENDS = ('faiss', 'torch')


def check_topk(topk) -> Tuple[int, ...]:
    """``topk`` as a tuple: a non-empty list / tuple of positive ints."""
    if (not isinstance(topk, (list, tuple)) or not topk
            or not all(is_int(k) and k > 0 for k in topk)):
        raise ValueError(f'topk must be a non-empty sequence of positive ints, '
                         f'got {topk!r}')
    return tuple(topk)


def check_distance(distance) -> str:
    if distance not in DISTANCES:
        raise ValueError(f'distance must be one of {DISTANCES}, got {distance!r}')
    return distance


def _check_embeddings(emb: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    if emb.dim() != 2:
        raise ValueError(f'embeddings must be an (N, D) tensor, got {tuple(emb.shape)}')
    labels = torch.as_tensor(labels).reshape(-1).long()
    if labels.numel() != emb.shape[0]:
        raise ValueError(f'{emb.shape[0]} embeddings but {labels.numel()} labels')
    if emb.shape[0] < 2:
        raise ValueError(f'retrieval needs at least 2 samples, got {emb.shape[0]}')
    if not torch.isfinite(emb).all():
        raise ValueError('pred_embedding contains NaN or inf values')
    return labels.to(emb.device)


def _scores(q: torch.Tensor, g: torch.Tensor, g2: Optional[torch.Tensor]) -> torch.Tensor:
    """Smaller = nearer: -cosine on normalised rows (``g2`` None), else squared
    Euclidean distance."""
    if g2 is None:
        return -(q @ g.T)
    return ((q * q).sum(1, keepdim=True) - 2 * (q @ g.T) + g2[None]).clamp_(min=0)


def recall_at_k(emb: torch.Tensor, labels, topk: Sequence[int] = (1, 2, 4, 8),
                distance: str = 'cosine', chunk_size: int = 1024) -> Dict[int, float]:
    """Recall@K in [0, 1] for each K of ``topk`` (see the module docstring), of the
    ``(N, D)`` embeddings ``emb`` with their ``(N,)`` labels; queries in chunks of
    ``chunk_size`` rows. A K > N - 1 is computed as N - 1 (with a warning)."""
    topk = check_topk(topk)
    distance = check_distance(distance)
    chunk_size = check_positive_int(chunk_size, 'chunk_size')
    labels = _check_embeddings(emb, labels)
    n = emb.shape[0]
    if max(topk) > n - 1:
        warnings.warn(f'Recall@K with K = {max(topk)} > N - 1 = {n - 1} gallery '
                      f'samples: computed with K = {n - 1}')
    _, inverse, counts = torch.unique(labels, return_inverse=True, return_counts=True)
    lonely = int((counts[inverse] == 1).sum())
    if lonely == n:
        raise ValueError('no query has another sample of its label in the set: '
                         'Recall@K is undefined')
    if lonely:
        warnings.warn(f'{lonely} of {n} queries have no other sample of their label '
                      'in the set; they count as misses')
    if distance == 'cosine':
        g, g2 = F.normalize(emb, dim=1), None
    else:
        g, g2 = emb, (emb * emb).sum(1)
    ks = {k: min(k, n - 1) for k in topk}
    kmax = max(ks.values())
    hits = {k: 0 for k in set(ks.values())}
    for start in range(0, n, chunk_size):
        stop = min(start + chunk_size, n)
        rows = torch.arange(stop - start, device=emb.device)
        d = _scores(g[start:stop], g, g2)
        d[rows, rows + start] = float('inf')  # the query is not in its own gallery
        same = labels[start:stop, None] == labels[None]
        same[rows, rows + start] = False
        kth = torch.topk(d, kmax, dim=1, largest=False, sorted=True).values
        for k in hits:
            thr = kth[:, k - 1:k]
            less = d < thr
            hit = (less & same).any(1)
            tie = d == thr
            # samples at the K-th distance enter by increasing index: only rows with a
            # same-label tie and no strict hit need the ranks
            open_rows = ((tie & same).any(1) & ~hit).nonzero().squeeze(1)
            if open_rows.numel():
                t = tie[open_rows]
                slots = k - less[open_rows].sum(1, keepdim=True)
                hit[open_rows] = (t & same[open_rows] & (t.cumsum(1) <= slots)).any(1)
            hits[k] += int(hit.sum())
    return {k: hits[ks[k]] / n for k in topk}


def nmi(labels, clusters) -> float:
    """Normalised mutual information 2 I(Y; C) / (H(Y) + H(C)) in [0, 1] of two
    partitions of the same samples (any integer ids; 1.0 when both are constant):
    scikit-learn's ``normalized_mutual_info_score`` (arithmetic mean)."""
    from sklearn.metrics import normalized_mutual_info_score
    y = torch.as_tensor(labels).reshape(-1)
    c = torch.as_tensor(clusters).reshape(-1)
    if y.numel() != c.numel() or y.numel() == 0:
        raise ValueError(f'labels ({y.numel()}) and clusters ({c.numel()}) must be '
                         'equally long and non-empty')
    score = normalized_mutual_info_score(y.cpu().numpy(), c.cpu().numpy())
    return float(min(max(score, 0.0), 1.0))


def import_faiss():
    """The faiss module, or an ImportError that says what to do."""
    try:
        import faiss
    except ImportError as err:
        raise ImportError(
            "nmi_backend='faiss' needs faiss (pip install faiss-cpu; tools/install.sh "
            "installs it), or set nmi_backend='torch' for the project's own k-means"
        ) from err
    return faiss


def faiss_kmeans(x: torch.Tensor, k: int, seed: int = 0, restarts: int = 3,
                 max_iter: int = 100) -> torch.Tensor:
    """``(N,)`` cluster ids in [0, k) by ``faiss.Kmeans``: k-means++ seeding from
    ``seed``, ``max_iter`` Lloyd iterations, the lowest-inertia of ``restarts`` runs;
    no subsampling (every point trains)."""
    import numpy as np
    faiss = import_faiss()
    data = np.ascontiguousarray(x.detach().float().cpu().numpy())
    n = data.shape[0]
    km = faiss.Kmeans(data.shape[1], k, niter=max_iter, nredo=restarts,
                      seed=seed % 2**31, verbose=False, spherical=False,
                      init_method=faiss.ClusteringInitMethod_KMEANS_PLUS_PLUS,
                      min_points_per_centroid=1, max_points_per_centroid=n)
    km.train(data)
    _, assign = km.index.search(data, 1)
    return torch.from_numpy(assign[:, 0].astype(np.int64)).to(x.device)


def _assign(x: torch.Tensor, x2: torch.Tensor, centers: torch.Tensor,
            chunk_size: int) -> Tuple[torch.Tensor, torch.Tensor]:
    """Nearest centre (lowest index on ties) and squared distance to it, per row."""
    c2 = (centers * centers).sum(1)
    assign = torch.empty(x.shape[0], dtype=torch.long, device=x.device)
    dist = torch.empty(x.shape[0], dtype=x.dtype, device=x.device)
    for start in range(0, x.shape[0], chunk_size):
        stop = start + chunk_size
        d = x2[start:stop, None] - 2 * (x[start:stop] @ centers.T) + c2[None]
        dist[start:stop], assign[start:stop] = d.min(1)
    return assign, dist.clamp_(min=0)


def _kmeans_pp(x: torch.Tensor, x2: torch.Tensor, k: int,
               gen: torch.Generator) -> torch.Tensor:
    """k-means++ seeding: each next centre drawn with probability ~ squared distance
    to the nearest centre so far (a uniform draw from ``gen`` per centre)."""
    n = x.shape[0]
    pick = int(torch.randint(n, (1,), generator=gen))
    picks = [pick]
    d2 = torch.full((n,), float('inf'), dtype=torch.float64, device=x.device)
    for _ in range(1, k):
        new = (x2 - 2 * (x @ x[pick]) + x2[pick]).clamp_(min=0).double()
        new[pick] = 0
        d2 = torch.minimum(d2, new)
        cum = d2.cumsum(0)
        if cum[-1] <= 0:  # every point sits on a centre: take the lowest unused index
            used = torch.zeros(n, dtype=torch.bool, device=x.device)
            used[picks] = True
            pick = int((~used).nonzero()[0])
        else:
            r = float(torch.rand((), generator=gen, dtype=torch.float64)) * cum[-1]
            pick = int(torch.searchsorted(cum, r.reshape(1), right=True))
            if pick >= n:  # r rounded up to the total
                pick = int((d2 > 0).nonzero()[-1])
        picks.append(pick)
    return x[picks].clone()


def _reseed_empty(assign: torch.Tensor, dist: torch.Tensor, k: int) -> torch.Tensor:
    """Move the points farthest from their centres (from clusters of > 1 point) into
    the empty clusters; returns the new assignments (``assign`` and ``dist`` are
    updated in place)."""
    counts = torch.bincount(assign, minlength=k)
    empty = (counts == 0).nonzero().squeeze(1).tolist()
    if not empty:
        return assign
    order = torch.sort(dist, descending=True, stable=True).indices.tolist()
    pos = 0
    for c in empty:
        while counts[assign[order[pos]]] <= 1:
            pos += 1
        p = order[pos]
        counts[assign[p]] -= 1
        counts[c] += 1
        assign[p] = c
        dist[p] = 0
        pos += 1
    return assign


def _centers(x: torch.Tensor, assign: torch.Tensor, k: int) -> torch.Tensor:
    sums = torch.zeros(k, x.shape[1], dtype=torch.float64, device=x.device)
    sums.index_add_(0, assign, x.double())
    counts = torch.bincount(assign, minlength=k).clamp(min=1)
    return (sums / counts[:, None]).to(x.dtype)


def kmeans(x: torch.Tensor, k: int, seed: int = 0, restarts: int = 3,
           max_iter: int = 100, chunk_size: int = 1024,
           backend: str = 'torch') -> torch.Tensor:
    """``(N,)`` cluster ids in [0, k) of the rows of ``x`` (Euclidean k-means, see the
    module docstring): the lowest-inertia of ``restarts`` runs, given ``seed``;
    ``backend`` ``'faiss'`` (:func:`faiss_kmeans`) or ``'torch'`` (the project's own,
    deterministic on the CPU, distances in chunks of ``chunk_size`` rows)."""
    if x.dim() != 2 or not torch.isfinite(x).all():
        raise ValueError(f'kmeans needs a finite (N, D) tensor, got {tuple(x.shape)}')
    k = check_positive_int(k, 'k')
    if k > x.shape[0]:
        raise ValueError(f'k = {k} clusters > N = {x.shape[0]} points')
    seed = check_int(seed, 'seed')
    restarts = check_positive_int(restarts, 'restarts')
    max_iter = check_positive_int(max_iter, 'max_iter')
    chunk_size = check_positive_int(chunk_size, 'chunk_size')
    if check_nmi_backend(backend) == 'faiss':
        return faiss_kmeans(x, k, seed, restarts, max_iter)
    if not x.is_floating_point():
        x = x.float()
    gen = torch.Generator().manual_seed(seed)
    x2 = (x * x).sum(1)
    best, best_inertia = None, float('inf')
    for _ in range(restarts):
        centers = _kmeans_pp(x, x2, k, gen)
        assign, dist = _assign(x, x2, centers, chunk_size)
        for _ in range(max_iter):
            assign = _reseed_empty(assign, dist, k)
            centers = _centers(x, assign, k)
            new, dist = _assign(x, x2, centers, chunk_size)
            if torch.equal(new, assign):
                break
            assign = new
        inertia = float(dist.double().sum())
        if inertia < best_inertia:
            best, best_inertia = new, inertia
    return best


def check_nmi_backend(backend) -> str:
    if backend not in NMI_BACKENDS:
        raise ValueError(f'nmi_backend must be one of {NMI_BACKENDS}, got {backend!r}')
    return backend


def _label(value) -> int:
    t = torch.as_tensor(value)
    if t.numel() != 1:
        raise ValueError('gt_label must be a single class id, got shape '
                         f'{tuple(t.shape)}')
    return int(t.reshape(-1)[0])


@METRICS.register_module()
class EmbeddingRecallNMI(BaseMetric):
    """Recall@K and NMI of the ``pred_embedding`` of each data sample against its
    ``gt_label`` (see the module docstring).

    Args:
        topk (Sequence[int]): the K of the reported Recall@K.
        distance (str): ``'cosine'`` or ``'euclidean'``.
        nmi (bool): also cluster the embeddings and report NMI (slow on SOP).
        nmi_seed (int): seed of the k-means++ draws.
        nmi_restarts (int): k-means runs; the lowest-inertia one is kept.
        nmi_max_iter (int): Lloyd iterations per run (at most, for ``'torch'``).
        nmi_backend (str): the k-means: ``'faiss'`` (default) or ``'torch'`` (the
            project's own; no faiss needed).
        chunk_size (int): rows of queries / points per distance block.
        device (str): where :meth:`compute_metrics` computes (e.g. ``'cuda'``).
        collect_device, prefix: as :class:`mmengine.evaluator.BaseMetric`.
    """
    default_prefix = 'retrieval'

    def __init__(self, topk: Sequence[int] = (1, 2, 4, 8), distance: str = 'cosine',
                 nmi: bool = True, nmi_seed: int = 0, nmi_restarts: int = 3,
                 nmi_max_iter: int = 100, chunk_size: int = 1024, device: str = 'cpu',
                 collect_device: str = 'cpu', prefix: Optional[str] = 'retrieval',
                 nmi_backend: str = 'faiss') -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        self.topk = check_topk(topk)
        self.distance = check_distance(distance)
        self.with_nmi = check_bool(nmi, 'nmi')
        self.nmi_seed = check_int(nmi_seed, 'nmi_seed')
        self.nmi_restarts = check_positive_int(nmi_restarts, 'nmi_restarts')
        self.nmi_max_iter = check_positive_int(nmi_max_iter, 'nmi_max_iter')
        self.nmi_backend = check_nmi_backend(nmi_backend)
        if self.with_nmi and self.nmi_backend == 'faiss':
            import_faiss()  # missing: fail when built, not after the whole test set
        self.chunk_size = check_positive_int(chunk_size, 'chunk_size')
        self.device = torch.device(device)

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        for sample in data_samples:
            if 'pred_embedding' not in sample:
                raise KeyError(
                    'EmbeddingRecallNMI needs pred_embedding in each data sample: the '
                    "model's predict must set pred_embedding (a metric-learning model, "
                    "e.g. an ImageClassifier with kd_plugins' EmbeddingHead)")
            emb = torch.as_tensor(sample['pred_embedding']).detach()
            if emb.dim() == 2 and emb.shape[0] == 1:
                emb = emb[0]
            if emb.dim() != 1:
                raise ValueError('pred_embedding must be a 1-D tensor, got shape '
                                 f'{tuple(emb.shape)}')
            if 'gt_label' not in sample:
                raise KeyError('EmbeddingRecallNMI needs gt_label in each data sample')
            self.results.append((emb.float().cpu(), _label(sample['gt_label'])))

    def compute_metrics(self, results: List[tuple]) -> Dict[str, float]:
        if len(results) < 2:
            raise ValueError(f'retrieval needs at least 2 samples, got {len(results)}')
        dims = {emb.numel() for emb, _ in results}
        if len(dims) > 1:
            raise ValueError('pred_embedding sizes differ across samples: '
                             f'{sorted(dims)}')
        emb = torch.stack([e for e, _ in results]).to(self.device)
        labels = torch.tensor([lab for _, lab in results], device=self.device)
        recall = recall_at_k(emb, labels, self.topk, self.distance, self.chunk_size)
        out = {f'R@{k}': 100 * r for k, r in recall.items()}
        if self.with_nmi:
            x = F.normalize(emb, dim=1) if self.distance == 'cosine' else emb
            clusters = kmeans(x, int(labels.unique().numel()), self.nmi_seed,
                              self.nmi_restarts, self.nmi_max_iter, self.chunk_size,
                              self.nmi_backend)
            out['NMI'] = 100 * nmi(labels, clusters)
        return out
