"""python -m benchmarks [--quick] [--only NAME] [--no-qemu] [--json PATH]"""

import sys

from .suite import main

sys.exit(main())
