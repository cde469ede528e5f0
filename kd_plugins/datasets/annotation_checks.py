"""Detection annotation files are checked when a dataset loads them (issue 15, 3 and 5).

Unchecked, bad data trains silently: mmdet's ``CocoDataset`` drops a box that lies
outside its image or has no size without a word, a file whose boxes are all invalid
trains on zero boxes (or evaluates to mAP 0.000) with exit 0, ``XMLDataset`` (VOC) keeps
such boxes, and a 0-byte or non-JSON annotation file fails with json's bare
``JSONDecodeError: Expecting value``. The checks here are plain functions;
:func:`install` (called on ``import kd_plugins``) puts them into the loading of the
classes every detection config names, so the toy data, the COCO / VOC configs, the
semi-supervised labeled and unlabeled splits and a user's own config naming
``type='CocoDataset'`` / ``'VOCDataset'`` / ``'XMLDataset'`` all go through the same
check.

What is an invalid box
    COCO (``[x, y, w, h]``): mmdet's own rule in ``CocoDataset.parse_data_info``, which
    drops the box: width < 1, height < 1, ``area`` <= 0, or no overlap with the image.
    The report counts exactly what that rule drops. Not invalid: crowd boxes
    (``iscrowd=1``, kept as ignored boxes), boxes marked ``ignore``, boxes of a
    category that is not among the dataset's classes (a class subset), and boxes that
    only partly leave the image (kept, as mmdet keeps them).
    VOC XML (``[x1, y1, x2, y2]`` after mmdet's minus one): x2 <= x1, y2 <= y1, or
    entirely outside the image (x2 <= 0, y2 <= 0, x1 >= width or y1 >= height). mmdet
    keeps these; they are *dropped* here, as COCO drops its invalid boxes, because a
    box with no area is neither a target nor a meaningful ignore region. (Objects whose
    name is not among the classes never become boxes in mmdet's parser.)

What warns, what fails
    * Invalid boxes: one warning per annotation file (through mmengine's logger, on
      rank 0 only, not repeated when the same file is loaded again in the process):
      how many of how many boxes, the file, and the first examples (image, box, why).
    * A file that holds boxes of which none is usable (all invalid, or only crowd /
      ignored / of foreign categories) fails with ``AnnotationFileError`` naming the
      file and the counts: training would see no box, evaluation would report 0 mAP.
    * A file with no box annotation at all is an unlabeled split (the semi-supervised
      ``*-unlabeled.json``, a COCO test-dev file without ``"annotations"``) and loads.
      For training with ``filter_empty_gt=True`` every image is then filtered out and
      ``kd_plugins.compat``'s "holds no data samples" error names the file; a
      ``test_mode`` split (val / test) whose box list is empty gets a warning that
      there is nothing to evaluate against; a COCO file without an ``"annotations"``
      key (test-dev style, for ``format_only``) loads quietly.
    * A 0-byte file, a file that is not JSON, or JSON of the wrong shape fails with
      ``AnnotationFileError`` (a ``ValueError``) naming the path and what was
      expected: for mmdet's COCO API (``CocoDataset`` and ``CocoMetric``) a COCO-format
      JSON object with an ``"images"`` list, for mmengine's ``BaseDataset`` an
      OpenMMLab 2.0 annotation file (a dict with ``metainfo`` and ``data_list``). A
      malformed COCO box or image entry, and an unreadable VOC XML, name the file and
      the entry.

Nothing to configure: the check runs whenever these datasets load their annotations.
"""
import json
import logging
import os
import os.path as osp
from typing import Dict, List, Optional, Sequence

from mmengine.dist import get_rank
from mmengine.logging import print_log

__all__ = ['AnnotationFileError', 'BoxTally', 'COCO_EXPECTED', 'OPENMMLAB_EXPECTED',
           'coco_box_problem', 'xyxy_box_problem', 'image_size', 'check_coco_layout',
           'check_not_empty', 'check_openmmlab_layout', 'finish_box_check', 'install']

COCO_EXPECTED = ('a COCO-format JSON object with an "images" list (and "annotations" / '
                 '"categories" lists for labeled data)')
