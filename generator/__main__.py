import signal
import sys

try:
    from .cli import main
except KeyboardInterrupt:  # Ctrl-C while the modules load: nothing was touched yet
    print("interrupted; no output was changed", file=sys.stderr)
    sys.exit(130)

try:
    code = main()
finally:
    # The run is decided (written, or undone and reported): a Ctrl-C that lands while the
    # interpreter shuts down must not turn that exit status into a death by SIGINT.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
sys.exit(code)
