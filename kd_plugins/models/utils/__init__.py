from .config_checks import (DistillConfigError, check_feature_channels,
                            check_level_counts, check_num_classes, check_number,
                            check_recorder_sources, check_teacher_ckpt)

__all__ = ['DistillConfigError', 'check_feature_channels', 'check_level_counts',
           'check_num_classes', 'check_number', 'check_recorder_sources', 'check_teacher_ckpt']
