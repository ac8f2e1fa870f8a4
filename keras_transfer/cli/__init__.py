"""The ``keras-transfer`` command line: one file per command."""
