"""NAS-Bench-201 cell search space (Dong & Yang, ICLR 2020)."""
from search_spaces.nasbench201.space import EDGES, OPS, NASBench201Space, edge_liveness

__all__ = ["EDGES", "OPS", "NASBench201Space", "edge_liveness"]
