"""liam-erd-schema as installed: the one command (`liam-erd-schema`, cli.py) and, in the wheel,
the rooms that need more than the generator: `liam_erd_schema.connection`, `.ingest` and
`.derive`, with the `schema.yaml` the package was built with.

In a checkout this folder holds the command alone; the rooms are the checkout's top-level
`connection/`, `ingest/` and `derive/`, which the wheel's build places in here, their imports
of each other rewritten to these names (scripts/hatch_build.py). Nothing else is installed at
the top level but `generator`.
"""
