"""The ``.wast`` script format: reader (:mod:`.sexpr`), commands (:mod:`.wast`),
values (:mod:`.values`) and runner (:mod:`.run`)."""
from .wast import Command, ModuleCase, ModuleSource, iter_modules, parse_file, parse_script, wast_files

__all__ = ["Command", "ModuleCase", "ModuleSource", "iter_modules", "parse_file", "parse_script",
           "wast_files"]
