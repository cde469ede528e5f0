from .sequential_connector import SequentialConnector

__all__ = ['SequentialConnector']
