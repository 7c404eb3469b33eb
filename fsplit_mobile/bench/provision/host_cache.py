"""Where provisioning keeps what it downloads and builds on the host (wheels for device platforms, the coder
library, assembled runners): ``$FSPLIT_CACHE_DIR``, else ``$XDG_CACHE_HOME/fsplit-mobile``, else
``~/.cache/fsplit-mobile``. Everything in it is keyed by content, so it can be deleted at any time."""

from __future__ import annotations

import os
from pathlib import Path


def host_cache_dir() -> Path:
    if os.environ.get("FSPLIT_CACHE_DIR"):
        return Path(os.environ["FSPLIT_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "fsplit-mobile"
