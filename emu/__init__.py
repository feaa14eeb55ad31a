"""fork-emu: i386 Linux programs on Unicorn with a Python model of the kernel (see README.md)."""

import os

# numpy links OpenBLAS, whose worker threads spin on the second core; the emulator does no linear algebra
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