OPENMMLAB_EXPECTED = ('an OpenMMLab 2.0 annotation file: a dict with "metainfo" and '
                      '"data_list"')
VOC_EXPECTED = ('a Pascal VOC XML with <size> (<width>, <height>) and <object> entries '
                'of <name>, <bndbox> (<xmin>, <ymin>, <xmax>, <ymax>)')
MAX_EXAMPLES = 3

_REPORTED = set()  # the warnings already printed in this process


class AnnotationFileError(ValueError):
    """A bad annotation file; the message names the file and what was expected."""


# ------------------------------------------------------------------- file checks
def check_not_empty(path, expected: str) -> None:
    """Refuse a 0-byte local file (json's message would be "Expecting value")."""
    if isinstance(path, (str, os.PathLike)) and osp.isfile(path) and \
            osp.getsize(path) == 0:
        raise AnnotationFileError(f'annotation file {str(path)!r} is empty (0 bytes); '
                                  f'expected {expected}')


def _json_kind(obj) -> str:
    return {dict: 'dict', list: 'list', str: 'string'}.get(type(obj),
                                                           type(obj).__name__)


def check_coco_layout(dataset, path) -> None:
    """Refuse a loaded COCO file that is not a dict with an ``images`` list (and, when
    present, ``annotations`` / ``categories`` lists)."""
    if not isinstance(dataset, dict):
        raise AnnotationFileError(f'annotation file {str(path)!r} is not a COCO-format '
                                  f'JSON object (it holds a {_json_kind(dataset)}); '
                                  f'expected {COCO_EXPECTED}')
    if not isinstance(dataset.get('images'), list):
        found = ('is a ' + _json_kind(dataset['images'])) if 'images' in dataset else \
            f'is missing (keys: {sorted(dataset)[:8]})'
        raise AnnotationFileError(f'annotation file {str(path)!r} has no "images" list '
                                  f'("images" {found}); expected {COCO_EXPECTED}')
    for key in ('annotations', 'categories'):
        if key in dataset and not isinstance(dataset[key], list):
            raise AnnotationFileError(
                f'annotation file {str(path)!r} is not COCO-shaped: "{key}" is a '
                f'{_json_kind(dataset[key])}, not a list; expected {COCO_EXPECTED}')


def check_openmmlab_layout(obj, path) -> None:
    """Refuse a loaded file that is not an OpenMMLab 2.0 annotation dict."""
    if not isinstance(obj, dict):
        raise AnnotationFileError(f'annotation file {str(path)!r} holds a '
                                  f'{_json_kind(obj)}; expected {OPENMMLAB_EXPECTED}')
    missing = [k for k in ('metainfo', 'data_list') if k not in obj]
    if missing:
        raise AnnotationFileError(
            f'annotation file {str(path)!r} holds a dict without '
            f'{" and ".join(map(json.dumps, missing))} (keys: {sorted(obj)[:8]}); '
            f'expected {OPENMMLAB_EXPECTED}')


# -------------------------------------------------------------------- box checks
_NUMBER = (int, float)  # exact types: a JSON true / false is not a number here


def _is_number(v) -> bool:
    return type(v) in _NUMBER


def image_size(img_info: dict, path) -> tuple:
    """``(width, height)`` of a COCO image entry, or an error naming file and image."""
    w, h = img_info.get('width'), img_info.get('height')
    if not (_is_number(w) and _is_number(h)):
        raise AnnotationFileError(
            f'annotation file {str(path)!r}, image {img_info.get("id")!r}: "width" / '
            f'"height" are {w!r} / {h!r}; expected the image size in pixels')
    return w, h


