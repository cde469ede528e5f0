# Dataset helpers and registrations for kd_plugins.
from . import annotation_checks
from .class_balanced_sampler import ClassBalancedSampler
from .data_free_placeholder import DataFreePlaceholderDataset
from .retrieval import (Cars196Retrieval, CUB200Retrieval, RetrievalListDataset,
                        SOPRetrieval)
from .semi_sampler import (SemiGroupMultiSourceSampler, SemiMultiSourceSampler,
                           check_semi_sources)

# check detection annotation files wherever mmdet / mmengine datasets load them
annotation_checks.install()

__all__ = ['CUB200Retrieval', 'Cars196Retrieval', 'ClassBalancedSampler',
           'DataFreePlaceholderDataset', 'RetrievalListDataset', 'SOPRetrieval',
           'SemiGroupMultiSourceSampler', 'SemiMultiSourceSampler', 'annotation_checks',
           'check_semi_sources']
