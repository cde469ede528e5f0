# Student for the YOLOv3 pair on Pascal VOC 07+12: the COCO student
# (yolov3_mobilenetv2_8xb24-ms-416-300e_coco.py, same model, 20 classes) with mmdet's
# VOC 07+12 data (configs/_base_/datasets/voc0712.py =
# mmdet::_base_/datasets/voc0712.py: trainval of VOC2007 + VOC2012, test on VOC2007
# test, VOCMetric mAP 11 points) but YOLOv3's own multi-scale train pipeline (Expand,
# MinIoURandomCrop, RandomResize 320-416) and 416 px test pipeline. mmdet ships no
# YOLOv3 VOC config; the VOC dataset base cannot be a sibling `_base_` of the COCO
# config (same top-level keys), so its dataloaders are restated here. Schedule (a
# choice, not from a paper run here): the COCO config's 30 epochs of a 10x repeated
# train set, LR /10 at epochs 24 and 28, here on VOC trainval = ~300 passes over VOC,
# like common YOLOv3 VOC recipes (~270 epochs).
_base_ = ['./yolov3_mobilenetv2_8xb24-ms-416-300e_coco.py']
model = dict(bbox_head=dict(num_classes=20))

dataset_type = 'VOCDataset'
data_root = 'data/VOCdevkit/'
train_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type='RepeatDataset',
        times=10,
        dataset=dict(
            type='ConcatDataset',
            # VOCDataset adds `dataset_type` to its metainfo; ConcatDataset must ignore it
            ignore_keys=['dataset_type'],
            datasets=[
                dict(
                    type=dataset_type,
                    data_root=data_root,
                    ann_file=f'VOC{year}/ImageSets/Main/trainval.txt',
                    data_prefix=dict(sub_data_root=f'VOC{year}/'),
                    filter_cfg=dict(filter_empty_gt=True, min_size=32, bbox_min_size=32),
                    pipeline=_base_.train_pipeline,
                    backend_args=_base_.backend_args)
                for year in ('2007', '2012')
            ])))
val_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type=dataset_type,
        data_root=data_root,
        ann_file='VOC2007/ImageSets/Main/test.txt',
        data_prefix=dict(sub_data_root='VOC2007/'),
        test_mode=True,
        pipeline=_base_.test_pipeline,
        backend_args=_base_.backend_args))
test_dataloader = val_dataloader
val_evaluator = dict(_delete_=True, type='VOCMetric', metric='mAP', eval_mode='11points')
test_evaluator = val_evaluator

train_cfg = dict(max_epochs=30, val_interval=3)
default_hooks = dict(checkpoint=dict(type='CheckpointHook', interval=3))
