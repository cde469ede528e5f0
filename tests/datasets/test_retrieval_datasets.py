"""The retrieval datasets: exact class-disjoint splits of tiny fake CUB / Cars / SOP
directories and of the toy list set, registry builds, one loaded sample, and a clear
error for each bad input."""
import os
import os.path as osp

import numpy as np
import pytest
from PIL import Image

from kd_plugins.datasets import (Cars196Retrieval, CUB200Retrieval, RetrievalListDataset,
                                 SOPRetrieval)
from kd_plugins.datasets.retrieval import parse_cars_annos

PIPELINE = [dict(type='LoadImageFromFile'), dict(type='PackInputs')]


def png(path, value=0):
    os.makedirs(osp.dirname(path), exist_ok=True)
    Image.new('RGB', (4, 4), (value, 0, 0)).save(path)


def write(path, lines):
    with open(path, 'w') as f:
        f.write('\n'.join(lines) + '\n')


def samples(ds):
    return [(ds.get_data_info(i)['img_path'], ds.get_data_info(i)['gt_label'])
            for i in range(len(ds))]


@pytest.fixture
def cub(tmp_path):
    """4 classes x 2 images: train = classes 1, 2; test = classes 3, 4."""
    root = str(tmp_path / 'CUB_200_2011')
    names = ['001.Albatross', '002.Auklet', '003.Blackbird', '004.Bobolink']
    images, labels = [], []
    for c, name in enumerate(names, 1):
        for j in range(2):
            key = 2 * (c - 1) + j + 1
            rel = f'{name}/{name}_{j}.png'
            png(osp.join(root, 'images', rel), key)
            images.append(f'{key} {rel}')
            labels.append(f'{key} {c}')
    write(osp.join(root, 'images.txt'), images)
    write(osp.join(root, 'image_class_labels.txt'), labels)
    write(osp.join(root, 'classes.txt'), [f'{c} {n}' for c, n in enumerate(names, 1)])
    return root


def test_cub_splits_are_class_disjoint_halves(cub):
    train = CUB200Retrieval(cub, split='train')
    test = CUB200Retrieval(cub, split='test', lazy_init=True)
    img = osp.join(cub, 'images')
    assert samples(train) == [
        (osp.join(img, '001.Albatross/001.Albatross_0.png'), 0),
        (osp.join(img, '001.Albatross/001.Albatross_1.png'), 0),
        (osp.join(img, '002.Auklet/002.Auklet_0.png'), 1),
        (osp.join(img, '002.Auklet/002.Auklet_1.png'), 1)]
    assert [p for p, _ in samples(test)][0] == \
        osp.join(img, '003.Blackbird/003.Blackbird_0.png')
    assert test.get_gt_labels().tolist() == [2, 2, 3, 3]
    assert train.get_gt_labels().dtype.kind == 'i'
    assert train.metainfo['classes'] == ('001.Albatross', '002.Auklet', '003.Blackbird',
                                         '004.Bobolink')
    assert all(osp.isabs(p) and osp.isfile(p) for p, _ in samples(test))


def test_cub_builds_from_registry_and_loads_a_sample(cub):
    from mmengine.registry import DefaultScope
    from mmpretrain.registry import DATASETS
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        ds = DATASETS.build(dict(type='CUB200Retrieval', data_root=cub, split='test',
                                 pipeline=PIPELINE))
        item = ds[3]
    assert isinstance(ds, CUB200Retrieval) and len(ds) == 4
    assert tuple(item['inputs'].shape) == (3, 4, 4)
    assert item['data_samples'].gt_label.tolist() == [3]
    assert item['data_samples'].img_path.endswith('004.Bobolink_1.png')


