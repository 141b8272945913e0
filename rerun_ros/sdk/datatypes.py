"""``rerun.datatypes``: the older name of ``rerun.encodings`` (Rerun 0.37 renamed it)."""
from .encodings import *  # noqa: F401,F403
from .encodings import __all__  # noqa: F401
