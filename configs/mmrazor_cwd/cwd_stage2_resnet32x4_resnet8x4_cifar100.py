# MMRazor CWD on the last backbone stage of resnet32x4 -> resnet8x4 (CIFAR-100; both 256
# channels at 8 x 8): the baseline next to M5 on the real classification pair, as the toy
# classification table's CWD row (cwd_stage2_wrn-16-2_resnet8_toy-cls.py). Published
# default: weight 10 at tau 1 (mmrazor::distill/mmdet/cwd/cwd_fpn_frcnn_r101_frcnn_r50_1x_coco.py;
# MMRazor has no classification setting for CWD).
_base_ = ['../classifiers/resnet8x4_cifar100.py']

teacher_ckpt = None  # local path; set with --teacher-ckpt or --cfg-options
stage_outputs = dict(out_indices=(0, 1, 2))
model = dict(
    _delete_=True,
    _scope_='mmrazor',
    type='PreprocessAwareDistill',
    data_preprocessor=dict(_base_.data_preprocessor,
                           type='mmpretrain.ClsDataPreprocessor'),
    architecture=dict(_base_.model,
                      backbone=dict(_base_.model.backbone, **stage_outputs)),
    teacher=dict(_base_.model, backbone=dict(type='CifarKDResNet', arch='resnet32x4',
                                             **stage_outputs)),
    teacher_ckpt=teacher_ckpt,
    distiller=dict(
        type='ConfigurableDistiller',
        student_recorders=dict(stages=dict(type='ModuleOutputs', source='backbone')),
        teacher_recorders=dict(stages=dict(type='ModuleOutputs', source='backbone')),
        distill_losses=dict(loss_cwd=dict(type='ChannelWiseDivergence', tau=1,
                                          loss_weight=10.0)),
        loss_forward_mappings=dict(loss_cwd=dict(
            preds_S=dict(from_student=True, recorder='stages', data_idx=2),
            preds_T=dict(from_student=False, recorder='stages', data_idx=2)))))
find_unused_parameters = True
sweep_weights = ['model.distiller.distill_losses.loss_cwd.loss_weight']
