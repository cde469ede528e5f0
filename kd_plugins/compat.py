"""Fixes for the OpenMMLab stack (mmengine 0.10.7, mmcv 2.1.0, mmrazor 1.0.0) on torch 2.x.

Every fix here is named after the breakage it handles (numbers as in the project's
ENVIRONMENT.md), applied once by :func:`apply` (``import kd_plugins`` calls it first) and
tested in ``tests/test_compat.py``. This module imports nothing of kd_plugins.

1. ``fix_mmrazor_quantization_import``: mmrazor's quantization backend configs use names
   torch 2.x renamed, so ``import mmrazor.models`` raises ``ImportError: torch>=1.13 is not
   installed properly``. While mmrazor is imported, its torch-version gate answers
   "older than 1.13" for torch's own version, so the quantization code sees itself as
   unavailable (as upstream main does by gating it to 1.13.x); the KD parts are unaffected.
2. ``fix_checkpoint_loading``: torch >= 2.6 loads with ``weights_only=True``; Runner
   checkpoints (``message_hub`` holds ``HistoryBuffer``) then fail. Local files load with
   ``weights_only=True``; Runner checkpoints with ``weights_only=True`` plus exactly the
   mmengine/numpy types their message hub holds. Only if that fails, and only if every
   global the file needs is on a short trusted list, a local file is fully unpickled, with
   a log line saying so. Remote URLs keep mmengine's loaders (torch's safe default).
   A local file that is no readable checkpoint (empty, a zip archive cut short by an
   interrupted save or copy, a text file) raises ``CheckpointFileError`` naming the file
   and what was expected, instead of torch's ``KeyError: 101`` / ``PytorchStreamReader``.
3. ``fix_module_inplace_false``: ``BaseAlgorithm.set_module_inplace_false`` walks
   ``_modules`` expecting an ``OrderedDict`` (a plain dict on torch 2.x), so it does nothing
   and an in-place ReLU silently overwrites a recorded conv output.
4. ``fix_datafree_outside_ddp``: ``DataFreeDistillation`` reads
   ``self.generator.module.latent_dim`` and so only runs when wrapped by DDP.
5. ``CPUAwareDistributedDataParallel`` + ``init_dist_for_device``: MMEngine calls
   ``torch.cuda.set_device`` in its pytorch launcher and wraps with
   ``device_ids=[LOCAL_RANK]``; on CPU (gloo) both fail.
7. ``fix_model_cfg_path``: ``teacher=dict(cfg_path='mmdet::...')`` only takes OpenMMLab
   packages and may download (``pretrained=True``). Here ``cfg_path`` also takes a local
   config file or ``kd_plugins::<path under configs/>``; ``pretrained`` must then be False
   or a local checkpoint path. Configs take local checkpoints only (``teacher_ckpt``), which
   ``tests/test_configs.py`` checks for every shipped config.
10. ``fix_empty_dataset_error``: a dataset whose annotation file holds no sample (e.g. an
   empty unlabeled split) fails in mmengine's data serialisation with numpy's ``need at
   least one array to concatenate``; it now raises a ``ValueError`` naming the dataset
   type, its ``ann_file`` and ``filter_cfg``.
11. ``CPUAwareSeparateDistributedDataParallel``: MMEngine's
   ``MMSeparateDistributedDataParallel`` (one DDP per trainable child: GAN-style and
   data-free algorithms with several optimizers) passes the Runner's
   ``device_ids=[LOCAL_RANK]`` to every child's DDP; on CPU (gloo) that fails as in 5.
   This wrapper drops ``device_ids`` / ``output_device`` for a CPU model.
12. ``fix_kd_soft_ce_without_mmcls``: mmrazor's ``KDSoftCELoss`` takes
   ``soft_cross_entropy`` from mmcls, which this stack lacks (mmcls 1.x asserts
   mmcv < 2.1.0), so it holds mmrazor's placeholder class and every config using the
   loss fails on its first forward with a ``TypeError``. The loss now uses mmpretrain's
   ``soft_cross_entropy``: mmcls 1.x's renamed successor, with the same signature
   ``(pred, label, weight, reduction, class_weight, avg_factor)`` and the same maths.
   Tested in ``tests/test_mmrazor_components.py``.
13. ``fix_seg_class_weight_ignore_index``: mmseg 1.2's ``cross_entropy`` with a
   ``class_weight`` averages over ``class_weight[label]`` of every pixel, ignored ones
   included, so any ignored pixel (label 255: padding, a dataset's void) raises
   ``IndexError: index 255 is out of bounds``. The average now counts the ignored
   pixels with weight 0, which is PyTorch's own weighted mean (``F.cross_entropy``).
6, 8, 9 live where they belong: the ``--local-rank`` spelling and import order in
   ``tools/train.py`` / ``tools/test.py`` (6); mmdet-3.x config names in ``configs/``,
   checked by ``tests/test_configs.py`` (8); the teacher's own data preprocessing in
   ``kd_plugins.models.algorithms.PreprocessAwareDistill`` (9).
"""
import contextlib
import logging
import os
import os.path as osp
import pickle
import zipfile