def coco_box_problem(ann: dict, width, height, path=None) -> Optional[str]:
    """Why mmdet's ``CocoDataset`` drops this COCO box, or ``None`` if it keeps it.

    The rule is mmdet's (``parse_data_info``): width < 1, height < 1, ``area`` <= 0 or
    no overlap with the ``width`` x ``height`` image; a malformed ``bbox`` / ``area``
    raises :class:`AnnotationFileError` naming the file and the annotation.
    """
    bbox, area = ann.get('bbox'), ann.get('area')
    box_ok = type(bbox) in (list, tuple) and len(bbox) == 4 and \
        all(type(v) in _NUMBER for v in bbox)
    if not (box_ok and type(area) in _NUMBER):
        where = (f'annotation file {str(path)!r}, annotation {ann.get("id")!r} '
                 f'(image {ann.get("image_id")!r})')
        if not box_ok:
            raise AnnotationFileError(f'{where}: "bbox" is {bbox!r}; expected [x, y, '
                                      'width, height] (4 numbers, pixels)')
        raise AnnotationFileError(f'{where}: "area" is {area!r}; expected a number '
                                  '(the box or mask area in pixels)')
    x, y, w, h = bbox
    if w <= 0 or h <= 0:
        return 'width <= 0' if w <= 0 else 'height <= 0'
    if w < 1 or h < 1:
        return 'width < 1' if w < 1 else 'height < 1'
    if area <= 0:
        return f'area {area} <= 0'
    inter_w = max(0, min(x + w, width) - max(x, 0))
    inter_h = max(0, min(y + h, height) - max(y, 0))
    if inter_w * inter_h == 0:
        return 'outside the image'
    return None


def xyxy_box_problem(bbox: Sequence, width, height) -> Optional[str]:
    """Why an ``[x1, y1, x2, y2]`` box (VOC XML) is invalid, or ``None``: x2 <= x1,
    y2 <= y1, or entirely outside the ``width`` x ``height`` image."""
    x1, y1, x2, y2 = bbox
    if x2 <= x1:
        return 'width <= 0'
    if y2 <= y1:
        return 'height <= 0'
    if x2 <= 0 or y2 <= 0 or x1 >= width or y1 >= height:
        return 'outside the image'
    return None


class BoxTally:
    """Box counts of one annotation file while it loads, and the first invalid ones."""

    def __init__(self) -> None:
        self.images = 0  # images whose boxes were looked at
        self.boxes = 0  # box annotations the validity rule looked at
        self.invalid = 0
        self.examples: List[str] = []
        self.usable = 0  # kept, not ignored: what training / evaluation sees
        self.ignored = 0  # kept as ignored: crowd, VOC difficult, below bbox_min_size
        self.foreign = 0  # of a category not among the dataset's classes
        # COCO: whether the file has an "annotations" key (None: not known, XML)
        self.has_annotations: Optional[bool] = None
        self.cat_ids: Optional[set] = None  # COCO: the category ids of the classes

    def add_invalid(self, where: str, bbox, reason: str) -> None:
        self.invalid += 1
        if len(self.examples) < MAX_EXAMPLES:
            self.examples.append(f'{where}: bbox {_fmt_box(bbox)} {reason}')

    def add_kept(self, instances: Sequence[dict]) -> None:
        for inst in instances:
            if inst.get('ignore_flag', 0):
                self.ignored += 1
            else:
                self.usable += 1


def _fmt_box(bbox) -> str:
    return '[' + ', '.join(f'{v:g}' if isinstance(v, float) else str(v)
                           for v in bbox) + ']'


def _plural(n: int, word: str) -> str:
    return f'{n} {word}' if n == 1 else f'{n} {word}es' if word.endswith('x') else \
        f'{n} {word}s'


def _warn_once(msg: str) -> None:
    if msg in _REPORTED:  # the message names the file
        return
    _REPORTED.add(msg)
    if get_rank() == 0:
        print_log(msg, logger='current', level=logging.WARNING)


