"""The ``.wast`` script format: reader (:mod:`.sexpr`), commands (:mod:`.wast`),
values (:mod:`.values`), runner (:mod:`.run`, verdicts in :mod:`.verdict`) and
execution on the JIT (:mod:`.exec`, results matched by :mod:`.match`, the
``spectest`` module in :mod:`.spectest`)."""
from .wast import Command, ModuleCase, ModuleSource, iter_modules, parse_file, parse_script, wast_files

__all__ = ["Command", "ModuleCase", "ModuleSource", "iter_modules", "parse_file", "parse_script",
           "wast_files"]
