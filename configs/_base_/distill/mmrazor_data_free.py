# MMRazor's own data-free algorithms, wired for one teacher named `teacher` (its
# checkpoint: --cfg-options model.teachers.teacher.ckpt_path=T.pth). A config builds
# `model = dict(_base_.dafl_model or _base_.dfad_model, _delete_=True,
# data_preprocessor=..., architecture=..., teachers=dict(teacher=dict(build_cfg=...)),
# generator=...)` (DFAD also sets student_iter).
# DAFL (Chen et al., ICCV 2019): one-hot, information-entropy and activation terms on
# the teacher train the generator (DAFL's weights 1 / 5 / 0.1); the student learns the
# teacher's logits by KL (tau 6).
dafl_model = dict(
    _scope_='mmrazor',
    type='DAFLDataFreeDistillation',
    distiller=dict(
        type='ConfigurableDistiller',
        student_recorders=dict(fc=dict(type='ModuleOutputs', source='head.fc')),
        teacher_recorders=dict(fc=dict(type='ModuleOutputs', source='teacher.head.fc')),
        distill_losses=dict(loss_kl=dict(type='KLDivergence', tau=6, loss_weight=1)),
        loss_forward_mappings=dict(loss_kl=dict(
            preds_S=dict(from_student=True, recorder='fc'),
            preds_T=dict(from_student=False, recorder='fc')))),
    generator_distiller=dict(
        type='ConfigurableDistiller',
        teacher_recorders=dict(
            gap=dict(type='ModuleOutputs', source='teacher.neck.gap'),
            fc=dict(type='ModuleOutputs', source='teacher.head.fc')),
        distill_losses=dict(
            loss_oh=dict(type='OnehotLikeLoss', loss_weight=1.0),
            loss_ie=dict(type='InformationEntropyLoss', loss_weight=5.0, gather=True),
            loss_ac=dict(type='ActivationLoss', loss_weight=0.1)),
        loss_forward_mappings=dict(
            loss_oh=dict(preds_T=dict(from_student=False, recorder='fc')),
            loss_ie=dict(preds_T=dict(from_student=False, recorder='fc')),
            loss_ac=dict(feat_T=dict(from_student=False, recorder='gap')))))
# DFAD (Fang et al., 2019): L1 between student and teacher logits; the generator's copy
# has loss_weight=-1 (it maximises the discrepancy), the student trains first.
logits_l1 = dict(
    type='ConfigurableDistiller',
    student_recorders=dict(fc=dict(type='ModuleOutputs', source='head.fc')),
    teacher_recorders=dict(fc=dict(type='ModuleOutputs', source='teacher.head.fc')),
    distill_losses=dict(loss_l1=dict(type='L1Loss', loss_weight=1.0)),
    loss_forward_mappings=dict(loss_l1=dict(
        s_feature=dict(from_student=True, recorder='fc'),
        t_feature=dict(from_student=False, recorder='fc'))))
dfad_model = dict(
    _scope_='mmrazor',
    type='DataFreeDistillation',
    distiller=logits_l1,
    generator_distiller=dict(
        logits_l1, distill_losses=dict(loss_l1=dict(type='L1Loss', loss_weight=-1.0))),
    student_train_first=True)
