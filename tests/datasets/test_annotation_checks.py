"""Annotation files are checked when a detection dataset loads (issue 15, items 3 and 5):
invalid boxes are reported once per file, a file left with no usable box fails naming
it, an empty / non-JSON / wrongly shaped annotation file fails naming its path, for the
toy data and the real COCO / VOC configs alike, and valid or unlabeled data loads as
before."""
import json
import logging
import os.path as osp
import shutil

import pytest

from conftest import CONFIGS

COCO_CATS = [dict(id=1, name='person'), dict(id=3, name='car')]
TOY_CLASSES = ('circle', 'square', 'triangle', 'cross', 'ring')


# ---------------------------------------------------------------------------- helpers
@pytest.fixture
def logged():
    """WARNING messages printed through mmengine's current logger during the test."""
    from mmengine.logging import MMLogger
    logger = MMLogger.get_current_instance()
    records = []

    class Collect(logging.Handler):
        def emit(self, record):
            records.append(record.getMessage())

    handler = Collect(logging.WARNING)
    logger.addHandler(handler)
    yield records
    logger.removeHandler(handler)


def about(records, name):
    return [m for m in records if name in m]


def write_json(path, obj):
    with open(path, 'w') as f:
        json.dump(obj, f)
    return str(path)


def image(i, w=100, h=80):
    return dict(id=i, file_name=f'{i:06d}.jpg', width=w, height=h)


def box(ann_id, img_id, bbox, cat=1, **kw):
    area = kw.pop('area', bbox[2] * bbox[3])
    return dict(id=ann_id, image_id=img_id, category_id=cat, bbox=bbox, area=area,
                iscrowd=kw.pop('iscrowd', 0), **kw)


def build(cfg):
    """Build a dataset config the way the Runner does (mmdet scope, registry), leaving
    the default scope as it was for later tests."""
    from mmdet.registry import DATASETS
    from mmengine.registry import DefaultScope
    with DefaultScope.overwrite_default_scope('mmdet'):
        return DATASETS.build(cfg)


def coco(ann_file, test_mode=False, filter_empty_gt=True, classes=('person', 'car')):
    return build(dict(type='CocoDataset', ann_file=str(ann_file), metainfo=dict(
        classes=classes), data_prefix=dict(img=''), test_mode=test_mode,
        filter_cfg=dict(filter_empty_gt=filter_empty_gt), pipeline=[]))


def instances(dataset):
    return {d['img_id']: [(i['bbox'], i['ignore_flag']) for i in d['instances']]
            for d in (dataset.get_data_info(k) for k in range(len(dataset)))}


def set_data_root(cfg, root):
    """Point every (nested) dataset of a config section at ``root``."""
    if isinstance(cfg, dict):
        for key, value in cfg.items():
            if key == 'data_root':
                cfg[key] = root
            else:
                set_data_root(value, root)
    elif isinstance(cfg, list):
        for value in cfg:
            set_data_root(value, root)
    return cfg


def config(name):
    from mmengine.config import Config
    return Config.fromfile(osp.join(CONFIGS, name))


# --------------------------------------------------------------------- COCO: boxes
MIXED = [
    box(1, 1, [10, 10, 30, 20]),                  # valid
    box(2, 1, [120, 10, 10, 10]),                 # outside the 100x80 image
    box(3, 2, [10, 10, -5, 10]),                  # negative width
    box(4, 2, [50, 20, 20, 0.5]),                 # height < 1
    box(5, 2, [5, 5, 10, 10], area=0),            # area 0
    box(6, 3, [0, 0, 40, 40], iscrowd=1),         # crowd: ignored, not invalid
    box(7, 3, [20, 20, 30, 30], cat=9),           # category not among the classes
    box(8, 3, [90, 70, 30, 30]),                  # partly outside: valid, kept
    box(9, 3, [1, 1, 5, 5], ignore=1),            # marked ignore: skipped, not invalid
]


