"""Load an exported mmseg segmenter once and run it on decoded images.

:func:`load_segmenter` reads what ``tools/export_student.py`` writes (``student.py``, a
plain mmseg config, and ``student.pth``, ``state_dict`` + ``meta``); an mmengine Runner
checkpoint of a plain mmseg config loads too. The returned :class:`Segmenter` holds the
model in eval mode and answers :meth:`Segmenter.predict` (an RGB ``uint8`` array in, a
class-index mask of the same height and width out) one call at a time: a lock
serialises the forward passes, so request threads may call it concurrently.

Any image size works: the normalised image is padded at the bottom and right to a
multiple of the model's downsampling rate (read off a UNet-style backbone, otherwise
:data:`DEFAULT_SIZE_DIVISOR`), the same way mmseg pads training batches (after
normalisation, with 0), and the logits are cropped back before the arg-max.
"""
import os.path as osp
import threading
import time

import numpy as np

DEFAULT_SIZE_DIVISOR = 32
DEFAULT_OPACITY = 0.5
MAX_CLASSES = 256  # masks are 8-bit PNGs: pixel value = class index
OVERLAY_BAND_PIXELS = 256 * 1024  # pixels blended at once by Segmenter.overlay


class ModelLoadError(RuntimeError):
    """The model could not be served; the message names the file or field at fault."""


def count_parameters(model):
    return int(sum(p.numel() for p in model.parameters()))


def backbone_size_divisor(model, default=DEFAULT_SIZE_DIVISOR):
    """The factor H and W must be divisible by, read off the backbone when it says so.

    mmseg's UNet halves the resolution at each stage ``i >= 1`` whose stride is 2 or
    whose preceding ``downsamples`` entry is set, and refuses inputs not divisible by
    the product; other backbones get ``default`` (enough for the usual 5 halvings).
    """
    backbone = getattr(model, 'backbone', None)
    if all(hasattr(backbone, k) for k in ('num_stages', 'strides', 'downsamples')):
        rate = 1
        for i in range(1, backbone.num_stages):
            if backbone.strides[i] == 2 or backbone.downsamples[i - 1]:
                rate *= 2
        return rate
    return default


def default_palette(num_classes, seed=0):
    """A fixed colour per class for models whose checkpoint and config carry none."""
    rng = np.random.RandomState(seed)
    colours = rng.randint(0, 256, size=(num_classes, 3))
    colours[0] = 0
    return colours.tolist()


def _metainfo_from_config(cfg):
    for split in ('test_dataloader', 'val_dataloader', 'train_dataloader'):
        loader = cfg.get(split, None)
        dataset = loader.get('dataset', None) if isinstance(loader, dict) else None
        meta = dataset.get('metainfo', None) if isinstance(dataset, dict) else None
        if isinstance(meta, dict) and meta.get('classes'):
            return dict(meta)
    return {}


def resolve_classes(num_classes, ckpt_meta, cfg, source_names):
    """Class names and palette: the checkpoint's ``dataset_meta``, else the config's
    dataset ``metainfo``, else ``class_<i>`` names; their count must match the head."""
    meta = (ckpt_meta or {}).get('dataset_meta') or {}
    where = f'the checkpoint meta of {source_names[1]}'
    if not meta.get('classes'):
        meta = _metainfo_from_config(cfg)
        where = f'the dataset metainfo of {source_names[0]}'
    classes = [str(c) for c in meta.get('classes') or ()]
    if not classes:
        classes = [f'class_{i}' for i in range(num_classes)]
        where = 'generated names'
    if len(classes) != num_classes:
        raise ModelLoadError(
            f'{where} lists {len(classes)} classes {classes} but the model\'s '
            f'decode_head.num_classes is {num_classes}')
    palette = meta.get('palette')
    if not palette or len(palette) < num_classes:
        palette = default_palette(num_classes)
    palette = [[int(v) for v in colour[:3]] for colour in palette[:num_classes]]
    return classes, palette


def check_model_files(config, checkpoint):
    """:class:`ModelLoadError` naming the config or checkpoint file that is missing."""
    for what, path in (('config', config), ('checkpoint', checkpoint)):
        if not path or not osp.isfile(path):
            raise ModelLoadError(f'{what} file {path!r} not found')


