"""cudadraw: boxes, blurs, overlays, text, shapes and masks on video frames where they live.

The extension module (Rust, PyO3) is ``cudadraw.cudadraw``; everything is re-exported
here. See docs/python.md.
"""

from .cudadraw import *  # noqa: F401,F403
from .cudadraw import __version__, HAS_CUDA  # noqa: F401

#: Colour constants, as (r, g, b, a) tuples (any colour argument also takes an int
#: 0xRRGGBBAA or an (r, g, b) tuple).
RED = (255, 0, 0, 255)
GREEN = (0, 255, 0, 255)
BLUE = (0, 0, 255, 255)
WHITE = (255, 255, 255, 255)
BLACK = (0, 0, 0, 255)
