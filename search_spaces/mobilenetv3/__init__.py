"""Once-for-all style MobileNetV3 space for 32x32 images (Cai et al., ICLR 2020)."""
from search_spaces.mobilenetv3.space import MobileNetV3Space

__all__ = ["MobileNetV3Space"]
