"""Device side of fsplit-bench: everything in this folder is pushed to the device whole (bundle.py copies the
subpackage, not a list of files), so a module belongs here exactly when the device agent needs it.

Stdlib + numpy only (plus the model runtime the artifact needs, imported lazily by :mod:`.agent`), and nothing
from the host side of ``fsplit_mobile.bench``: the device has no click, paramiko or torch.
"""
