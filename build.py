#!/usr/bin/env python3
"""mlperf-submission-builder: build reproducible MLPerf Inference images and run them into a submission tree.

Run `python3 build.py --help`; the README explains each command.
"""

import sys

from msb.cli import main

if __name__ == "__main__":
    sys.exit(main())
