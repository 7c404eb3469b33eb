"""Build hook: compiles the C99 entropy coder (runtimes/c) into the Python extension fsplit_mobile.codec._rans."""
from setuptools import setup

setup()
