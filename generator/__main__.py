import sys

try:
    from .cli import main
except KeyboardInterrupt:  # Ctrl-C while the modules load: nothing was touched yet
    print("interrupted; no output was changed", file=sys.stderr)
    sys.exit(130)

sys.exit(main())
