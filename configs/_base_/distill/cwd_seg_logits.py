# MMRazor's channel-wise distillation (CWD) on segmentation logits: both decode heads'
# `conv_seg` outputs recorded, ChannelWiseDivergence between them (spatial softmax per
# class channel). A named variable; a config sets the loss weight:
#   distiller=dict(_base_.cwd_seg_logits_distiller,
#                  distill_losses=dict(loss_cwd=dict(_base_.cwd_loss, loss_weight=W)))
cwd_loss = dict(type='ChannelWiseDivergence', tau=1, loss_weight=1.0)
cwd_seg_logits_distiller = dict(
    type='ConfigurableDistiller',
    student_recorders=dict(
        logits=dict(type='ModuleOutputs', source='decode_head.conv_seg')),
    teacher_recorders=dict(
        logits=dict(type='ModuleOutputs', source='decode_head.conv_seg')),
    distill_losses=dict(loss_cwd=cwd_loss),
    loss_forward_mappings=dict(loss_cwd=dict(
        preds_S=dict(from_student=True, recorder='logits'),
        preds_T=dict(from_student=False, recorder='logits'))))