import torch

_APPLIED = {}

# What an MMEngine Runner checkpoint holds beyond tensors: its message hub's
# HistoryBuffer and numpy scalars/arrays. Loaded with torch's weights-only unpickler
# extended by exactly these types (torch.serialization.safe_globals).
def runner_safe_globals():
    import builtins

    import numpy as np
    from mmengine.logging import HistoryBuffer
    core = getattr(np, '_core', None) or np.core
    types = [HistoryBuffer, np.ndarray, np.dtype, core.multiarray.scalar,
             core.multiarray._reconstruct, builtins.getattr]
    types += [type(np.dtype(t)) for t in (np.float16, np.float32, np.float64, np.int8,
                                          np.int16, np.int32, np.int64, np.uint8,
                                          np.bool_)]
    return types


# Only if that fails too: module prefixes whose globals a checkpoint may need to be fully
# unpickled (a local file the user gave); anything else is refused.
TRUSTED_PICKLE_MODULES = ('mmengine.logging.', 'mmengine.structures.', 'numpy.ndarray',
                          'numpy.dtype', 'numpy._core.multiarray.',
                          'numpy.core.multiarray.', 'collections.OrderedDict',
                          'collections.defaultdict', 'builtins.getattr', 'builtins.set',
                          'builtins.frozenset', 'builtins.slice', 'builtins.complex',
                          'mmdet.structures.', 'mmseg.structures.',
                          'mmpretrain.structures.')


def _log(msg, level=logging.INFO):
    try:
        from mmengine.logging import print_log
        print_log(msg, logger='current', level=level)
    except Exception:  # pragma: no cover - mmengine missing
        print(msg)


# 1 ------------------------------------------------------------------------------------
@contextlib.contextmanager
def _torch_gate_says_old(mmrazor_pkg):
    real = mmrazor_pkg.digit_version
    state = getattr(mmrazor_pkg, '_kd_gate_state', None)
    if state is None:
        state = {'active': False}

        def gated_digit_version(version_str, length=4):
            if state['active'] and str(version_str) == str(torch.__version__):
                return real('1.12.0', length)
            return real(version_str, length)

        gated_digit_version.__wrapped__ = real
        mmrazor_pkg.digit_version = gated_digit_version
        mmrazor_pkg._kd_gate_state = state
    state['active'] = True
    try:
        yield
    finally:
        state['active'] = False


def fix_mmrazor_quantization_import():
    import mmrazor
    if mmrazor.digit_version(torch.__version__) < mmrazor.digit_version('1.14.0'):
        return  # torch 1.13.x: upstream code works as written
    with _torch_gate_says_old(mmrazor):
        import mmrazor.engine  # noqa: F401
        import mmrazor.models  # noqa: F401
        import mmrazor.structures  # noqa: F401


# 2 ------------------------------------------------------------------------------------
class UntrustedCheckpointError(pickle.UnpicklingError):
    pass


def unsafe_globals(filename):
    """Globals a checkpoint needs beyond torch's weights-only allow-list."""
    getter = getattr(torch.serialization, 'get_unsafe_globals_in_checkpoint', None)
    if getter is None:  # pragma: no cover - torch < 2.5
        return None
    return getter(filename)


