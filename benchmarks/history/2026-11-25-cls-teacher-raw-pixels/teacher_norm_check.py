"""How the toy cls teacher scores inside a distillation algorithm: with the config's
normalisation (the fix) and with its codebase default (raw pixels: before the fix)."""
import copy, torch
import kd_plugins
from mmengine.config import Config
from mmengine.registry import DefaultScope
from mmengine.runner import Runner, load_checkpoint
from mmrazor.registry import MODELS
cfg = Config.fromfile('configs/mmrazor_kd/kd_logits_wrn-16-2_resnet8_toy-cls.py')
cfg.val_dataloader.dataset.data_root = 'data/toy_cls_bench/'
cfg.val_dataloader.num_workers = 0; cfg.val_dataloader.persistent_workers = False
with DefaultScope.overwrite_default_scope('mmpretrain'):
    loader = Runner.build_dataloader(cfg.val_dataloader)
for label, drop in (('fixed (config normalisation)', False), ('before the fix (no teacher pp)', True)):
    model = copy.deepcopy(cfg.model.to_dict())
    model['teacher_ckpt'] = 'work_dirs/benchmark/cls/x1/teacher-e30/epoch_30.pth'
    with DefaultScope.overwrite_default_scope('mmrazor'):
        algo = MODELS.build(model)
    if drop:
        from mmpretrain.models import ClsDataPreprocessor
        algo.teacher.data_preprocessor = ClsDataPreprocessor()
        from kd_plugins.models.algorithms.preprocess_aware_distill import preprocess_signature, TeacherInputsPreprocessor
        algo.data_preprocessor = TeacherInputsPreprocessor(algo.data_preprocessor, algo.teacher.data_preprocessor)
        algo.teacher_own_preprocess = True
    algo.eval(); hit = n = 0
    with torch.no_grad():
        for i, batch in enumerate(loader):
            data = algo.data_preprocessor(batch, True)
            t_in, _ = algo.teacher_batch(data['inputs'], data['data_samples'])
            logits = algo.teacher(t_in, mode='tensor')
            y = torch.cat([d.gt_label for d in data['data_samples']])
            hit += (logits.argmax(1) == y).sum().item(); n += len(y)
            if n >= 512: break
    print(label, 'teacher top-1 on', n, 'val images:', hit / n)
