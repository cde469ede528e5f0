"""An embedding head for deep metric learning with mmpretrain's ``ImageClassifier``.

``ImageClassifier(backbone, neck=GlobalAveragePooling, head=EmbeddingHead)`` is a metric-
learning model: the head maps the pooled feature to a ``embed_dim`` embedding with one
linear layer (``head.fc``, what distillation recorders read), trains it with a pair loss
(``MultiSimilarityLoss`` by default; it needs >= 2 samples of every class in a batch,
see ``ClassBalancedSampler``) and at test time writes the embedding of each image into
its data sample as ``pred_embedding`` for the ``EmbeddingRecallNMI`` metric.

Config::

    model = dict(
        type='ImageClassifier',
        backbone=dict(type='ResNet', depth=18, out_indices=(3, )),
        neck=dict(type='GlobalAveragePooling'),
        head=dict(type='EmbeddingHead', in_channels=512, embed_dim=128,
                  loss=dict(type='MultiSimilarityLoss')))
"""
from typing import List, Optional, Sequence, Tuple, Union

import torch
from mmengine.model import BaseModule
from mmpretrain.registry import MODELS
from mmpretrain.structures import DataSample
from torch import nn

from ..utils.config_checks import check_positive_int


def batch_labels(data_samples: Optional[Sequence[DataSample]], device) -> torch.Tensor:
    """``(N,)`` class labels of a training batch's data samples."""
    if not data_samples or any(getattr(ds, 'gt_label', None) is None
                               for ds in data_samples):
        raise ValueError('metric learning needs the class label of every training '
                         'sample (data_samples with gt_label)')
    return torch.cat([ds.gt_label.reshape(-1) for ds in data_samples]).to(device)


@MODELS.register_module()
class EmbeddingHead(BaseModule):
    """Linear embedding layer + metric-learning loss.

    Args:
        in_channels (int): width of the pooled feature.
        embed_dim (int): embedding size.
        loss (dict): the pair loss, called as ``loss(embeddings, labels)``.
        init_cfg (dict, optional): initialisation of ``fc``.
    """

    def __init__(self, in_channels: int, embed_dim: int = 128,
                 loss: Union[dict, nn.Module] = dict(type='MultiSimilarityLoss'),
                 init_cfg: Optional[dict] = dict(type='Normal', layer='Linear',
                                                 std=0.01)) -> None:
        super().__init__(init_cfg=init_cfg)
        self.in_channels = check_positive_int(in_channels, 'head.in_channels')
        self.embed_dim = check_positive_int(embed_dim, 'head.embed_dim')
        self.loss_module = loss if isinstance(loss, nn.Module) else MODELS.build(loss)
        self.fc = nn.Linear(self.in_channels, self.embed_dim)

    def pre_logits(self, feats: Union[torch.Tensor, Tuple[torch.Tensor]]) -> torch.Tensor:
        """The last neck output (``(N, in_channels)``)."""
        x = feats[-1] if isinstance(feats, (tuple, list)) else feats
        if x.dim() != 2 or x.size(1) != self.in_channels:
            raise ValueError(
                f'EmbeddingHead expects pooled (N, {self.in_channels}) features, got '
                f'{tuple(x.shape)}: check head.in_channels against the backbone width '
                'and use a pooling neck (GlobalAveragePooling)')
        return x

    def forward(self, feats) -> torch.Tensor:
        """``(N, embed_dim)`` embeddings."""
        return self.fc(self.pre_logits(feats))

    def loss(self, feats, data_samples: List[DataSample], **kwargs) -> dict:
        emb = self(feats)
        return dict(loss=self.loss_module(emb, batch_labels(data_samples, emb.device)))

    def predict(self, feats, data_samples: Optional[Sequence[Optional[DataSample]]] = None
                ) -> List[DataSample]:
        emb = self(feats).detach()
        if data_samples is None:
            data_samples = [None] * emb.size(0)
        out = []
        for e, ds in zip(emb, data_samples):
            ds = DataSample() if ds is None else ds
            ds.set_field(e, 'pred_embedding')
            out.append(ds)
        return out
