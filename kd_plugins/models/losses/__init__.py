from .attention_imitation import (AttentionGuidedImitationLoss,
                                  attention_guided_imitation, channel_attention,
                                  spatial_attention)

__all__ = ['AttentionGuidedImitationLoss', 'attention_guided_imitation',
           'channel_attention', 'spatial_attention']
