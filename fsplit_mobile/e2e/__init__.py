"""The end-to-end study behind ``fsplit-bench e2e``: split computing vs offloading the image, over shaped bandwidth.

Apart from ``fsplit_mobile.bench`` (per-stage latency of one artifact on one device) because it is a study, not a
device benchmark: it needs the teacher, fsplit-serve, network namespaces and image codecs. :mod:`.study` (the
command and its steps), :mod:`.workload` (held-out crops, quality matching), :mod:`.offload` (the offloading
baseline server), :mod:`.server` and :mod:`.probe` (the two processes of a shaped run), :mod:`.netns` (the link),
:mod:`.report` (tables, plot, speedups).
"""