class CheckpointFileError(ValueError):
    """A file given as a checkpoint that torch cannot read (empty, truncated, not one)."""


EXPECTED_CHECKPOINT = ('expected a PyTorch checkpoint written by torch.save (a zip '
                       'archive starting with b"PK", or a legacy pickle starting with '
                       'b"\\x80")')


def check_checkpoint_file(filename):
    """Fail naming ``filename`` when it cannot be a torch checkpoint: empty, a zip
    archive cut short (an interrupted save or copy) or another kind of file."""
    size = osp.getsize(filename)
    if size == 0:
        raise CheckpointFileError(f'checkpoint {filename!r} is empty (0 bytes); '
                                  f'{EXPECTED_CHECKPOINT}')
    with open(filename, 'rb') as f:
        head = f.read(8)
    if head.startswith(b'PK'):
        if not zipfile.is_zipfile(filename):
            raise CheckpointFileError(
                f'checkpoint {filename!r} is a truncated or damaged zip archive '
                f'({size} bytes, no end-of-archive directory): its save or copy was '
                'probably interrupted; use a complete copy or an earlier checkpoint')
    elif not head.startswith(b'\x80'):
        raise CheckpointFileError(f'checkpoint {filename!r} is not a PyTorch checkpoint '
                                  f'(it starts with {head!r}); {EXPECTED_CHECKPOINT}')


def _torch_load(filename, map_location, **kwargs):
    """torch.load whose read errors (beyond the unpickler's refusals) name the file."""
    try:
        return torch.load(filename, map_location=map_location, **kwargs)
    except pickle.UnpicklingError:
        raise
    except (RuntimeError, EOFError, KeyError, ValueError, OSError) as err:
        raise CheckpointFileError(
            f'checkpoint {filename!r} could not be read by torch.load '
            f'({type(err).__name__}: {str(err)[:300]}); {EXPECTED_CHECKPOINT}') from err


def load_local_checkpoint(filename, map_location=None):
    """Load a local checkpoint safely; see fix 2 in this module's docstring. A file
    that is no readable checkpoint raises :class:`CheckpointFileError` naming it."""
    filename = osp.expanduser(filename)
    if not osp.isfile(filename):
        raise FileNotFoundError(f'checkpoint file {filename!r} can not be found.')
    check_checkpoint_file(filename)
    try:
        return _torch_load(filename, map_location, weights_only=True)
    except pickle.UnpicklingError:
        pass
    try:
        with torch.serialization.safe_globals(runner_safe_globals()):
            ckpt = _torch_load(filename, map_location, weights_only=True)
        _log(f'kd_plugins: loaded Runner checkpoint {filename} with weights_only=True '
             '(plus the mmengine/numpy types of its message hub)')
        return ckpt
    except pickle.UnpicklingError as err:
        first_error = err
    needed = unsafe_globals(filename)
    untrusted = [g for g in (needed or [])
                 if not g.startswith(TRUSTED_PICKLE_MODULES)]
    if needed is None or untrusted:
        raise UntrustedCheckpointError(
            f'checkpoint {filename!r} does not load with weights_only=True and needs '
            f'globals outside the trusted OpenMMLab/numpy/torch set: {untrusted}. '
            'Refusing to unpickle it; re-save its state_dict as a plain checkpoint '
            f'(see tools/export_student.py). Original error: {first_error}')
    _log(f'kd_plugins: {filename} is a Runner checkpoint (needs {len(needed)} '
         'mmengine/numpy globals); fully unpickling it because it is a local file '
         'you gave and every global it needs is from a trusted package.')
    return _torch_load(filename, map_location, weights_only=False)


def fix_checkpoint_loading():
    from mmengine.runner.checkpoint import CheckpointLoader
    CheckpointLoader.register_scheme(prefixes='', loader=load_local_checkpoint,
                                     force=True)


# 3 ------------------------------------------------------------------------------------
def _set_module_inplace_false(self, architecture, varstr=None):
    """Turn off ``inplace`` on every submodule (activations, ConvModule, ...)."""
    if not isinstance(architecture, torch.nn.Module):
        return
    for module in architecture.modules():
        if isinstance(getattr(module, 'inplace', None), bool):
            module.inplace = False


