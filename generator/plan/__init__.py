"""What changed between two validated models, as operations (ops.py), each labelled safe,
validate or destructive (diff.py). It builds on the model alone: the migration writers
(generator/targets/migrations/) print a plan per engine, and generator/migrate/ turns it into
files."""
