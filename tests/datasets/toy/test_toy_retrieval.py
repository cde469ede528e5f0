"""kd_plugins/datasets/toy/retrieval.py: class-disjoint train / val / test lists."""
import pytest
from toy_helpers import png, tree

from kd_plugins.datasets import toy
from kd_plugins.datasets.toy import retrieval
from kd_plugins.datasets.toy.common import _image_rng

SPLIT_CLASSES = dict(num_train_classes=3, num_val_classes=2, num_test_classes=4)


def read_list(path):
    with open(path) as f:
        lines = f.read().splitlines()
    return [(p, int(label)) for p, label in (line.split(' ') for line in lines)]


@pytest.fixture(scope='module')
def ret(tmp_path_factory):
    base = tmp_path_factory.mktemp('retrieval')
    kw = dict(imgs_per_class=2, img_size=32, seed=0)
    return (toy.make_retrieval(base / 'a', **SPLIT_CLASSES, **kw),
            toy.make_retrieval(base / 'b', **SPLIT_CLASSES, **kw),
            toy.make_retrieval(base / 'c', num_train_classes=3, num_val_classes=2,
                               num_test_classes=1, **kw))


def test_retrieval_three_disjoint_class_sets(ret):
    res = ret[0]
    names = toy.retrieval_classes(9)
    with open(res['classes_file']) as f:
        assert tuple(f.read().splitlines()) == names
    labels = {}
    for split, n in (('train', 3), ('val', 2), ('test', 4)):
        items = read_list(res[f'{split}_ann_file'])
        assert len(items) == 2 * n == res[split]['num_images']
        labels[split] = {label for _, label in items}
        assert sorted(labels[split]) == res[split]['classes']
        assert len(labels[split]) == n
        for path, label in items:
            parts = path.split('/')
            assert parts[0] == 'images' and parts[1] == names[label]
            assert png(f"{res['out_dir']}/{path}").shape == (32, 32, 3)
    assert labels['train'] == {0, 1, 2}
    assert labels['val'] == {3, 4}
    assert labels['test'] == {5, 6, 7, 8}


def test_retrieval_deterministic_and_stable_prefix(ret):
    a, b, c = (tree(r['out_dir']) for r in ret)
    assert a == b
    # fewer test classes: train, val and the first test class are unchanged
    for k in c:
        if k not in ('meta.json', 'classes.txt', 'test.txt'):
            assert a[k] == c[k], k
    assert a['train.txt'] == c['train.txt'] and a['val.txt'] == c['val.txt']
    assert len(c['test.txt'].splitlines()) == 2
    # images of one class differ, and so do classes
    imgs = [v for k, v in a.items() if k.endswith('.png')]
    assert len(imgs) == 18 == len(set(imgs))


def test_retrieval_class_space():
    assert toy.RETRIEVAL_MAX_CLASSES == 144 == len(toy.RETRIEVAL_SHAPES) * \
        len(toy.RETRIEVAL_PATTERNS) * len(toy.RETRIEVAL_COLORS)
    names = toy.retrieval_classes()
    assert len(names) == len(set(names)) == 144
    assert names[:2] == ('001.circle_solid_red', '002.square_gridded_green')
    factors = [retrieval._class_factors(i) for i in range(144)]
    assert len(set(factors)) == 144
    assert [n.split('.', 1)[1] for n in names] == ['_'.join(f) for f in factors]
    # any 20 consecutive classes (e.g. one split) mix every shape, pattern and colour,
    # each shared by several classes
    for start in range(0, 125):
        block = factors[start:start + 20]
        assert [len({f[i] for f in block}) for i in range(3)] == [8, 6, 3]
    assert toy.RETRIEVAL_NUM_CLASSES == 20
    with pytest.raises(ValueError, match='num_classes must be <= 144'):
        toy.retrieval_classes(145)


def test_retrieval_colour_family_is_visible():
    """The shape's colour family shows in the image: the hue at the shape's centre."""
    import colorsys
    hues = {}
    for i, color in enumerate(toy.RETRIEVAL_COLORS):
        img = retrieval._retrieval_image(_image_rng(0, 'check', color, i), 'circle',
                                         'solid', color, 64)
        r, g, b = img[28:36, 28:36].reshape(-1, 3).mean(0) / 255
        hues[color] = colorsys.rgb_to_hsv(r, g, b)[0] * 360
    assert hues['red'] < 30 or hues['red'] > 330, hues
    assert 90 < hues['green'] < 150 and 210 < hues['blue'] < 270, hues


def test_retrieval_argument_checks(tmp_path):
    with pytest.raises(ValueError, match=r'num_train_classes \+ num_val_classes \+ '
                                         r'num_test_classes must be <= 144, got '
                                         r'100 \+ 40 \+ 5 = 145'):
        toy.make_retrieval(tmp_path / 'x', num_train_classes=100, num_val_classes=40,
                           num_test_classes=5)
    with pytest.raises(ValueError, match='num_test_classes must be >= 1'):
        toy.make_retrieval(tmp_path / 'x', num_test_classes=0)
    with pytest.raises(ValueError, match='imgs_per_class must be >= 2'):
        toy.make_retrieval(tmp_path / 'x', imgs_per_class=1)
    with pytest.raises(TypeError):
        toy.make_retrieval(tmp_path / 'x', num_classes=6)  # the old single count
    assert not (tmp_path / 'x').exists()
