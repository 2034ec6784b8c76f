"""Every built-in layer; importing this package registers them all."""
from .activations import *  # noqa: F401,F403
from .containers import Chain, Graph, Residual, TestTimeAugment
from .conv import *  # noqa: F401,F403
from .dense import Dense
from .dropout import *  # noqa: F401,F403
from .embedding import *  # noqa: F401,F403
from .merge import *  # noqa: F401,F403
from .normalization import *  # noqa: F401,F403
from .pooling import *  # noqa: F401,F403
from .recurrent import *  # noqa: F401,F403
from .reshape import *  # noqa: F401,F403
from .upsampling import *  # noqa: F401,F403
from .transformer import *  # noqa: F401,F403
