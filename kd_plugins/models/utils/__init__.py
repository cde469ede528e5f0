from . import teacher_checkpoint
from .config_checks import (DistillConfigError, check_feature_channels,
                            check_level_counts, check_num_classes, check_number,
                            check_recorder_sources, check_teacher_ckpt)
from .teacher_checkpoint import TeacherCheckpointError, load_teacher_checkpoint

teacher_checkpoint.install()

__all__ = ['DistillConfigError', 'TeacherCheckpointError', 'check_feature_channels',
           'check_level_counts', 'check_num_classes', 'check_number',
           'check_recorder_sources', 'check_teacher_ckpt', 'load_teacher_checkpoint']