def fix_module_inplace_false():
    from mmrazor.models.algorithms.base import BaseAlgorithm
    BaseAlgorithm.set_module_inplace_false = _set_module_inplace_false


# 4 ------------------------------------------------------------------------------------
def fix_datafree_outside_ddp():
    """Give mmrazor's data-free algorithms a generator that answers ``.module``.

    Outside DDP the generator is stored in a thin pass-through container whose ``module``
    attribute is the generator itself: the algorithms' ``self.generator.module.latent_dim``
    then works, calls are forwarded, and parameter names keep the DDP-style ``module.``
    infix that these algorithms' checkpoints have when trained distributed.
    """
    from mmrazor.models.algorithms.distill.configurable import datafree_distillation as dfd

    for cls in (dfd.DataFreeDistillation, dfd.DAFLDataFreeDistillation):
        if getattr(cls.__init__, '_kd_fixed', False):
            continue
        original_init = cls.__init__

        def __init__(self, *args, __orig=original_init, **kwargs):
            __orig(self, *args, **kwargs)
            gen = self.generator
            if not isinstance(getattr(gen, 'module', None), torch.nn.Module):
                self.generator = GeneratorHandle(gen)

        __init__._kd_fixed = True
        cls.__init__ = __init__


class GeneratorHandle(torch.nn.Module):
    """Pass-through container giving a bare generator a DDP-like ``.module``."""

    def __init__(self, module):
        super().__init__()
        self.module = module

    def forward(self, *args, **kwargs):
        return self.module(*args, **kwargs)

    def __getattr__(self, name):
        # attributes of the generator (latent_dim, ...) stay reachable through the
        # handle, also when DDP wraps the handle itself
        try:
            return super().__getattr__(name)
        except AttributeError:
            return getattr(super().__getattr__('module'), name)


# 5 ------------------------------------------------------------------------------------
def _register_cpu_ddp():
    from mmengine.model import MMDistributedDataParallel
    from mmengine.registry import MODEL_WRAPPERS

    if 'CPUAwareDistributedDataParallel' in MODEL_WRAPPERS.module_dict:
        return MODEL_WRAPPERS.get('CPUAwareDistributedDataParallel')

    @MODEL_WRAPPERS.register_module()
    class CPUAwareDistributedDataParallel(MMDistributedDataParallel):
        """MMDistributedDataParallel that drops ``device_ids`` for a CPU model (gloo).

        Use as ``model_wrapper_cfg = dict(type='CPUAwareDistributedDataParallel')``; on
        GPUs it is exactly MMDistributedDataParallel.
        """

        def __init__(self, module, detect_anomalous_params=False, **kwargs):
            first = next(module.parameters(), None)
            if first is None or first.device.type == 'cpu':
                kwargs.pop('device_ids', None)
                kwargs.pop('output_device', None)
            super().__init__(module=module,
                             detect_anomalous_params=detect_anomalous_params,
                             **kwargs)

    return CPUAwareDistributedDataParallel


def init_dist_for_device(launcher, backend=None, timeout_s=1800):
    """Initialise torch.distributed for ``launcher`` ('pytorch'), also without a GPU.

    On a machine with CUDA, MMEngine's own ``init_dist`` runs (nccl). Without CUDA the
    gloo process group is created here, before the Runner, so MMEngine skips its launcher
    (which would call ``torch.cuda.set_device``).
    """
    import datetime

    import torch.distributed as dist
    from mmengine.dist import init_dist
    if launcher == 'none' or dist.is_initialized():
        return
    if torch.cuda.is_available() and backend in (None, 'nccl'):
        init_dist(launcher)
        return
    if launcher != 'pytorch':
        raise ValueError(f'--launcher {launcher!r} without CUDA: only "pytorch" '
                         '(torchrun) is supported on CPU')
    dist.init_process_group(backend=backend or 'gloo',
                            rank=int(os.environ['RANK']),
                            world_size=int(os.environ['WORLD_SIZE']),
                            timeout=datetime.timedelta(seconds=timeout_s))


