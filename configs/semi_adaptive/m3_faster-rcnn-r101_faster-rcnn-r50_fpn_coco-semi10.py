# M3 semi-supervised adaptive distillation, Faster R-CNN R101-FPN (teacher) -> R50-FPN
# (student), COCO with 10% of train2017 labeled and the rest unlabeled (fold 1; the
# -semi1 / -semi5 configs change only the split files). M2's terms (RPN and RoI soft
# labels, confident box outputs, confidence-masked FPN features; the teacher's RoI head
# on the student's RoIs) with adaptive soft labels, on labeled images (plus the
# student's task loss) and unlabeled ones: there the student runs in tensor mode (its
# RPN proposals, no sampling against gt boxes) and the teacher's RoI head scores the
# same RoIs. Split files:
#   python tools/make_toy_data.py det-semi \
#       --ann data/coco/annotations/instances_train2017.json --percent 10 --seed 1
# Train:
#   tools/dist_train.sh THIS 8 --teacher-ckpt /path/to/faster-rcnn_r101_fpn_2x_coco.pth
# Data and schedule follow mmdet's semi-supervised Faster R-CNN recipe (batches of
# 1 labeled + 4 unlabeled images per GPU, 180k iterations, SGD lr 0.01); beta, gamma,
# unsup_weight and the loss weights are untuned starting points at this scale.
_base_ = ['../confidence_guided/m2_faster-rcnn-r101_faster-rcnn-r50_fpn_1x_coco.py']

beta = 1.5
gamma = 1.0
unsup_weight = 1.0
model = dict(
    type='SemiAdaptiveDistill',
    unsup_weight=unsup_weight,
    distiller=dict(distill_losses=dict(
        **{
            f'loss_rpn_soft{i}': dict(type='AdaptiveSoftLabelLoss', beta=beta,
                                      gamma=gamma)
            for i in range(_base_.num_levels)
        },
        loss_roi_soft=dict(type='AdaptiveSoftLabelLoss', beta=beta, gamma=gamma))))

fold, percent = 1, 10
labeled_ann = f'annotations/instances_train2017.{fold}@{percent}.json'
unlabeled_ann = f'annotations/instances_train2017.{fold}@{percent}-unlabeled.json'
branch_field = ['sup', 'unsup']
sup_pipeline = [
    *_base_.train_pipeline[:-1],
    dict(type='MultiBranch', branch_field=branch_field, sup=_base_.train_pipeline[-1])
]
unsup_pipeline = [
    *[t for t in _base_.train_pipeline[:-1] if t['type'] != 'LoadAnnotations'],
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
batch_size = 5  # per GPU
train_dataloader = dict(
    _delete_=True,
    batch_size=batch_size,
    num_workers=5,
    persistent_workers=True,
    sampler=dict(type='SemiGroupMultiSourceSampler', batch_size=batch_size,
                 source_ratio=[1, 4]),
    dataset=dict(type='ConcatDataset', datasets=[labeled_dataset, unlabeled_dataset]))

max_iters = 180000
train_cfg = dict(_delete_=True, type='IterBasedTrainLoop', max_iters=max_iters,
                 val_interval=10000)
optim_wrapper = dict(optimizer=dict(lr=0.01))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=500),
    dict(type='MultiStepLR', by_epoch=False, begin=0, end=max_iters,
         milestones=[120000, 160000], gamma=0.1)
]
default_hooks = dict(checkpoint=dict(by_epoch=False, interval=10000, max_keep_ckpts=3))
log_processor = dict(by_epoch=False)