def test_invalid_boxes_are_reported_once_with_count_file_and_examples(tmp_path, logged):
    ann = write_json(tmp_path / 'mixed.json', dict(
        images=[image(1), image(2), image(3)], annotations=MIXED,
        categories=COCO_CATS + [dict(id=9, name='dog')]))
    dataset = coco(ann)
    msgs = about(logged, 'mixed.json')
    assert len(msgs) == 1, logged
    msg = msgs[0]
    # the count is exactly what mmdet drops for its geometry rule, out of the boxes
    # that reached that rule (the 'ignore'-marked one did not)
    assert '4 of 8 box annotations' in msg and ann in msg
    assert 'image 1 (000001.jpg, 100x80): bbox [120, 10, 10, 10] outside the image' in msg
    assert 'bbox [10, 10, -5, 10] width <= 0' in msg
    assert 'bbox [50, 20, 20, 0.5] height < 1' in msg
    # valid, crowd and partly-outside boxes are kept exactly as mmdet keeps them
    assert instances(dataset) == {1: [([10, 10, 40, 30], 0)], 2: [],
                                  3: [([0, 0, 40, 40], 1), ([90, 70, 120, 100], 0)]}
    # the same file loaded again in this process is not reported again
    coco(ann)
    assert len(about(logged, 'mixed.json')) == 1


def test_train_file_with_only_invalid_boxes_fails_naming_it(tmp_path):
    ann = write_json(tmp_path / 'bad_train.json', dict(
        images=[image(1), image(2)], categories=COCO_CATS,
        annotations=[box(1, 1, [200, 10, 10, 10]), box(2, 2, [10, 10, 0, 10])]))
    with pytest.raises(ValueError, match=r"bad_train\.json' holds 2 box annotations "
                       r'but none is usable: 2 invalid'):
        coco(ann)


def test_val_file_with_only_invalid_boxes_fails_but_test_dev_loads(tmp_path, logged):
    ann = write_json(tmp_path / 'bad_val.json', dict(
        images=[image(1)], categories=COCO_CATS,
        annotations=[box(1, 1, [-50, -50, 20, 20])]))
    with pytest.raises(ValueError, match=r"bad_val\.json' holds 1 box annotation but "
                       r'none is usable: 1 invalid .*outside the image'):
        coco(ann, test_mode=True)
    # a COCO test-dev style file: images and categories only, no "annotations" key
    dev = write_json(tmp_path / 'test_dev.json', dict(images=[image(1), image(2)],
                                                        categories=COCO_CATS))
    assert len(coco(dev, test_mode=True)) == 2
    assert not about(logged, 'test_dev.json')


def test_crowd_or_foreign_category_only_file_fails_with_the_reason(tmp_path):
    # nothing invalid, but nothing to train on either: say why
    ann = write_json(tmp_path / 'crowd.json', dict(
        images=[image(1)], categories=COCO_CATS + [dict(id=9, name='dog')],
        annotations=[box(1, 1, [0, 0, 40, 40], iscrowd=1),
                     box(2, 1, [10, 10, 20, 20], cat=9)]))
    with pytest.raises(ValueError, match=r"crowd\.json' holds 2 box annotations but none "
                       r'is usable: 0 invalid, 1 crowd or ignored, 1 of a category not '
                       r"among the dataset's classes"):
        coco(ann)


def test_zero_box_val_file_warns_zero_box_train_file_names_itself(tmp_path, logged):
    ann = write_json(tmp_path / 'nobox.json', dict(images=[image(1)], annotations=[],
                                                     categories=COCO_CATS))
    assert len(coco(ann, test_mode=True)) == 1
    assert any('nobox.json' in m and 'holds no box annotations' in m for m in logged)
    with pytest.raises(ValueError, match=r"nobox\.json' holds no data samples"):
        coco(ann)  # filter_empty_gt=True: kd_plugins.compat's error names the file


