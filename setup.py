"""The optional native fast path (emu/_fastpath.c). Without a C compiler the build goes on and the emulator runs its
Python hooks (see emu/fastpath.py); everything else is in pyproject.toml."""

from setuptools import Extension, setup

setup(ext_modules=[Extension("emu._fastpath", sources=["emu/_fastpath.c"], optional=True,
                             extra_compile_args=["-O2", "-fvisibility=default", "-Wall"])])
