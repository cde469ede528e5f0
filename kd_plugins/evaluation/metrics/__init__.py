from .boundary import BoundaryFScore, boundary_f_counts

__all__ = ['BoundaryFScore', 'boundary_f_counts']
