# M3 semi-supervised adaptive distillation, YOLOv3 Darknet-53 (teacher) -> YOLOv3
# MobileNetV2 (student), COCO with 10% of train2017 labeled and the rest unlabeled
# (fold 1; the -semi1 / -semi5 configs change only the split files). M2's terms with
# adaptive soft labels (AdaptiveSoftLabelLoss), on labeled images (plus the student's
# task loss) and unlabeled ones (no gt read, no task loss). The splits, in mmdet's
# semi-supervised naming, come from
#   python tools/make_toy_data.py det-semi \
#       --ann data/coco/annotations/instances_train2017.json --percent 10 --seed 1
# (written beside the input; mmdet's tools/misc/split_coco.py files work too: point
# labeled_ann / unlabeled_ann at them). Train:
#   tools/dist_train.sh THIS 8 --teacher-ckpt /path/to/yolov3-d53_coco_teacher.pth
# Schedule: the student's ~180k iterations (30 epochs of 10x COCO at 8 x 24 images),
# each batch 12 labeled + 12 unlabeled images per GPU; beta, gamma, unsup_weight and
# the loss weights are untuned starting points at this scale.
_base_ = ['../confidence_guided/m2_yolov3-d53_yolov3-mbv2_coco.py']

beta = 1.5  # weight of the teacher's entropy in a location's hardness
gamma = 1.0  # focusing exponent
unsup_weight = 1.0
model = dict(
    type='SemiAdaptiveDistill',
    unsup_weight=unsup_weight,
    distiller=dict(distill_losses={
        f'loss_soft{i}': dict(type='AdaptiveSoftLabelLoss', beta=beta, gamma=gamma)
        for i in range(3)
    }))

fold, percent = 1, 10
labeled_ann = f'annotations/instances_train2017.{fold}@{percent}.json'
unlabeled_ann = f'annotations/instances_train2017.{fold}@{percent}-unlabeled.json'
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
    type='CocoDataset',
    data_root=_base_.data_root,
    ann_file=labeled_ann,
    data_prefix=dict(img='train2017/'),
    filter_cfg=dict(filter_empty_gt=True, min_size=32),
    pipeline=sup_pipeline,
    backend_args=_base_.backend_args)
unlabeled_dataset = dict(labeled_dataset, ann_file=unlabeled_ann,
                         filter_cfg=dict(filter_empty_gt=False), pipeline=unsup_pipeline)
batch_size = 24  # per GPU
train_dataloader = dict(
    _delete_=True,
    batch_size=batch_size,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='SemiGroupMultiSourceSampler', batch_size=batch_size,
                 source_ratio=[1, 1]),
    dataset=dict(type='ConcatDataset', datasets=[labeled_dataset, unlabeled_dataset]))

max_iters = 180000
train_cfg = dict(_delete_=True, type='IterBasedTrainLoop', max_iters=max_iters,
                 val_interval=10000)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.0001, by_epoch=False, begin=0, end=4000),
    dict(type='MultiStepLR', by_epoch=False, begin=0, end=max_iters,
         milestones=[144000, 168000], gamma=0.1)
]
default_hooks = dict(checkpoint=dict(by_epoch=False, interval=10000, max_keep_ckpts=3))
log_processor = dict(by_epoch=False)
