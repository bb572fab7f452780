"""Search spaces of regnas: genes, nesting relations and weight-sharing supernets, by name."""
from search_spaces.base import Arch, Gene, SearchSpace
from search_spaces.nasbench201 import NASBench201Space
from search_spaces.registry import get_space, list_spaces, register_space

register_space(NASBench201Space())

__all__ = ["Arch", "Gene", "SearchSpace", "get_space", "list_spaces", "register_space"]
