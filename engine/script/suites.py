"""Where the WebAssembly conformance suites are, and how to get them.

The suites are data from the public specification repository
(github.com/WebAssembly/spec), not part of this repository.  Tests and tools look
for them in ``$EXNFUZZ_TESTSUITE`` if set, else in ``../shared/testsuite`` beside the
checkout, laid out as:

==========================  ==========================================  ==============
folder                      from WebAssembly/spec                        commit
==========================  ==========================================  ==============
``spec-wg2.0/core``         tag ``wg-2.0``, ``test/core``                :data:`WG_2_0`
``spec/core``               ``main``, ``test/core`` (bulk-memory in)     :data:`MAIN`
``spec/exceptions``         ``main``: tag, throw, throw_ref, try_table,  :data:`MAIN`
                            instance
==========================  ==========================================  ==============

``python -m engine.script.suites fetch [DIR]`` downloads those commits from GitHub
and lays them out so (where the network allows; it needs nothing but the standard
library); tests that need a suite skip, saying where they looked, when it is absent.
"""
from __future__ import annotations

import argparse
import io
import os
import sys
import tarfile
import urllib.request
from pathlib import Path

WG_2_0 = "fffc6e12fa454e475455a7b58d3b5dc343980c10"
MAIN = "285a9032950cbad6a9f84de11183008e286092a2"
EXCEPTION_FILES = ("tag.wast", "throw.wast", "throw_ref.wast", "try_table.wast", "instance.wast")
ENVIRONMENT = "EXNFUZZ_TESTSUITE"


def location() -> Path:
    """The suites' folder: ``$EXNFUZZ_TESTSUITE``, else ``../shared/testsuite``."""
    given = os.environ.get(ENVIRONMENT)
    if given:
        return Path(given)
    return Path(__file__).resolve().parents[3] / "shared" / "testsuite"


def suite(name: str) -> Path | None:
    """The folder of suite ``name`` (``spec-wg2.0/core``...), or None if absent."""
    path = location() / name
    return path if path.is_dir() else None


def _archive(commit: str) -> tarfile.TarFile:
    url = f"https://github.com/WebAssembly/spec/archive/{commit}.tar.gz"
    with urllib.request.urlopen(url, timeout=120) as response:
        return tarfile.open(fileobj=io.BytesIO(response.read()), mode="r:gz")


def _extract(archive: tarfile.TarFile, source: str, target: Path, only: tuple[str, ...] = ()) -> int:
    """Copy the ``.wast`` files under ``source`` (flattened) into ``target``."""
    target.mkdir(parents=True, exist_ok=True)
    count = 0
    for member in archive.getmembers():
        parts = member.name.split("/", 1)
        if len(parts) < 2 or not parts[1].startswith(source) or not member.name.endswith(".wast"):
            continue
        name = member.name.rsplit("/", 1)[1]
        if only and name not in only:
            continue
        data = archive.extractfile(member)
        if data is not None:
            (target / name).write_bytes(data.read())
            count += 1
    return count


def fetch(destination: Path) -> None:
    """Download the pinned suites into ``destination`` in the layout above."""
    wg = _archive(WG_2_0)
    print(f"spec-wg2.0/core: {_extract(wg, 'test/core/', destination / 'spec-wg2.0' / 'core')} files")
    main = _archive(MAIN)
    print(f"spec/core: {_extract(main, 'test/core/', destination / 'spec' / 'core')} files")
    count = _extract(main, "test/core/", destination / "spec" / "exceptions", EXCEPTION_FILES)
    print(f"spec/exceptions: {count} files")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m engine.script.suites", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    get = commands.add_parser("fetch", help="download the pinned suites from GitHub")
    get.add_argument("dir", nargs="?", type=Path, default=None, help=f"where to (default: {location()})")
    commands.add_parser("where", help="print where the suites are looked for")
    args = parser.parse_args(argv)
    if args.command == "where":
        print(location())
        return 0
    try:
        fetch(args.dir or location())
    except OSError as e:
        print(f"error: cannot fetch the suites ({e}); copy them by hand, or set {ENVIRONMENT}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
