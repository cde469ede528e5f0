from .boundary import BoundaryFScore, boundary_f_counts
from .retrieval import EmbeddingRecallNMI, kmeans, nmi, recall_at_k

__all__ = ['BoundaryFScore', 'boundary_f_counts', 'EmbeddingRecallNMI', 'kmeans', 'nmi',
           'recall_at_k']
