"""NATS-Bench size search space (Dong et al., TPAMI 2021): channel counts of a fixed cell network."""
from search_spaces.nats_size.space import CHANNELS, NATSSizeSpace

__all__ = ["CHANNELS", "NATSSizeSpace"]
