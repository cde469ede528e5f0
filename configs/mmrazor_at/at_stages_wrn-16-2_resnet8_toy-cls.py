# Attention transfer (Zagoruyko & Komodakis, ICLR 2017: spatial attention maps, MMRazor's
# ATLoss) at the three backbone stages of the toy classification pair: a baseline of the
# M5 benchmark. Spatial maps only, so different widths need no adapter.
#   tools/train.py THIS --teacher-ckpt work_dirs/toy_cls_teacher/epoch_30.pth
# Loss weight: the published default (protocol v2, rule 3: a baseline row starts from
# it, the benchmark sweeps x0.25, x1, x4 of it). Before protocol v2: 100 per stage (the
# tools/benchmark/grad_balance.py rule).
_base_ = ['../_base_/distill/toy_cls_wrn-16-2_to_resnet8.py']
model = dict(distiller=dict(
    distill_losses={
        # published default: 1000 (AT paper's code, szagoruyko/attention-transfer:
        # README `cifar.py ... --beta 1e+3`, cifar.py adds beta * at_loss per WRN group,
        # at_loss = (at(x) - at(y)).pow(2).mean() exactly as ATLoss, CE weight 1). MMRazor
        # has no AT config (its ZSKT config uses ATLoss at 250, a data-free setting).
        f'loss_at{i}': dict(type='ATLoss', loss_weight=1000.0)
        for i in range(3)
    },
    loss_forward_mappings={
        f'loss_at{i}': dict(
            s_feature=dict(from_student=True, recorder='stages', data_idx=i),
            t_feature=dict(from_student=False, recorder='stages', data_idx=i))
        for i in range(3)}))
# the loss weights the benchmark's sweep scales together (full dotted config paths)
sweep_weights = [f'model.distiller.distill_losses.loss_at{i}.loss_weight'
                 for i in range(3)]
