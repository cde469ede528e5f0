# Dataset helpers and registrations for kd_plugins.
from .data_free_placeholder import DataFreePlaceholderDataset
from .semi_sampler import (SemiGroupMultiSourceSampler, SemiMultiSourceSampler,
                           check_semi_sources)

__all__ = ['DataFreePlaceholderDataset', 'SemiGroupMultiSourceSampler',
           'SemiMultiSourceSampler', 'check_semi_sources']