# 7 ------------------------------------------------------------------------------------
def resolve_config_path(cfg_path):
    """Local path of a config given as a file or ``kd_plugins::<path>``; None otherwise."""
    if cfg_path.startswith('kd_plugins::'):
        rel = cfg_path.split('::', 1)[1]
        pkg_dir = osp.dirname(osp.abspath(__file__))
        for root in (osp.join(pkg_dir, '.mim', 'configs'),
                     osp.join(osp.dirname(pkg_dir), 'configs')):
            if osp.isfile(osp.join(root, rel)):
                return osp.join(root, rel)
        raise FileNotFoundError(f'cfg_path={cfg_path!r}: no {rel} under kd_plugins\' '
                                'configs (looked in the package\'s .mim/configs and the '
                                'source tree\'s configs/)')
    if '::' in cfg_path:
        return None  # an OpenMMLab package: mmengine's own mechanism
    path = osp.expanduser(cfg_path)
    if not osp.isfile(path):
        raise FileNotFoundError(f'cfg_path={cfg_path!r}: config file not found')
    return path


def build_model_from_config_file(cfg_path, pretrained=False, **default_args):
    """Build the ``model`` of a config file (with its ``data_preprocessor``)."""
    from mmengine.config import Config
    from mmengine.registry import DefaultScope
    from mmengine.runner import load_checkpoint
    cfg = Config.fromfile(cfg_path)
    model_cfg = cfg.model
    if 'data_preprocessor' in cfg and 'data_preprocessor' not in model_cfg:
        model_cfg.data_preprocessor = cfg.data_preprocessor
    scope = cfg.get('default_scope', None) or 'mmdet'
    from mmengine.registry import MODELS as ROOT_MODELS
    with DefaultScope.overwrite_default_scope(scope):
        model = ROOT_MODELS.build(model_cfg, default_args=default_args or None)
    if pretrained:
        if pretrained is True or not isinstance(pretrained, str) or '://' in pretrained:
            raise ValueError(f'cfg_path={cfg_path!r}: pretrained must be False or a local '
                             f'checkpoint path, got {pretrained!r} (nothing downloads at '
                             'run time)')
        load_checkpoint(model, pretrained, map_location='cpu')
        model._is_init = True
    return model


def fix_model_cfg_path():
    from mmrazor.registry import MODELS
    original = MODELS.build_func
    if getattr(original, '_kd_fixed', False):
        return

    def build(cfg, registry, default_args=None):
        if cfg.get('cfg_path', None) and not cfg.get('type', None):
            local = resolve_config_path(cfg['cfg_path'])
            if local is not None:
                kwargs = {k: v for k, v in cfg.items() if k not in ('cfg_path', 'pretrained')}
                return build_model_from_config_file(local, cfg.get('pretrained', False),
                                                    **kwargs)
            if cfg.get('pretrained', False):
                raise ValueError(f"{cfg['cfg_path']}: pretrained=True downloads weights; "
                                 'kd_plugins only loads local checkpoints '
                                 '(use teacher_ckpt=/path/to/file.pth)')
        return original(cfg, registry, default_args)

    build._kd_fixed = True
    MODELS.build_func = build


def fix_empty_dataset_error():
    from mmengine.dataset import BaseDataset
    original = BaseDataset._serialize_data
    if getattr(original, '_kd_fixed', False):
        return

    def _serialize_data(self):
        if not self.data_list:
            raise ValueError(
                f'{type(self).__name__}: ann_file {self.ann_file!r} holds no data '
                f'samples (after filter_cfg={self.filter_cfg!r}); check the file, '
                'data_root and data_prefix (an unlabeled set needs '
                'filter_cfg=dict(filter_empty_gt=False))')
        return original(self)

    _serialize_data._kd_fixed = True
    BaseDataset._serialize_data = _serialize_data


