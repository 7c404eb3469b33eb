"""Test stand-ins for devices this machine does not have: a temporary sshd, and an adb daemon stand-in.

Neither is a phone or a board: they run commands on this host, in a temporary folder.
"""