def test_cub_bad_input(cub, tmp_path):
    with pytest.raises(ValueError, match=r"split must be 'train' or 'test', got 'val'"):
        CUB200Retrieval(cub, split='val')
    missing = str(tmp_path / 'nowhere')
    with pytest.raises(FileNotFoundError, match=r"nowhere.*image_class_labels.txt"):
        CUB200Retrieval(missing)
    lazy = CUB200Retrieval(missing, lazy_init=True)  # nothing read until full_init
    with pytest.raises(FileNotFoundError, match='does not exist'):
        lazy.full_init()

    labels = osp.join(cub, 'image_class_labels.txt')
    os.rename(labels, labels + '.bak')
    with pytest.raises(FileNotFoundError,
                       match=r"image_class_labels.txt' not found.*<image_id> <class_id>"):
        CUB200Retrieval(cub)
    os.rename(labels + '.bak', labels)

    good = [f'{key} {(key + 1) // 2}' for key in range(1, 9)]
    write(labels, good + ['9 oops'])
    with pytest.raises(ValueError, match=r"image_class_labels.txt:9: malformed line "
                                         r"'9 oops'.*<image_id> <class_id>"):
        CUB200Retrieval(cub)
    write(labels, good + ['9 1'])
    with pytest.raises(ValueError, match=r'1 image ids are not in images.txt \(first: '
                                         r'\[9\]\)'):
        CUB200Retrieval(cub)

    one = str(tmp_path / 'one_class')
    png(osp.join(one, 'images', 'a', 'x.png'))
    write(osp.join(one, 'images.txt'), ['1 a/x.png', '2 a/y.png'])
    write(osp.join(one, 'image_class_labels.txt'), ['1 7', '2 7'])
    with pytest.raises(ValueError, match=r'the train split has no images'):
        CUB200Retrieval(one, split='train')
    assert len(CUB200Retrieval(one, split='test')) == 2
    # no classes.txt: the names are the class ids
    assert CUB200Retrieval(one, split='test').metainfo['classes'][6] == '7'


def cars_mat(root, classes, with_names=True, field='relative_im_path'):
    """A cars_annos.mat as Stanford Cars ships it (1 x N struct array)."""
    from scipy.io import savemat
    fields = ['bbox_x1', 'bbox_y1', 'bbox_x2', 'bbox_y2', 'class', field, 'test']
    annos = np.zeros((1, len(classes)), dtype=[(f, object) for f in fields])
    for i, c in enumerate(classes):
        annos[0, i] = (np.uint8(1), np.uint8(2), np.uint8(30), np.uint8(40), np.uint8(c),
                       f'car_ims/{i + 1:06d}.jpg', np.uint8(i % 2))
    mat = dict(annotations=annos)
    if with_names:
        names = np.empty((1, max(classes)), dtype=object)
        names[0, :] = [f'Car Model {c} 2012' for c in range(1, max(classes) + 1)]
        mat['class_names'] = names
    os.makedirs(root, exist_ok=True)
    savemat(osp.join(root, 'cars_annos.mat'), mat)
    return root


CARS_CLASSES = [1, 2, 3, 4, 1, 2, 3, 4]


def test_cars_splits_by_class_not_by_test_flag(tmp_path):
    root = cars_mat(str(tmp_path / 'cars'), CARS_CLASSES)
    train, test = Cars196Retrieval(root, 'train'), Cars196Retrieval(root, 'test')
    im = osp.join(root, 'car_ims')
    assert samples(train) == [(osp.join(im, '000001.jpg'), 0),
                              (osp.join(im, '000002.jpg'), 1),
                              (osp.join(im, '000005.jpg'), 0),
                              (osp.join(im, '000006.jpg'), 1)]
    assert samples(test) == [(osp.join(im, '000003.jpg'), 2),
                             (osp.join(im, '000004.jpg'), 3),
                             (osp.join(im, '000007.jpg'), 2),
                             (osp.join(im, '000008.jpg'), 3)]
    assert train.metainfo['classes'] == tuple(f'Car Model {c} 2012' for c in range(1, 5))
    plain = cars_mat(str(tmp_path / 'plain'), CARS_CLASSES, with_names=False)
    assert Cars196Retrieval(plain, 'test').metainfo['classes'] == ('1', '2', '3', '4')