def _build_model(cfg, config):
    from mmengine.registry import DefaultScope

    import kd_plugins  # noqa: F401  (torch-2.x fixes; registers kd_plugins' modules)
    from mmseg.models import BaseSegmentor
    from mmseg.registry import MODELS

    model_cfg = cfg.get('model', None)
    if not isinstance(model_cfg, dict) or 'type' not in model_cfg:
        raise ModelLoadError(f'config {config!r} has no model')
    if 'architecture' in model_cfg:
        raise ModelLoadError(
            f'config {config!r} is a distillation config; export its student first: '
            'python tools/export_student.py CKPT --config CFG --out DIR, then serve '
            'DIR/student.py with DIR/student.pth')
    model_cfg = model_cfg.copy()
    model_cfg.pop('pretrained', None)
    model_cfg['train_cfg'] = None
    if isinstance(model_cfg.get('backbone'), dict):
        model_cfg['backbone'] = dict(model_cfg['backbone'], init_cfg=None)
    with DefaultScope.overwrite_default_scope(cfg.get('default_scope', 'mmseg')):
        model = MODELS.build(model_cfg)
    if not isinstance(model, BaseSegmentor):
        raise ModelLoadError(f'config {config!r}: model type {model_cfg["type"]!r} is '
                             'not an mmseg segmentor')
    return model


def _load_weights(model, checkpoint, config):
    from mmengine.runner import CheckpointLoader
    try:
        ckpt = CheckpointLoader.load_checkpoint(checkpoint, map_location='cpu')
    except Exception as exc:  # noqa: BLE001  (any unreadable file: say which one)
        raise ModelLoadError(f'checkpoint {checkpoint!r} could not be read: {exc}') \
            from exc
    if not isinstance(ckpt, dict):
        raise ModelLoadError(f'checkpoint {checkpoint!r} holds no state dict')
    state = ckpt.get('state_dict', ckpt)
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        raise ModelLoadError(
            f'checkpoint {checkpoint!r} does not match the model of {config!r}: '
            f'{str(exc).splitlines()[0]} ...') from exc
    meta = ckpt.get('meta', None)
    return meta if isinstance(meta, dict) else {}


def load_segmenter(config, checkpoint, device='cpu', warmup=True):
    """Build the model of ``config``, load ``checkpoint`` into it, return a Segmenter.

    Raises :class:`ModelLoadError` naming the file (missing config / checkpoint, a
    distillation config, a checkpoint that does not fit, a class-count mismatch) and
    for a CUDA device on a machine without one.
    """
    check_model_files(config, checkpoint)
    import torch
    from mmengine.config import Config
    if str(device).startswith('cuda') and not torch.cuda.is_available():
        raise ModelLoadError(f'device {device!r} requested but torch sees no CUDA '
                             'device; use --device cpu')
    try:
        cfg = Config.fromfile(config)
    except Exception as exc:  # noqa: BLE001
        raise ModelLoadError(f'config {config!r} could not be parsed: {exc}') from exc
    model = _build_model(cfg, config)
    meta = _load_weights(model, checkpoint, config)
    if str(device) == 'cpu':
        from mmengine.model import revert_sync_batchnorm
        model = revert_sync_batchnorm(model)
    model.to(device).eval()
    num_classes = int(model.decode_head.num_classes)
    if num_classes > MAX_CLASSES:
        raise ModelLoadError(f'{num_classes} classes do not fit an 8-bit mask PNG '
                             f'(at most {MAX_CLASSES})')
    classes, palette = resolve_classes(num_classes, meta, cfg, (config, checkpoint))
    info = dict(
        config=osp.abspath(config), config_name=osp.basename(config),
        checkpoint=osp.abspath(checkpoint), type=type(model).__name__,
        backbone=type(getattr(model, 'backbone', None)).__name__,
        decode_head=type(model.decode_head).__name__,
        num_params=count_parameters(model), device=str(device),
        torch_threads=torch.get_num_threads(),
        size_divisor=backbone_size_divisor(model),
        exported_from=meta.get('exported_from'), iter=meta.get('iter'))
    segmenter = Segmenter(model, classes, palette, info)
    if warmup:
        segmenter.predict(np.zeros((64, 64, 3), np.uint8))
    return segmenter


