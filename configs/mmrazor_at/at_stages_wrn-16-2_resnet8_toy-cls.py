# Attention transfer (Zagoruyko & Komodakis, ICLR 2017: spatial attention maps, MMRazor's
# ATLoss) at the three backbone stages of the toy classification pair: a baseline of the
# M5 benchmark. Spatial maps only, so different widths need no adapter.
#   tools/train.py THIS --teacher-ckpt work_dirs/toy_cls_teacher/epoch_30.pth
# Loss weight: tools/benchmark/grad_balance.py rule (see the KD baseline's header).
# Re-set after the teacher-normalisation fix (issue 7): the first weights were measured
# with the teacher seeing raw pixels
# (benchmarks/history/2026-11-25-cls-teacher-raw-pixels/).
_base_ = ['../_base_/distill/toy_cls_wrn-16-2_to_resnet8.py']
at_weight = 100.0
model = dict(distiller=dict(
    distill_losses={f'loss_at{i}': dict(type='ATLoss', loss_weight=at_weight)
                    for i in range(3)},
    loss_forward_mappings={
        f'loss_at{i}': dict(
            s_feature=dict(from_student=True, recorder='stages', data_idx=i),
            t_feature=dict(from_student=False, recorder='stages', data_idx=i))
        for i in range(3)}))
