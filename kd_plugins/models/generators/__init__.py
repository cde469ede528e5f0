from .image_generator import DataFreeImageGenerator

__all__ = ['DataFreeImageGenerator']