@pytest.mark.parametrize('squeeze_me', [True, False])
@pytest.mark.parametrize('struct_as_record', [True, False])
def test_cars_reader_takes_every_loadmat_form(tmp_path, squeeze_me, struct_as_record):
    from scipy.io import loadmat
    path = osp.join(cars_mat(str(tmp_path / 'cars'), CARS_CLASSES), 'cars_annos.mat')
    mat = loadmat(path, squeeze_me=squeeze_me, struct_as_record=struct_as_record)
    items, names = parse_cars_annos(mat, path)
    assert items == [(f'car_ims/{i + 1:06d}.jpg', c) for i, c in enumerate(CARS_CLASSES)]
    assert names == [f'Car Model {c} 2012' for c in range(1, 5)]
    one = osp.join(cars_mat(str(tmp_path / 'one'), [3], with_names=False),
                   'cars_annos.mat')
    assert parse_cars_annos(loadmat(one, squeeze_me=squeeze_me), one) == \
        ([('car_ims/000001.jpg', 3)], None)


def test_cars_bad_input(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"cars_annos.mat' not found.*"
                                                r'relative_im_path, class'):
        Cars196Retrieval(str(tmp_path))
    root = cars_mat(str(tmp_path / 'devkit'), CARS_CLASSES, field='fname')
    with pytest.raises(ValueError, match=r'annotations\[0\] lacks the field '
                                         r'relative_im_path'):
        Cars196Retrieval(root)
    bad = str(tmp_path / 'bad')
    os.makedirs(bad)
    write(osp.join(bad, 'cars_annos.mat'), ['not a mat file'])
    with pytest.raises(ValueError, match=r'cars_annos.mat: cannot be read as a MATLAB'):
        Cars196Retrieval(bad, 'test')
    with pytest.raises(ValueError, match="split must be 'train' or 'test'"):
        Cars196Retrieval(bad, 'all')


SOP_HEADER = 'image_id class_id super_class_id path'


@pytest.fixture
def sop(tmp_path):
    root = str(tmp_path / 'Stanford_Online_Products')
    os.makedirs(root)
    write(osp.join(root, 'Ebay_train.txt'),
          [SOP_HEADER, '1 1 1 bicycle_final/1_0.JPG', '2 1 1 bicycle_final/1_1.JPG',
           '3 2 2 cabinet_final/2_0.JPG', '4 2 2 cabinet_final/2_1.JPG'])
    write(osp.join(root, 'Ebay_test.txt'),
          [SOP_HEADER, '5 3 1 bicycle_final/3_0.JPG', '6 3 1 bicycle_final/3_1.JPG',
           '7 4 2 cabinet_final/4_0.JPG'])
    return root


def test_sop_splits_come_from_the_files(sop):
    from mmpretrain.registry import DATASETS
    train = DATASETS.build(dict(type='SOPRetrieval', data_root=sop, split='train',
                                pipeline=[]))
    test = SOPRetrieval(sop, split='test')
    assert samples(train) == [(osp.join(sop, 'bicycle_final/1_0.JPG'), 0),
                              (osp.join(sop, 'bicycle_final/1_1.JPG'), 0),
                              (osp.join(sop, 'cabinet_final/2_0.JPG'), 1),
                              (osp.join(sop, 'cabinet_final/2_1.JPG'), 1)]
    assert test.get_gt_labels().tolist() == [2, 2, 3]
    assert samples(test)[-1][0] == osp.join(sop, 'cabinet_final/4_0.JPG')
    assert test.metainfo['classes'] == ('1', '2', '3', '4')


