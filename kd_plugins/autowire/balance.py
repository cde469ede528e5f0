"""The project's starting rule for loss weights, measured on a few batches (issue 22).

Every kd_plugins row of the benchmarks starts from one rule instead of per-method
tuning (tools/benchmark/grad_balance.py measured it by hand): the distillation terms
together pull on the parameters they train with about 0.4-1x the gradient of the task
loss there. Measured here on ``batches``: the gradient norm of the task loss
(``student.*`` / ``teacher.*`` losses of the side) and of each distillation output over
the side's trainable parameters, after one forward of the built algorithm in training
mode (warm-ups counted as finished).

:func:`balanced_weights` turns those norms into weights: a distillation term of weight
``w0`` whose gradient is ``g`` times the task gradient gets ``w0 * share / g``, with
``share = TARGET / (terms on that side)``: the terms of a side pull ``TARGET`` (0.7x) of
the task gradient in all, in equal shares. Every loss here is linear in its weight, so
one measurement at the start weight is enough. A term whose gradient is zero on these
batches (no confident teacher location yet, a feedback gate closed) keeps its start
weight, and the result says so.

Example::

    pulls = loss_pulls(algorithm, batches)       # {'task': 3.1, 'distill.loss_neck0': ..}
    weights, notes = balanced_weights(dict(neck=Term(...)), {'student': pulls})
"""
import copy
import re
from dataclasses import dataclass, field
from typing import Dict, List, Sequence, Tuple

import torch

TARGET = 0.7  # the terms of one side pull 0.7x the task gradient in all


@dataclass
class Term:
    """One weighted distillation term of a written config: the dotted config ``keys``
    of its weight (all take the same value), the loss outputs it makes (``outputs``, a
    regular expression over the algorithm's loss names), its start weight and the side
    whose parameters it trains."""
    keys: List[str]
    outputs: str
    start: float
    side: str = 'student'
    weight: float = field(default=None)

    def __post_init__(self):
        if self.weight is None:
            self.weight = self.start


def build_loader(cfg, split: str = 'train'):
    """The config's ``<split>_dataloader`` built in the config's scope, without worker
    processes (its batch size and sampler as they are)."""
    from mmengine.registry import DefaultScope
    from mmengine.runner import Runner
    loader = copy.deepcopy(cfg.get(f'{split}_dataloader'))
    loader.update(num_workers=0, persistent_workers=False)
    with DefaultScope.overwrite_default_scope(cfg.get('default_scope')):
        return Runner.build_dataloader(loader, seed=0)


def grad_norm(loss, params) -> float:
    """The L2 norm of d loss / d params (0 for a loss without a graph)."""
    if not torch.is_tensor(loss) or not loss.requires_grad:
        return 0.0
    grads = [g for g in torch.autograd.grad(loss, params, retain_graph=True,
                                            allow_unused=True) if g is not None]
    return torch.sqrt(sum((g**2).sum() for g in grads)).item() if grads else 0.0


def flat_sum(value):
    return sum(value) if isinstance(value, (list, tuple)) else value


def loss_pulls(algorithm, batches: Sequence, side: str = 'student') -> Dict[str, float]:
    """``{'task': norm, <loss name>: norm, ...}`` over ``side``'s trainable parameters,
    averaged over ``batches`` (raw dataloader batches; each is preprocessed by the
    algorithm). Losses whose name has no ``loss`` or that start with another side's
    prefix are not distillation terms."""
    from mmengine.logging import MessageHub
    algorithm.train()
    MessageHub.get_current_instance().update_info('iter', 10**9)  # warm-ups done
    net = algorithm.student if side == 'student' else algorithm.teacher
    params = [p for p in net.parameters() if p.requires_grad]
    if not params:
        raise ValueError(f'the {side} has no trainable parameters')
    sums = {}
    for batch in batches:
        data = algorithm.data_preprocessor(copy.deepcopy(batch), True)
        losses = algorithm.loss(data['inputs'], data['data_samples'])
        task = sum(flat_sum(v) for k, v in losses.items()
                   if k.startswith(f'{side}.') and 'loss' in k)
        sums['task'] = sums.get('task', 0.0) + grad_norm(task, params)
        for k, v in losses.items():
            if 'loss' in k and not k.startswith(('student.', 'teacher.')):
                sums[k] = sums.get(k, 0.0) + grad_norm(flat_sum(v), params)
    return {k: v / len(batches) for k, v in sums.items()}


def group_pulls(pulls: Dict[str, float]) -> Dict[str, float]:
    """``distill.loss_neck0..2`` -> one group ``neck`` (the sum of their norms)."""
    out = {}
    for k, v in pulls.items():
        if k == 'task':
            continue
        name = re.sub(r'\d+$', '', k.split('.', 1)[-1])
        out[name] = out.get(name, 0.0) + v
    return out


def balanced_weights(terms: Dict[str, Term], pulls: Dict[str, Dict[str, float]],
                     target: float = TARGET) -> Tuple[Dict[str, float], List[str]]:
    """``({term: weight}, notes)`` by the rule of the module docstring; ``pulls``: side
    -> :func:`loss_pulls` of the algorithm built with the terms' start weights."""
    weights, notes = {}, []
    for side in sorted({t.side for t in terms.values()}):
        mine = {n: t for n, t in terms.items() if t.side == side}
        task = pulls[side]['task']
        share = target / len(mine)
        for name, term in mine.items():
            pattern = re.compile(term.outputs)
            g = sum(v for k, v in pulls[side].items()
                    if k != 'task' and pattern.fullmatch(k))
            if task <= 0 or g <= 0:
                weights[name] = term.start
                notes.append(f'{name}: no gradient on these batches; start weight '
                             f'{term.start:g} kept')
                continue
            ratio = g / task
            weights[name] = float(f'{term.start * share / ratio:.3g}')
            notes.append(f'{name}: {ratio:.3g}x the {side} task gradient at weight '
                         f'{term.start:g} -> {weights[name]:g} ({share:.2f}x)')
    return weights, notes


__all__ = ['TARGET', 'Term', 'balanced_weights', 'build_loader', 'flat_sum', 'grad_norm',
           'group_pulls', 'loss_pulls']
