"""nova: a cloud controller faithful to the first OpenStack Nova."""

import warnings

# eventlet announces its maintenance mode on import; operators need not see it.
warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated", category=Warning)

__version__ = "2011.2.1"
