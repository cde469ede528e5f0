# MMRazor's CWD on the five FPN levels, Faster R-CNN R101 -> R50 on COCO: the pair of
# mmrazor's cwd_fpn_frcnn_r101_frcnn_r50_1x_coco.py, whose mmdet 2.x config names
# (faster_rcnn_r50_fpn_1x_coco.py) no longer exist in mmdet 3.3. Reported by the CWD
# paper / mmrazor model zoo: student 38.2 -> 40.2 bbox mAP (teacher 39.8 bbox mAP).
#   tools/dist_train.sh THIS 8 --teacher-ckpt /path/to/faster-rcnn_r101_fpn_2x_coco.pth
_base_ = ['../detectors/faster-rcnn_r50_fpn_1x_coco.py']

teacher_ckpt = None  # local path; set with --teacher-ckpt or --cfg-options
model = dict(
    _delete_=True,
    _scope_='mmrazor',
    type='PreprocessAwareDistill',
    architecture=_base_.model,
    teacher=dict(cfg_path='kd_plugins::detectors/faster-rcnn_r101_fpn_2x_coco.py'),
    teacher_ckpt=teacher_ckpt,
    distiller=dict(
        type='ConfigurableDistiller',
        student_recorders=dict(fpn=dict(type='ModuleOutputs', source='neck')),
        teacher_recorders=dict(fpn=dict(type='ModuleOutputs', source='neck')),
        distill_losses={
            f'loss_cwd_fpn{i}': dict(type='ChannelWiseDivergence', tau=1, loss_weight=10)
            for i in range(5)
        },
        loss_forward_mappings={
            f'loss_cwd_fpn{i}': dict(
                preds_S=dict(from_student=True, recorder='fpn', data_idx=i),
                preds_T=dict(from_student=False, recorder='fpn', data_idx=i))
            for i in range(5)
        }))
find_unused_parameters = True
