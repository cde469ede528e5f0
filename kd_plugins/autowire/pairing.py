"""Pair a student's levels with a teacher's and wire them as MMRazor distiller parts
(issue 22).

Two levels of the same part (:data:`PARTS`, :mod:`.probe`) pair when their spatial
sizes are equal on the same input (the same stride; a vector level has none); a student level whose size
no teacher level has is left out. Where the channels differ, the student side gets a 1x1
``ConvModuleConnector`` (MMRazor's, no norm, no activation) to the teacher's channels,
as the hand-written configs do. A pair with no level of equal size fails, naming both
lists of sizes.

The wiring (``distiller_wiring``) is what a ``ConfigurableDistiller`` needs: one
``ModuleOutputs`` recorder per recorded module on each side (the neck's levels are
elements ``data_idx`` of one ``neck`` recorder), the connectors, and per pair a loss
``loss_<name><i>`` whose ``preds_S`` / ``preds_T`` read them.

Example::

    pairs = pair_levels(probe(student_cfg), probe(teacher_cfg), part='neck')
    wiring = distiller_wiring(pairs, 'neck')
    # dict(student_recorders=..., teacher_recorders=..., connectors=...,
    #      loss_forward_mappings=..., loss_names=['loss_neck0', ...])
"""
from dataclasses import dataclass
from typing import Callable, List, Optional, Sequence

from .probe import AutowireError, Level

PARTS = ('backbone', 'outputs', 'neck', 'embedding', 'logits')


@dataclass(frozen=True)
class Pair:
    """A student level and the teacher level of the same spatial size."""
    student: Level
    teacher: Level

    @property
    def connector(self) -> Optional[dict]:
        """A 1x1 conv from the student's channels to the teacher's; None if equal."""
        if self.student.channels == self.teacher.channels:
            return None
        return dict(type='ConvModuleConnector', in_channel=self.student.channels,
                    out_channel=self.teacher.channels, kernel_size=1, act_cfg=None,
                    norm_cfg=None)


def _sizes(levels: Sequence[Level]) -> str:
    return ', '.join('x'.join(str(v) for v in lv.size) for lv in levels) or 'none'


def pair_levels(student: Sequence[Level], teacher: Sequence[Level],
                part: str = 'neck') -> List[Pair]:
    """The student's ``part`` levels paired with the teacher's of equal spatial size,
    in the student's order."""
    if part not in PARTS:
        raise AutowireError(f'part: one of {PARTS}, got {part!r}')
    s = [lv for lv in student if lv.part == part]
    t = [lv for lv in teacher if lv.part == part]
    if not s or not t:
        raise AutowireError(
            f'{part}: the student has {len(s)} and the teacher {len(t)} {part} levels; '
            f'both need one to pair (choose a part both models have: '
            f'{", ".join(p for p in PARTS if p != part)})')
    by_size = {}
    for lv in t:
        by_size.setdefault(lv.size, lv)
    pairs = [Pair(lv, by_size[lv.size]) for lv in s if lv.size in by_size]
    if part == 'logits' and pairs and pairs[0].student.channels != \
            pairs[0].teacher.channels:
        raise AutowireError(
            f'logits: the student predicts {pairs[0].student.channels} classes and the '
            f'teacher {pairs[0].teacher.channels}; logit distillation needs the same '
            'classes (a teacher trained on the student\'s label set)')
    if not pairs:
        raise AutowireError(
            f'{part}: no student level has the spatial size of a teacher level on the '
            f'same input (student {_sizes(s)}; teacher {_sizes(t)}): the networks '
            'downsample differently; pair another part or a student with the '
            "teacher's strides")
    return pairs


def _recorder_name(level: Level) -> str:
    return level.source.replace('.', '_')


def distiller_wiring(pairs: Sequence[Pair], name: str,
                     connector: Optional[Callable[[Pair], Optional[dict]]] = None
                     ) -> dict:
    """Recorders, connectors and loss mappings of ``pairs`` (module docstring);
    ``connector(pair)``: the student side's connector config or None (default
    ``Pair.connector``, a 1x1 conv where channels differ)."""
    connector = connector or (lambda pair: pair.connector)
    if not pairs:
        raise AutowireError(f'{name}: no level pairs to wire')
    student_rec, teacher_rec, connectors, mappings = {}, {}, {}, {}
    for i, pair in enumerate(pairs):
        sides = {}
        for side, level, recs in (('S', pair.student, student_rec),
                                  ('T', pair.teacher, teacher_rec)):
            rec = _recorder_name(level)
            recs[rec] = dict(type='ModuleOutputs', source=level.source)
            spec = dict(from_student=side == 'S', recorder=rec)
            if level.index is not None:
                spec['data_idx'] = level.index
            sides[side] = spec
        conn = connector(pair)
        if conn is not None:
            connectors[f'{name}{i}_s'] = conn
            sides['S']['connector'] = f'{name}{i}_s'
        mappings[f'loss_{name}{i}'] = dict(preds_S=sides['S'], preds_T=sides['T'])
    return dict(student_recorders=student_rec, teacher_recorders=teacher_rec,
                connectors=connectors, loss_forward_mappings=mappings,
                loss_names=list(mappings))


__all__ = ['PARTS', 'Pair', 'distiller_wiring', 'pair_levels']
