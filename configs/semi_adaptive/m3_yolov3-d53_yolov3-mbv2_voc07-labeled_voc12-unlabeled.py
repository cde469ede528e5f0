# M3 semi-supervised adaptive distillation, YOLOv3 Darknet-53 (teacher) -> YOLOv3
# MobileNetV2 (student), Pascal VOC: VOC2007 trainval labeled, VOC2012 trainval used as
# unlabeled images (its boxes are never loaded: the unlabeled pipeline has no
# LoadAnnotations, and the sampler is told not to warn about them), tested on VOC2007
# test. Train:
#   tools/dist_train.sh THIS 8 --teacher-ckpt /path/to/yolov3-d53_voc0712_teacher.pth
# Schedule: 60k iterations, each batch 12 labeled + 12 unlabeled images per GPU; beta,
# gamma, unsup_weight and the loss weights are untuned starting points at this scale.
_base_ = ['../confidence_guided/m2_yolov3-d53_yolov3-mbv2_voc0712.py']

beta = 1.5
gamma = 1.0
unsup_weight = 1.0
model = dict(
    type='SemiAdaptiveDistill',
    unsup_weight=unsup_weight,
    distiller=dict(distill_losses={
        f'loss_soft{i}': dict(type='AdaptiveSoftLabelLoss', beta=beta, gamma=gamma)
        for i in range(3)
    }))

branch_field = ['sup', 'unsup']
sup_pipeline = [
    *_base_.train_pipeline[:-1],
    dict(type='MultiBranch', branch_field=branch_field, sup=_base_.train_pipeline[-1])
]
# no LoadAnnotations, and no MinIoURandomCrop (it crops around gt boxes)
unsup_pipeline = [
    *[t for t in _base_.train_pipeline[:-1]
      if t['type'] not in ('LoadAnnotations', 'MinIoURandomCrop')],
    dict(type='MultiBranch', branch_field=branch_field, unsup=_base_.train_pipeline[-1])
]
labeled_dataset = dict(
    type=_base_.dataset_type,
    data_root=_base_.data_root,
    ann_file='VOC2007/ImageSets/Main/trainval.txt',
    data_prefix=dict(sub_data_root='VOC2007/'),
    filter_cfg=dict(filter_empty_gt=True, min_size=32, bbox_min_size=32),
    pipeline=sup_pipeline,
    backend_args=_base_.backend_args)
unlabeled_dataset = dict(labeled_dataset, ann_file='VOC2012/ImageSets/Main/trainval.txt',
                         data_prefix=dict(sub_data_root='VOC2012/'),
                         filter_cfg=dict(filter_empty_gt=False), pipeline=unsup_pipeline)
batch_size = 24  # per GPU
train_dataloader = dict(
    _delete_=True,
    batch_size=batch_size,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='SemiGroupMultiSourceSampler', batch_size=batch_size,
                 source_ratio=[1, 1], warn_boxes=False),
    dataset=dict(type='ConcatDataset', ignore_keys=['dataset_type'],
                 datasets=[labeled_dataset, unlabeled_dataset]))

max_iters = 60000
train_cfg = dict(_delete_=True, type='IterBasedTrainLoop', max_iters=max_iters,
                 val_interval=5000)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.0001, by_epoch=False, begin=0, end=4000),
    dict(type='MultiStepLR', by_epoch=False, begin=0, end=max_iters,
         milestones=[48000, 56000], gamma=0.1)
]
default_hooks = dict(checkpoint=dict(_delete_=True, type='CheckpointHook', by_epoch=False,
                                     interval=5000, max_keep_ckpts=3))
log_processor = dict(by_epoch=False)
