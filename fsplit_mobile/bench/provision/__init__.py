"""Zero-setup devices: make a board that has only its OS (and python3) able to run the bench.

The host probes the device (:mod:`.probe`), assembles the runner the artifact needs for that platform
(:mod:`.runners`: the native ExecuTorch runner, or the slim Python agent with wheels fetched on the host by
:mod:`.wheels` and the C coder as a plain library from :mod:`.coder_lib`), and keeps it on the device under a
content-hash key (:mod:`.device_cache`), reused while it matches.
"""
