"""vidtok: video understanding with fewer tokens.

decode -> select -> encode -> compress -> answer. Start with :func:`open_video`.
"""

from .decode import Frames, Video, VideoInfo, open_video
from .errors import VidtokError

__version__ = "0.1.0"
__all__ = ["Frames", "Video", "VideoInfo", "VidtokError", "open_video", "__version__"]
