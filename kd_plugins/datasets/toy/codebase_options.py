"""Config options that shrink the codebases' own configs to the toy data (issue 22): an
mmdet COCO config, an mmseg Cityscapes config or an mmpretrain ImageNet config becomes a
toy run with ``--cfg-options`` only, as a user would point them at their own data.

    from kd_plugins.datasets.toy import coco_config_options
    opts = coco_config_options('data/toy_det')   # -> {'model.bbox_head.num_classes': 5,
                                                 #     'train_dataloader...': ..., ...}

Values are Python values (lists, tuples, None); on a command line ``k=repr(v)`` reads
back the same through mmengine's ``DictAction``.
"""
from .cls import CLS_CLASSES
from .det import DET_CLASSES
from .seg import SEG_CLASSES

__all__ = ['cityscapes_config_options', 'coco_config_options', 'imagenet_config_options']


def coco_config_options(data_root, img_size=160):
    """``--cfg-options`` (a dict) that shrink mmdet's own COCO configs
    (``mmdet::retinanet/retinanet_r18_fpn_1x_coco.py`` ...) to the toy detection data,
    options only: no pretrained backbone (nothing downloads), the five classes (head,
    dataset metainfo), the toy root, its annotation files and image folders, the resize
    to ``img_size`` (training and test pipelines: step 2 and 1, mmdet's COCO layout) and
    the evaluators' files."""
    root = data_root.rstrip('/') + '/'
    classes = list(DET_CLASSES)
    opts = {'model.bbox_head.num_classes': len(DET_CLASSES),
            'model.backbone.init_cfg': None,  # no ImageNet weights download
            'train_dataloader.dataset.pipeline.2.scale': (img_size, img_size)}
    for loader, split in (('train', 'train'), ('val', 'val'), ('test', 'test')):
        opts[f'{loader}_dataloader.dataset.data_root'] = root
        opts[f'{loader}_dataloader.dataset.ann_file'] = f'annotations/{split}.json'
        opts[f'{loader}_dataloader.dataset.data_prefix.img'] = f'{split}/'
        opts[f'{loader}_dataloader.dataset.metainfo.classes'] = classes
        if loader != 'train':
            opts[f'{loader}_dataloader.dataset.pipeline.1.scale'] = (img_size, img_size)
            opts[f'{loader}_evaluator.ann_file'] = f'{root}annotations/{split}.json'
    opts['train_dataloader.dataset.filter_cfg.min_size'] = 1
    return opts


def cityscapes_config_options(data_root, crop=64):
    """``--cfg-options`` (a dict) that shrink mmseg's own Cityscapes configs
    (``mmseg::fcn/fcn_r18-d8_4xb2-80k_cityscapes-512x1024.py`` ...) to the toy
    segmentation data, options only: no pretrained backbone (nothing downloads), the
    four classes (decode and auxiliary heads,
    dataset metainfo), mmseg's plain ``BaseSegDataset`` on the toy root's
    ``img_dir`` / ``ann_dir`` folders (``.png`` both), the random resize and crop of
    training and the test resize at the toy size, the preprocessor's pad size."""
    root = data_root.rstrip('/') + '/'
    classes = list(SEG_CLASSES)
    opts = {'model.pretrained': None,  # no ImageNet weights download
            'model.decode_head.num_classes': len(SEG_CLASSES),
            'model.auxiliary_head.num_classes': len(SEG_CLASSES),
            'model.data_preprocessor.size': (crop, crop),
            'train_dataloader.dataset.pipeline.2.scale': (2 * crop, crop),
            'train_dataloader.dataset.pipeline.3.crop_size': (crop, crop)}
    for loader, split in (('train', 'train'), ('val', 'val'), ('test', 'test')):
        key = f'{loader}_dataloader.dataset'
        opts.update({f'{key}.type': 'BaseSegDataset', f'{key}.data_root': root,
                     f'{key}.img_suffix': '.png', f'{key}.seg_map_suffix': '.png',
                     f'{key}.data_prefix.img_path': f'img_dir/{split}',
                     f'{key}.data_prefix.seg_map_path': f'ann_dir/{split}',
                     f'{key}.metainfo.classes': classes})
        if loader != 'train':
            opts[f'{key}.pipeline.1.scale'] = (crop, crop)
    return opts


def imagenet_config_options(data_root, img_size=32):
    """``--cfg-options`` (a dict) that shrink mmpretrain's own ImageNet configs
    (``mmpretrain::resnet/resnet18_8xb32_in1k.py`` ...) to the toy classification data,
    options only: the ten classes (head, preprocessor, dataset metainfo), the toy root
    (mmpretrain's ``ImageNet`` dataset reads ``<root>/<split>/<class>/`` folders), the
    crops at ``img_size``, and the test loader on the ``test`` folder (its split stays
    ``val``: mmpretrain's ImageNet test split has no labels)."""
    root = data_root.rstrip('/') + '/'
    classes = list(CLS_CLASSES)
    opts = {'model.head.num_classes': len(CLS_CLASSES),
            'data_preprocessor.num_classes': len(CLS_CLASSES),
            'train_dataloader.dataset.pipeline.1.scale': img_size}
    for loader in ('train', 'val', 'test'):
        opts[f'{loader}_dataloader.dataset.data_root'] = root
        opts[f'{loader}_dataloader.dataset.metainfo.classes'] = classes
    for loader in ('val', 'test'):
        opts[f'{loader}_dataloader.dataset.pipeline.1.scale'] = img_size
        opts[f'{loader}_dataloader.dataset.pipeline.2.crop_size'] = img_size
    opts['test_dataloader.dataset.data_prefix'] = 'test'
    return opts
