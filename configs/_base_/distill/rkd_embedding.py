# One-way relational KD (Park et al., CVPR 2019) with MMRazor's DistanceWiseRKD +
# AngleWiseRKD (relative weights 1 : 2) on the embedding layers (`head.fc`) of a frozen
# teacher and a student: the `mmrazor:rkd` baseline of M8. A named variable, merged into
# a pair's `model` by `model = _base_.rkd_model`. rkd_weight: set on the toy pair by the
# project's grad-balance rule (0.82x the student's task gradient at the trained no-KD
# student: distance 0.34x, angle 0.47x).
rkd_weight = 1.9
rkd_model = dict(
    type='PreprocessAwareDistill',
    distiller=dict(
        type='ConfigurableDistiller',
        student_recorders=dict(emb=dict(type='ModuleOutputs', source='head.fc')),
        teacher_recorders=dict(emb=dict(type='ModuleOutputs', source='head.fc')),
        distill_losses=dict(
            loss_rkd_d=dict(type='DistanceWiseRKD', loss_weight=1.0 * rkd_weight),
            loss_rkd_a=dict(type='AngleWiseRKD', loss_weight=2.0 * rkd_weight)),
        loss_forward_mappings=dict(
            loss_rkd_d=dict(preds_S=dict(from_student=True, recorder='emb'),
                            preds_T=dict(from_student=False, recorder='emb')),
            loss_rkd_a=dict(preds_S=dict(from_student=True, recorder='emb'),
                            preds_T=dict(from_student=False, recorder='emb')))))
