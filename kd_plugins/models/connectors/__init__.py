from .channel_selector import ActiveChannelSelector
from .sequential_connector import SequentialConnector

__all__ = ['ActiveChannelSelector', 'SequentialConnector']