# ---------------------------------------------------------------------- COCO: files
BAD_FILES = {
    'empty': (b'', r'is empty \(0 bytes\)'),
    'not_json': (b'images: none\n', r'is not valid JSON \(JSONDecodeError'),
    'binary': (b'\xff\xfe\x00\x81', r'is not valid JSON \(UnicodeDecodeError'),
    'list': (b'[{"id": 1}]', r'is not a COCO-format JSON object'),
    'no_images': (b'{"annotations": [], "categories": []}', r'has no "images" list'),
    'bad_anns': (b'{"images": [], "annotations": {"id": 1}}',
                 r'is not COCO-shaped: "annotations" is a dict, not a list'),
}


@pytest.mark.parametrize('kind', sorted(BAD_FILES))
@pytest.mark.parametrize('labeled', [True, False])
def test_bad_coco_file_names_its_path_and_what_was_expected(tmp_path, kind, labeled):
    content, why = BAD_FILES[kind]
    ann = tmp_path / f'{kind}.json'
    ann.write_bytes(content)
    with pytest.raises(ValueError, match=rf"annotation file '{ann}' {why}.*expected a "
                       r'COCO-format JSON object with an "images" list'):
        coco(ann, filter_empty_gt=labeled)


def test_malformed_box_names_file_image_and_field(tmp_path):
    ann = write_json(tmp_path / 'fields.json', dict(
        images=[image(1)], categories=COCO_CATS,
        annotations=[dict(id=7, image_id=1, category_id=1, bbox=[1, 2, 3], area=6)]))
    with pytest.raises(ValueError, match=r"fields\.json', annotation 7 \(image 1\): "
                       r'"bbox" is \[1, 2, 3\]; expected \[x, y, width, height\]'):
        coco(ann)


# ------------------------------------------------- toy data and real configs, same check
@pytest.fixture
def toy_copy(toy_det_root, tmp_path):
    root = str(tmp_path / 'toy_det')
    shutil.copytree(toy_det_root, root)
    return root


def test_toy_det_annotations_go_through_the_check(toy_copy, logged):
    cfg = config('_base_/datasets/toy_det.py')
    clean = instances(build(set_data_root(cfg.train_dataloader.dataset, toy_copy)))
    assert not logged
    ann = osp.join(toy_copy, 'annotations', 'train.json')
    with open(ann) as f:
        data = json.load(f)
    gone = {}
    for a in data['annotations'][:2]:
        x, y, w, h = a['bbox']
        gone.setdefault(a['image_id'], []).append(([x, y, x + w, y + h], 0))
    data['annotations'][0]['bbox'][0] = 500  # moved outside the 160 px image
    data['annotations'][1]['bbox'][2] = -3   # negative width
    write_json(ann, data)
    total = len(data['annotations'])
    bad = instances(build(set_data_root(cfg.train_dataloader.dataset, toy_copy)))
    msgs = about(logged, 'train.json')
    assert len(msgs) == 1 and f'2 of {total} box annotations' in msgs[0]
    assert ann in msgs[0] and 'outside the image' in msgs[0]
    # every other box is loaded as before
    assert bad == {k: [b for b in v if b not in gone.get(k, [])]
                   for k, v in clean.items()}
    assert sum(map(len, bad.values())) == sum(map(len, clean.values())) - 2


def test_toy_semi_split_labeled_is_checked_unlabeled_still_loads(toy_copy, logged):
    from kd_plugins.datasets.toy import split_det_semi
    res = split_det_semi(osp.join(toy_copy, 'annotations', 'train.json'), 50, seed=0)
    with open(res['labeled']) as f:
        data = json.load(f)
    data['annotations'][0]['bbox'][3] = 0  # zero height
    write_json(res['labeled'], data)
    cfg = config('semi_adaptive/m3_yolov3-mbv2-w100_yolov3-mbv2-w025_toy-det-semi10.py')
    section = set_data_root(cfg.train_dataloader.dataset, toy_copy + '/')
    section.datasets[0].ann_file = res['labeled']
    section.datasets[1].ann_file = res['unlabeled']
    dataset = build(section)
    assert len(dataset.datasets[1]) == res['num_unlabeled']
    assert not about(logged, 'unlabeled')
    msgs = about(logged, osp.basename(res['labeled']))
    assert len(msgs) == 1 and f"1 of {len(data['annotations'])} box annotations" in \
        msgs[0] and 'height <= 0' in msgs[0]