def finish_box_check(tally: BoxTally, dataset_name: str, ann_file, test_mode: bool,
                     unit: str = 'box annotation', rule: str = '') -> None:
    """Report a loaded file's invalid boxes once, refuse a file with no usable box.

    Raises :class:`AnnotationFileError` when the file holds boxes but none that
    training or evaluation would see; warns (rank 0, once per file) when some boxes
    were invalid and dropped, and for a ``test_mode`` file whose box list is empty (a
    COCO file without an ``"annotations"`` key, test-dev style, loads quietly).
    """
    name = f'{dataset_name}: ann_file {str(ann_file)!r}'
    examples = '; '.join(tally.examples)
    if tally.boxes and not tally.usable:
        raise AnnotationFileError(
            f'{name} holds {_plural(tally.boxes, unit)} but none is usable: '
            f'{tally.invalid} invalid{f" (first: {examples})" if examples else ""}, '
            f'{tally.ignored} crowd or ignored, {tally.foreign} of a category not among '
            "the dataset's classes. Fix the boxes or the classes in metainfo; a split "
            'without boxes (unlabeled images) holds no box annotation at all')
    if tally.invalid:
        _warn_once(
            f'{name}: {tally.invalid} of {_plural(tally.boxes, unit)} are invalid and '
            f'were dropped{rule}; first {len(tally.examples)}: {examples}')
    elif tally.images and not tally.boxes and test_mode and \
            tally.has_annotations is not False:
        _warn_once(f'{name} holds no box annotations: there is nothing to evaluate '
                   'against (fine for unlabeled or test-dev images with format_only)')


# -------------------------------------------------------------- installed patches
_ORIGINAL: Dict[str, object] = {}
_COCO_RULE = " (mmdet's rule: width and height >= 1, area > 0, overlapping the image)"
_XML_RULE = ' (x2 > x1, y2 > y1, overlapping the image)'


def _coco_api_init(self, annotation_file=None, *args, **kwargs):
    """mmdet's ``COCO(annotation_file)``, failing on a bad file with its path."""
    if annotation_file is None:
        return _ORIGINAL['coco_api_init'](self, annotation_file, *args, **kwargs)
    check_not_empty(annotation_file, COCO_EXPECTED)
    try:
        _ORIGINAL['coco_api_init'](self, annotation_file, *args, **kwargs)
    except ValueError as e:  # JSONDecodeError, UnicodeDecodeError
        raise AnnotationFileError(
            f'annotation file {str(annotation_file)!r} is not valid JSON '
            f'({type(e).__name__}: {e}); expected {COCO_EXPECTED}') from e
    except AssertionError as e:  # pycocotools: "annotation file format ... not supported"
        raise AnnotationFileError(
            f'annotation file {str(annotation_file)!r} is not a COCO-format JSON object '
            f'({e}); expected {COCO_EXPECTED}') from e
    except (KeyError, TypeError) as e:  # pycocotools' index: entries without ids
        check_coco_layout(getattr(self, 'dataset', None), annotation_file)
        raise AnnotationFileError(
            f'annotation file {str(annotation_file)!r} has an entry without a needed '
            f'field ({type(e).__name__}: {e}); expected {COCO_EXPECTED}, each image '
            'with "id", each annotation with "id" / "image_id" / "category_id"') from e
    check_coco_layout(self.dataset, annotation_file)


def _tallied_load(original: str, unit: str, rule: str):
    """A ``load_data_list`` that runs ``_ORIGINAL[original]`` with a fresh
    :class:`BoxTally` (filled by the patched ``parse_data_info``), then
    :func:`finish_box_check`."""
    def load_data_list(self):
        tally = self.__dict__['_kd_box_tally'] = BoxTally()
        try:
            data_list = _ORIGINAL[original](self)
        finally:
            self.__dict__.pop('_kd_box_tally', None)
        finish_box_check(tally, type(self).__name__, self.ann_file, self.test_mode,
                         unit=unit, rule=rule)
        return data_list

    return load_data_list


