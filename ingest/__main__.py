import os
import sys

from .cli import main

code = main()
# Out without the interpreter's finalisation: pyarrow may still be reading ahead in a refused
# file on a thread of its own, and tearing that reader down at exit could abort (`terminate
# called without an active exception`, exit 134) or wait forever, after the right message
# (issue 22, item 8). Everything is written, flushed and closed by now.
sys.stdout.flush()
sys.stderr.flush()
os._exit(code)
