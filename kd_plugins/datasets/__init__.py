# Dataset helpers and registrations for kd_plugins.
from .semi_sampler import (SemiGroupMultiSourceSampler, SemiMultiSourceSampler,
                           check_semi_sources)

__all__ = ['SemiGroupMultiSourceSampler', 'SemiMultiSourceSampler',
           'check_semi_sources']
