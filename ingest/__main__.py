from .cli import exit_now, main, start_without_pandas

start_without_pandas()
exit_now(main())