def _coco_parse_data_info(self, raw_data_info):
    tally = self.__dict__.get('_kd_box_tally')
    if tally is None:  # called outside load_data_list: nothing to tally
        return _ORIGINAL['coco_parse_data_info'](self, raw_data_info)
    img = raw_data_info['raw_img_info']
    width, height = image_size(img, self.ann_file)
    if tally.cat_ids is None:
        tally.cat_ids = set(getattr(self, 'cat_ids', ()))
        if hasattr(getattr(self, 'coco', None), 'dataset'):
            tally.has_annotations = 'annotations' in self.coco.dataset
    tally.images += 1
    for ann in raw_data_info['raw_ann_info']:
        if ann.get('ignore', False):  # mmdet skips these before its rule
            continue
        tally.boxes += 1
        reason = coco_box_problem(ann, width, height, self.ann_file)
        if reason:
            where = f'image {img.get("img_id", img.get("id"))} ' \
                    f'({img.get("file_name")}, {width:g}x{height:g})'
            tally.add_invalid(where, ann['bbox'], reason)
        elif ann.get('category_id') not in tally.cat_ids:
            tally.foreign += 1
    data_info = _ORIGINAL['coco_parse_data_info'](self, raw_data_info)
    tally.add_kept(data_info.get('instances', ()) if isinstance(data_info, dict) else ())
    return data_info


def _xml_parse_data_info(self, img_info):
    import xml.etree.ElementTree as ET
    xml_path = img_info.get('xml_path')
    try:
        data_info = _ORIGINAL['xml_parse_data_info'](self, img_info)
    except (ET.ParseError, AttributeError, ValueError, TypeError) as e:
        raise AnnotationFileError(
            f'{type(self).__name__}: XML annotation {str(xml_path)!r} cannot be read '
            f'({type(e).__name__}: {e}); expected {VOC_EXPECTED}') from e
    tally = self.__dict__.get('_kd_box_tally')
    if tally is None or not isinstance(data_info, dict):
        return data_info
    width, height = data_info['width'], data_info['height']
    where = f'{osp.basename(str(xml_path))} ({width}x{height})'
    tally.images += 1
    kept = []
    for inst in data_info.get('instances', ()):
        tally.boxes += 1
        reason = xyxy_box_problem(inst['bbox'], width, height)
        if reason:
            tally.add_invalid(where, inst['bbox'], reason)
        else:
            kept.append(inst)
    data_info['instances'] = kept
    tally.add_kept(kept)
    return data_info


def _base_dataset_load(file, *args, **kwargs):
    """``mmengine.fileio.load`` as ``BaseDataset.load_data_list`` calls it, failing on a
    bad annotation file with its path and what was expected."""
    check_not_empty(file, OPENMMLAB_EXPECTED)
    try:
        obj = _ORIGINAL['base_load'](file, *args, **kwargs)
    except OSError:
        raise
    except Exception as e:  # json / pickle / yaml decoding, an unknown file format
        raise AnnotationFileError(
            f'annotation file {str(file)!r} cannot be decoded ({type(e).__name__}: '
            f'{e}); expected {OPENMMLAB_EXPECTED}') from e
    check_openmmlab_layout(obj, file)
    return obj


def _mark(fn):
    fn._kd_annotation_check = True
    return fn


def _patch(owner, attr, key, replacement) -> None:
    current = owner.__dict__[attr] if attr in owner.__dict__ else getattr(owner, attr)
    if getattr(current, '_kd_annotation_check', False):
        return
    _ORIGINAL[key] = current
    setattr(owner, attr, _mark(replacement))


def install() -> None:
    """Install the checks into mmdet's ``COCO`` API, ``CocoDataset``, ``XMLDataset``
    (hence ``VOCDataset``) and mmengine's ``BaseDataset`` JSON loading. Idempotent."""
    from mmdet.datasets import CocoDataset, XMLDataset
    from mmdet.datasets.api_wrappers import COCO
    from mmengine.dataset import base_dataset

    _patch(COCO, '__init__', 'coco_api_init', _coco_api_init)
    _patch(CocoDataset, 'load_data_list', 'coco_load_data_list',
           _tallied_load('coco_load_data_list', 'box annotation', _COCO_RULE))
    _patch(CocoDataset, 'parse_data_info', 'coco_parse_data_info', _coco_parse_data_info)
    _patch(XMLDataset, 'load_data_list', 'xml_load_data_list',
           _tallied_load('xml_load_data_list', 'box', _XML_RULE))
    _patch(XMLDataset, 'parse_data_info', 'xml_parse_data_info', _xml_parse_data_info)
    _patch(base_dataset, 'load', 'base_load', _base_dataset_load)
