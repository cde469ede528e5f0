"""ClassBalancedSampler: P x K batches, every usable image each epoch, singleton classes
left out, seeded shuffles, the split across ranks and a real dataloader on the toy
retrieval set."""
import collections

import numpy as np
import pytest

from kd_plugins.datasets import ClassBalancedSampler, RetrievalListDataset
from kd_plugins.datasets import class_balanced_sampler as cbs


class Labels:
    """A dataset that only has labels."""

    def __init__(self, labels):
        self.labels = np.asarray(labels)

    def __len__(self):
        return len(self.labels)

    def get_gt_labels(self):
        return self.labels


def per_class(counts):
    return Labels([c for c, n in enumerate(counts) for _ in range(n)])


def batches(sampler, size):
    out = list(sampler)
    assert len(out) == len(sampler) and len(out) % size == 0
    return [out[i:i + size] for i in range(0, len(out), size)]


def class_counts(dataset, batch):
    return sorted(collections.Counter(dataset.labels[batch].tolist()).values())


@pytest.mark.parametrize('counts,k,p', [([8] * 6, 4, 3), ([5] * 4, 2, 2),
                                        ([12, 9, 7, 4, 4, 3, 2, 2], 4, 3),
                                        ([40, 4, 4], 4, 2)])
def test_every_batch_holds_p_classes_with_k_each(counts, k, p):
    ds = per_class(counts)
    sampler = ClassBalancedSampler(ds, samples_per_class=k, batch_size=p * k, seed=3)
    for epoch in range(3):
        sampler.set_epoch(epoch)
        got = batches(sampler, p * k)
        assert got and all(class_counts(ds, b) == [k] * p for b in got)
    if len(set(counts)) == 1:  # equal classes: the rounds alone keep batches distinct
        plain = ClassBalancedSampler(ds, samples_per_class=k, seed=3)
        assert all(class_counts(ds, b) == [k] * p for b in batches(plain, p * k))


def test_dominant_class_gives_one_group_per_batch():
    ds = per_class([40, 4, 4])  # 10 + 1 + 1 groups of 4: only 2 batches of 2 classes
    assert cbs.max_blocks([10, 1, 1], 2) == 2 and cbs.max_blocks([5, 5, 5], 3) == 5
    sampler = ClassBalancedSampler(ds, samples_per_class=4, batch_size=8, seed=0)
    assert len(sampler) == 16 == len(list(sampler))


def test_every_index_of_large_classes_appears_each_epoch():
    counts = [9, 6, 4, 3, 2]
    ds = per_class(counts)
    sampler = ClassBalancedSampler(ds, samples_per_class=4, seed=1)
    starts = np.cumsum([0] + counts)
    for epoch in range(4):
        sampler.set_epoch(epoch)
        seen = list(sampler)
        assert len(seen) == 4 * (3 + 2 + 1 + 1 + 1)
        assert set(range(starts[3])) <= set(seen)  # classes with >= 4 images: all
        groups = [seen[i:i + 4] for i in range(0, len(seen), 4)]
        assert all(len(set(ds.labels[g].tolist())) == 1 for g in groups)
        for g in groups:  # a filled group repeats only in a class smaller than K
            if counts[ds.labels[g[0]]] >= 4:
                assert len(set(g)) == 4


def test_singleton_classes_are_left_out_with_a_warning():
    ds = per_class([4, 1, 4, 1])
    with pytest.warns(UserWarning, match=r'2 classes of dataset Labels have a single '
                                         r'image .*left out \(first: \[1, 3\]\)'):
        sampler = ClassBalancedSampler(ds, samples_per_class=2, seed=0)
    assert sorted(sampler) == [0, 1, 2, 3, 5, 6, 7, 8]


def test_bad_arguments():
    ds = per_class([4, 4])
    for k in (1, 0, True, 2.0, '4'):
        with pytest.raises(ValueError, match=r'samples_per_class must be an int >= 2 '
                                             r'\(a positive pair needs two images'):
            ClassBalancedSampler(ds, samples_per_class=k)
    with pytest.raises(ValueError, match=r'no class of dataset Labels \(3 images, 3 '
                                         r'classes\) has 2 or more images.*'
                                         r'samples_per_class=4'):
        ClassBalancedSampler(per_class([1, 1, 1]), samples_per_class=4)
    with pytest.raises(ValueError, match='batch_size must be a positive multiple of '
                                         'samples_per_class=4'):
        ClassBalancedSampler(ds, samples_per_class=4, batch_size=6)
    with pytest.raises(ValueError, match=r'batch_size=12 needs 3 classes per batch but '
                                         r'dataset Labels has only 2 classes'):
        ClassBalancedSampler(ds, samples_per_class=4, batch_size=12)


