from .channel_selector import ActiveChannelSelector
from .sequential_connector import SequentialConnector
from .teacher_head import TeacherHeadConnector

__all__ = ['ActiveChannelSelector', 'SequentialConnector', 'TeacherHeadConnector']