def test_sop_bad_input(sop):
    test_file = osp.join(sop, 'Ebay_test.txt')
    with open(test_file, 'a') as f:
        f.write('8 2 2 cabinet_final/2_9.JPG\n')
    for split in ('train', 'test'):
        with pytest.raises(ValueError, match=r'Ebay_train.txt and .*Ebay_test.txt: 1 '
                                             r'classes are in both .*\(first: \[2\]\);'
                                             r' retrieval needs class-disjoint'):
            SOPRetrieval(sop, split=split)
    write(test_file, [SOP_HEADER, '5 3 1 a.JPG', '6 x 1 b.JPG'])
    with pytest.raises(ValueError, match=r"Ebay_test.txt:3: malformed line '6 x 1 "
                                         r"b.JPG' \('x' is not an integer\)"):
        SOPRetrieval(sop, split='train')
    write(test_file, [SOP_HEADER, '5 3 1'])
    with pytest.raises(ValueError, match=r'Ebay_test.txt:2: .*expected four fields'):
        SOPRetrieval(sop, split='test')
    write(test_file, [SOP_HEADER])
    with pytest.raises(ValueError, match=r'Ebay_test.txt: the test split has no images'):
        SOPRetrieval(sop, split='test')
    os.remove(test_file)
    with pytest.raises(FileNotFoundError, match=r"Ebay_test.txt' not found; it should "
                                                r"contain a header line 'image_id"):
        SOPRetrieval(sop, split='train')


def test_toy_list_splits(toy_retrieval_root):
    root = toy_retrieval_root
    train = RetrievalListDataset(root, 'train.txt', other_ann_file='test.txt')
    val = RetrievalListDataset(root, 'val.txt', other_ann_file='train.txt')
    test = RetrievalListDataset(root, 'test.txt', other_ann_file='train.txt')
    assert len(train) == len(val) == len(test) == 24
    assert sorted(set(train.get_gt_labels().tolist())) == [0, 1, 2, 3]
    assert sorted(set(val.get_gt_labels().tolist())) == [4, 5, 6, 7]
    assert sorted(set(test.get_gt_labels().tolist())) == [8, 9, 10, 11]
    with open(osp.join(root, 'classes.txt')) as f:
        names = tuple(f.read().split())
    assert len(names) == 12 and train.metainfo['classes'] == names
    path, label = samples(test)[0]
    assert osp.isabs(path) and osp.isfile(path)
    assert osp.basename(osp.dirname(path)) == names[label]


def test_list_bad_input(toy_retrieval_root, tmp_path):
    root = str(tmp_path / 'list')
    os.makedirs(root)
    write(osp.join(root, 'train.txt'), ['images/a/0.png 0', 'images/b/0.png 1'])
    write(osp.join(root, 'test.txt'), ['images/c/0.png 2', 'images/b/1.png 1'])
    with pytest.raises(ValueError, match=r'train.txt and .*test.txt: 1 classes are in '
                                         r'both .*\(first: \[1\]\)'):
        RetrievalListDataset(root, 'train.txt', other_ann_file='test.txt')
    assert len(RetrievalListDataset(root, 'train.txt')) == 2  # not compared
    write(osp.join(root, 'classes.txt'), ['a'])
    with pytest.raises(ValueError, match=r'classes.txt names 1 classes but .*train.txt '
                                         r'uses label 1'):
        RetrievalListDataset(root, 'train.txt')
    write(osp.join(root, 'bad.txt'), ['images/a/0.png 0', 'images/a/1.png'])
    with pytest.raises(ValueError, match=r"bad.txt:2: malformed line 'images/a/1.png'.*"
                                         r'<image path relative to data_root> <label>'):
        RetrievalListDataset(root, 'bad.txt')
    write(osp.join(root, 'neg.txt'), ['images/a/0.png -1'])
    with pytest.raises(ValueError, match=r'neg.txt:1: .*-1 is below 0'):
        RetrievalListDataset(root, 'neg.txt')
    write(osp.join(root, 'empty.txt'), [''])
    with pytest.raises(ValueError, match=r'empty.txt: the empty split has no images'):
        RetrievalListDataset(root, 'empty.txt')
    with pytest.raises(FileNotFoundError, match=r"holdout.txt' not found; it should "
                                                r"contain '<image path"):
        RetrievalListDataset(toy_retrieval_root, 'holdout.txt')
    with pytest.raises(FileNotFoundError, match=r"missing.txt' not found"):
        RetrievalListDataset(toy_retrieval_root, 'train.txt',
                             other_ann_file='missing.txt')
    with pytest.raises(ValueError, match=r'data_root must be the path'):
        RetrievalListDataset(None, 'train.txt')