# 11 -----------------------------------------------------------------------------------
def _register_cpu_separate_ddp():
    from mmengine.model import MMSeparateDistributedDataParallel
    from mmengine.registry import MODEL_WRAPPERS

    name = 'CPUAwareSeparateDistributedDataParallel'
    if name in MODEL_WRAPPERS.module_dict:
        return MODEL_WRAPPERS.get(name)

    @MODEL_WRAPPERS.register_module()
    class CPUAwareSeparateDistributedDataParallel(MMSeparateDistributedDataParallel):
        """MMSeparateDistributedDataParallel that drops ``device_ids`` for a CPU model.

        Use as ``model_wrapper_cfg = dict(type='CPUAwareSeparateDistributedDataParallel',
        broadcast_buffers=False, find_unused_parameters=True)``; on GPUs it is exactly
        MMSeparateDistributedDataParallel.
        """

        def __init__(self, module, broadcast_buffers=False,
                     find_unused_parameters=False, **kwargs):
            first = next(module.parameters(), None)
            if first is None or first.device.type == 'cpu':
                kwargs.pop('device_ids', None)
                kwargs.pop('output_device', None)
            super().__init__(module=module, broadcast_buffers=broadcast_buffers,
                             find_unused_parameters=find_unused_parameters, **kwargs)

    return CPUAwareSeparateDistributedDataParallel


# 12 -----------------------------------------------------------------------------------
def mmcls_placeholder(obj):
    """Whether ``obj`` is the class mmrazor's ``get_placeholder('mmcls')`` makes."""
    return isinstance(obj, type) and obj.__name__ == 'PlaceHolder' and \
        obj.__module__ == 'mmrazor.utils.placeholder'


def fix_kd_soft_ce_without_mmcls():
    from mmrazor.models.losses import kd_soft_ce_loss
    if not mmcls_placeholder(kd_soft_ce_loss.soft_cross_entropy):
        return  # mmcls is installed: mmrazor imported its function itself
    try:
        from mmpretrain.models.losses.cross_entropy_loss import soft_cross_entropy
    except ImportError as err:  # pragma: no cover - mmpretrain missing
        _log(f'kd_plugins: KDSoftCELoss stays unusable (no mmcls, no mmpretrain: {err})',
             logging.WARNING)
        return
    # KDSoftCELoss reads the module global when it is built (self.cls_criterion)
    kd_soft_ce_loss.soft_cross_entropy = soft_cross_entropy


def fix_seg_class_weight_ignore_index():
    try:
        from mmseg.models.losses import cross_entropy_loss as ce
    except ImportError:  # pragma: no cover - mmseg missing
        return
    original = ce.cross_entropy
    if getattr(original, '_kd_plugins_fixed', False):
        return

    def cross_entropy(pred, label, weight=None, class_weight=None, reduction='mean',
                      avg_factor=None, ignore_index=-100, avg_non_ignore=False):
        if class_weight is not None and avg_factor is None and reduction == 'mean':
            valid = label != ignore_index
            avg_factor = class_weight[label[valid]].sum()
        return original(pred, label, weight=weight, class_weight=class_weight,
                        reduction=reduction, avg_factor=avg_factor,
                        ignore_index=ignore_index, avg_non_ignore=avg_non_ignore)

    cross_entropy._kd_plugins_fixed = True
    # CrossEntropyLoss reads the module global when it is built (self.cls_criterion)
    ce.cross_entropy = cross_entropy


# ---------------------------------------------------------------------------------------
FIXES = (
    ('mmrazor_quantization_import', fix_mmrazor_quantization_import),
    ('checkpoint_loading', fix_checkpoint_loading),
    ('module_inplace_false', fix_module_inplace_false),
    ('datafree_outside_ddp', fix_datafree_outside_ddp),
    ('cpu_ddp_wrapper', _register_cpu_ddp),
    ('model_cfg_path', fix_model_cfg_path),
    ('empty_dataset_error', fix_empty_dataset_error),
    ('cpu_separate_ddp_wrapper', _register_cpu_separate_ddp),
    ('kd_soft_ce_without_mmcls', fix_kd_soft_ce_without_mmcls),
    ('seg_class_weight_ignore_index', fix_seg_class_weight_ignore_index),
)


def apply():
    """Apply every fix once (idempotent). Returns the names applied."""
    for name, fix in FIXES:
        if name not in _APPLIED:
            fix()
            _APPLIED[name] = True
    return tuple(_APPLIED)