class Segmenter:
    """A loaded segmentation model: ``predict`` (thread-safe) and ``overlay``.

    Args:
        model: an mmseg segmentor in eval mode (``data_preprocessor`` + ``inference``).
        classes (list[str]), palette (list[[r, g, b]]): one entry per class.
        info (dict): what the service reports about the model (config, checkpoint,
            type, number of parameters, device, size divisor).
    """

    def __init__(self, model, classes, palette, info):
        self.model = model
        self.classes = list(classes)
        self.palette = [list(c) for c in palette]
        self.info = dict(info)
        self.size_divisor = int(self.info.get('size_divisor') or DEFAULT_SIZE_DIVISOR)
        self._lock = threading.Lock()
        self._colours = np.asarray(self.palette, np.float32)

    def predict(self, rgb):
        """The class index of each pixel (``uint8``, H x W) of an RGB ``uint8`` image
        (H x W x 3)."""
        mask, _ = self.predict_timed(rgb)
        return mask

    def predict_timed(self, rgb):
        """``(mask, inference_ms)``; the time is the model's alone, without lock wait."""
        import torch
        import torch.nn.functional as F
        from mmseg.structures import SegDataSample

        rgb = np.ascontiguousarray(rgb)
        if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
            raise ValueError(f'expected an H x W x 3 uint8 RGB array, got '
                             f'{rgb.dtype} {rgb.shape}')
        h, w = rgb.shape[:2]
        # mmseg models take BGR (as loaded by mmcv) and convert with bgr_to_rgb
        bgr = torch.from_numpy(rgb[:, :, ::-1].copy()).permute(2, 0, 1)
        sample = SegDataSample(metainfo=dict(ori_shape=(h, w), img_shape=(h, w)))
        d = self.size_divisor
        with self._lock:
            start = time.perf_counter()
            with torch.inference_mode():
                data = self.model.data_preprocessor(
                    dict(inputs=[bgr], data_samples=[sample]), False)
                inputs = data['inputs']  # padded already if its test_cfg says so
                pad_h, pad_w = (-inputs.shape[-2]) % d, (-inputs.shape[-1]) % d
                if pad_h or pad_w:
                    inputs = F.pad(inputs, (0, pad_w, 0, pad_h), value=0)
                shape = tuple(inputs.shape[-2:])
                meta = dict(ori_shape=(h, w), img_shape=shape, pad_shape=shape)
                logits = self.model.inference(inputs, [meta])[0, :, :h, :w]
                if logits.shape[0] == 1:  # binary head with a sigmoid output
                    threshold = getattr(self.model.decode_head, 'threshold', 0.5)
                    mask = (logits[0].sigmoid() > threshold).to(torch.uint8)
                else:
                    mask = logits.argmax(dim=0).to(torch.uint8)
                mask = mask.cpu().numpy()
            elapsed_ms = (time.perf_counter() - start) * 1000.0
        return mask, elapsed_ms

    def overlay(self, rgb, mask, opacity=DEFAULT_OPACITY):
        """The image with each pixel blended towards its class colour (``uint8``).

        Blended in bands of rows: the float temporaries of a whole large image would
        take about 16 times its own size (250 MiB for 2000 x 2000)."""
        out = np.empty(rgb.shape, np.uint8)
        rows = max(1, OVERLAY_BAND_PIXELS // max(1, rgb.shape[1]))
        for top in range(0, rgb.shape[0], rows):
            band = slice(top, top + rows)
            blend = rgb[band].astype(np.float32) * (1.0 - opacity) + \
                self._colours[mask[band]] * opacity
            out[band] = np.clip(blend + 0.5, 0, 255)
        return out

    def pixel_counts(self, mask):
        counts = np.bincount(mask.ravel(), minlength=len(self.classes))
        return {name: int(n) for name, n in zip(self.classes, counts)}

    def describe(self):
        """The model, classes and palette as the service reports them (JSON-ready)."""
        return dict(model=dict(self.info), classes=list(self.classes),
                    palette=[list(c) for c in self.palette])