def fake_coco_tree(root, train_anns, val_anns):
    ann_dir = osp.join(root, 'annotations')
    shutil.os.makedirs(ann_dir)
    images = [image(1, 640, 480), image(2, 640, 480)]
    write_json(osp.join(ann_dir, 'instances_train2017.json'), dict(
        images=images, annotations=train_anns, categories=COCO_CATS))
    write_json(osp.join(ann_dir, 'instances_val2017.json'), dict(
        images=images, annotations=val_anns, categories=COCO_CATS))
    return root + '/'


def test_real_coco_config_goes_through_the_check(tmp_path, logged):
    root = fake_coco_tree(str(tmp_path / 'coco'),
                          [box(1, 1, [10, 10, 50, 50]), box(2, 2, [700, 10, 50, 50], 3)],
                          [box(1, 1, [10, 10, 0, 50])])
    cfg = config('_base_/datasets/coco_detection.py')
    train = build(set_data_root(cfg.train_dataloader.dataset, root))
    # mmdet keeps an image whose boxes were all dropped (as a negative image)
    assert instances(train) == {1: [([10, 10, 60, 60], 0)], 2: []}
    msgs = about(logged, 'instances_train2017.json')
    assert len(msgs) == 1 and '1 of 2 box annotations' in msgs[0]
    assert 'image 2 (000002.jpg, 640x480): bbox [700, 10, 50, 50] outside' in msgs[0]
    with pytest.raises(ValueError, match=r"instances_val2017\.json' holds 1 box "
                       'annotation but none is usable'):
        build(set_data_root(cfg.val_dataloader.dataset, root))


# ------------------------------------------------------------------------- VOC / XML
def voc_xml(objects, w=200, h=150):
    objs = ''.join(
        f'<object><name>{name}</name><difficult>{diff}</difficult><bndbox>'
        f'<xmin>{b[0]}</xmin><ymin>{b[1]}</ymin><xmax>{b[2]}</xmax><ymax>{b[3]}</ymax>'
        '</bndbox></object>' for name, b, diff in objects)
    return (f'<annotation><size><width>{w}</width><height>{h}</height><depth>3</depth>'
            f'</size>{objs}</annotation>')


def fake_voc_tree(root, years):
    """``years``: {year: {split: {image id: xml text}}}."""
    for year, splits in years.items():
        sub = osp.join(root, f'VOC{year}')
        shutil.os.makedirs(osp.join(sub, 'Annotations'))
        shutil.os.makedirs(osp.join(sub, 'ImageSets', 'Main'))
        for split, xmls in splits.items():
            with open(osp.join(sub, 'ImageSets', 'Main', f'{split}.txt'), 'w') as f:
                f.write(''.join(f'{k}\n' for k in xmls))
            for key, text in xmls.items():
                with open(osp.join(sub, 'Annotations', f'{key}.xml'), 'w') as f:
                    f.write(text)
    return root + '/'


GOOD = voc_xml([('car', (11, 11, 111, 101), 0)])


