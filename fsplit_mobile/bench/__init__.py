"""fsplit-bench: per-stage latency and bytes per image of an exported artifact on a host, an SSH board or an
adb device.

Host side: :mod:`.runner` (orchestration), :mod:`.transports`, :mod:`.result`, :mod:`.report`, :mod:`.plots`.
Device side (pushed to the device, stdlib + numpy + one model runtime + the C coder binding):
the :mod:`.device` subpackage (agent, PPM, events), plus ``fsplit_mobile.runtime`` and ``fsplit_mobile.codec``.
This file imports nothing so the device side stays light.
"""
