"""Search spaces of regnas: genes, nesting relations and weight-sharing supernets, by name."""
from search_spaces.base import Arch, DefaultProblem, Gene, SearchSpace, Setting
from search_spaces.mobilenetv3 import MobileNetV3Space
from search_spaces.nasbench201 import NASBench201Space
from search_spaces.nats_size import NATSSizeSpace
from search_spaces.registry import get_space, list_spaces, register_space

register_space(NASBench201Space())
register_space(NATSSizeSpace())
register_space(MobileNetV3Space())
# The space a command searches when none is named (one home for the name; the layers above import it).
DEFAULT_SPACE = NASBench201Space.name

__all__ = ["DEFAULT_SPACE", "Arch", "DefaultProblem", "Gene", "SearchSpace", "Setting", "get_space", "list_spaces", "register_space"]