def test_seeded_shuffle():
    ds = per_class([6, 5, 8, 4, 7])

    def order(seed, epoch):
        s = ClassBalancedSampler(ds, samples_per_class=4, seed=seed)
        s.set_epoch(epoch)
        return list(s)

    assert order(7, 0) == order(7, 0) and order(7, 2) == order(7, 2)
    assert order(7, 0) != order(7, 1) and order(7, 0) != order(8, 0)
    assert sorted(order(7, 0)) != order(7, 0)


def test_no_shuffle_is_fixed_rounds_of_groups():
    sampler = ClassBalancedSampler(Labels([0, 0, 0, 1, 1, 2]), samples_per_class=2,
                                   shuffle=False)
    # class 0: [0, 1], [2, 0 (filled)]; class 1: [3, 4]; class 2 (one image) left out
    assert list(sampler) == [0, 1, 3, 4, 2, 0]
    sampler.set_epoch(5)
    assert list(sampler) == [0, 1, 3, 4, 2, 0]


@pytest.mark.parametrize('batch_size', [None, 8])
def test_two_ranks_share_the_groups(monkeypatch, batch_size):
    ds = per_class([8, 8, 4, 12, 4])  # 9 groups of 4, no filled group
    unit = 4 if batch_size is None else batch_size
    single = ClassBalancedSampler(ds, samples_per_class=4, seed=5, batch_size=batch_size)
    whole = batches(single, unit)
    ranks = []
    for rank in (0, 1):
        monkeypatch.setattr(cbs, 'get_dist_info', lambda r=rank: (r, 2))
        sampler = ClassBalancedSampler(ds, samples_per_class=4, seed=5,
                                       batch_size=batch_size)
        ranks.append(batches(sampler, unit))
    assert len(ranks[0]) == len(ranks[1]) == len(whole) // 2
    assert ranks[0] == whole[0:len(whole) // 2 * 2:2]
    assert ranks[1] == whole[1:len(whole) // 2 * 2:2]
    assert not set(sum(ranks[0], [])) & set(sum(ranks[1], []))


def test_labels_from_dataset_wrappers(toy_retrieval_root):
    from mmengine.dataset import ConcatDataset

    class CatIds:
        def __len__(self):
            return 6

        def get_cat_ids(self, i):
            return [i // 3]

    cat = ConcatDataset([
        RetrievalListDataset(toy_retrieval_root, 'train.txt', pipeline=[]),
        RetrievalListDataset(toy_retrieval_root, 'val.txt', pipeline=[])])
    assert cbs.dataset_labels(cat).tolist() == [i // 6 for i in range(48)]
    assert cbs.dataset_labels(CatIds()).tolist() == [0, 0, 0, 1, 1, 1]
    sampler = ClassBalancedSampler(cat, samples_per_class=3, batch_size=6, seed=0)
    assert len(sampler) == 48 and sorted(sampler) == list(range(48))
    multi = Labels([0, 0])
    multi.labels = [[0], [0, 1]]  # a multi-label sample
    with pytest.raises(ValueError, match=r'sample 1 of dataset Labels has label \[0, '
                                         r'1\]; the sampler needs one integer class'):
        cbs.dataset_labels(multi)


def test_runner_dataloader_gives_two_classes_of_four(toy_retrieval_root):
    from mmengine.registry import DefaultScope
    from mmengine.runner import Runner
    cfg = dict(batch_size=8, num_workers=0,
               sampler=dict(type='ClassBalancedSampler', samples_per_class=4),
               dataset=dict(type='RetrievalListDataset', data_root=toy_retrieval_root,
                            ann_file='train.txt',
                            pipeline=[dict(type='LoadImageFromFile'),
                                      dict(type='PackInputs')]),
               collate_fn=dict(type='pseudo_collate'))
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        loader = Runner.build_dataloader(cfg, seed=0)
        assert isinstance(loader.sampler, ClassBalancedSampler)
        got = list(loader)
    # 4 classes x 6 images: 2 groups of 4 per class, 4 batches of 2 classes x 4
    assert len(got) == len(loader) == 4
    seen = set()
    for batch in got:
        labels = [int(s.gt_label) for s in batch['data_samples']]
        assert sorted(collections.Counter(labels).values()) == [4, 4]
        seen.update(labels)
        assert all(tuple(x.shape)[0] == 3 for x in batch['inputs'])
    assert seen == {0, 1, 2, 3}