def test_real_voc_config_drops_and_reports_invalid_xml_boxes(tmp_path, logged):
    root = fake_voc_tree(str(tmp_path / 'VOCdevkit'), {
        '2007': {'trainval': {
            '000001': voc_xml([('car', (11, 11, 111, 101), 0),        # valid
                               ('dog', (60, 20, 40, 90), 0),          # xmax < xmin
                               ('person', (11, 11, 61, 61), 1)]),     # difficult
            '000002': voc_xml([('cat', (301, 11, 361, 91), 0)])},     # outside 200 px
                 'test': {'000003': GOOD}},
        '2012': {'trainval': {'000004': GOOD}}})
    cfg = config('_base_/datasets/voc0712.py')
    train = build(set_data_root(cfg.train_dataloader.dataset, root))
    voc07 = train.dataset.datasets[0]
    msgs = about(logged, 'VOC2007/ImageSets/Main/trainval.txt')
    assert len(msgs) == 1, logged
    assert '2 of 4 boxes' in msgs[0] and 'dropped' in msgs[0]
    assert '000001.xml' in msgs[0] and 'bbox [59, 19, 39, 89] width <= 0' in msgs[0]
    assert '000002.xml' in msgs[0] and 'outside the image' in msgs[0]
    assert not about(logged, 'VOC2012')
    assert instances(voc07) == {
        '000001': [([10, 10, 110, 100], 0), ([10, 10, 60, 60], 1)]}
    assert len(build(set_data_root(cfg.val_dataloader.dataset, root))) == 1


def test_voc_split_with_only_invalid_boxes_fails_naming_it(tmp_path):
    root = fake_voc_tree(str(tmp_path / 'VOCdevkit'), {'2007': {'test': {
        '000001': voc_xml([('car', (300, 10, 350, 60), 0)])}}})
    cfg = config('_base_/datasets/voc0712.py')
    with pytest.raises(ValueError, match=r"VOC2007/ImageSets/Main/test\.txt' holds 1 "
                       r'box but none is usable: 1 invalid'):
        build(set_data_root(cfg.val_dataloader.dataset, root))


def test_malformed_voc_xml_names_the_xml_file(tmp_path):
    root = fake_voc_tree(str(tmp_path / 'VOCdevkit'), {'2007': {'test': {
        '000001': '<annotation><size><width>200</width></size>'}}})
    cfg = config('_base_/datasets/voc0712.py')
    with pytest.raises(ValueError, match=r"VOC2007/Annotations/000001\.xml' cannot be "
                       'read.*expected a Pascal VOC XML'):
        build(set_data_root(cfg.val_dataloader.dataset, root))


# ------------------------------------------------------------- mmengine BaseDataset
@pytest.mark.parametrize('content,why', [
    (b'', r'is empty \(0 bytes\)'),
    (b'not json', r'cannot be decoded \(JSONDecodeError'),
    (b'[1, 2]', r'holds a list'),
    (b'{"data_list": []}', r'holds a dict without "metainfo"'),
])
def test_base_dataset_json_names_its_path(tmp_path, content, why):
    from mmengine.dataset import BaseDataset
    ann = tmp_path / 'ann.json'
    ann.write_bytes(content)
    with pytest.raises(ValueError, match=rf"annotation file '{ann}' {why}.*expected an "
                       r'OpenMMLab 2\.0 annotation file'):
        BaseDataset(ann_file=str(ann))


# ------------------------------------------------------------------- installation
def test_install_is_idempotent_and_only_rank_0_reports(tmp_path, logged, monkeypatch):
    from mmdet.datasets import CocoDataset, XMLDataset

    from kd_plugins.datasets import annotation_checks
    before = (CocoDataset.load_data_list, CocoDataset.parse_data_info,
              XMLDataset.parse_data_info)
    annotation_checks.install()
    annotation_checks.install()
    assert (CocoDataset.load_data_list, CocoDataset.parse_data_info,
            XMLDataset.parse_data_info) == before
    monkeypatch.setattr(annotation_checks, 'get_rank', lambda: 1)
    ann = write_json(tmp_path / 'rank1.json', dict(
        images=[image(1)], annotations=MIXED[:2], categories=COCO_CATS))
    assert instances(coco(ann)) == {1: [([10, 10, 40, 30], 0)]}
    assert not about(logged, 'rank1.json')
