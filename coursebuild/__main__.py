"""Command line: `python -m coursebuild [--check] [--strict] [--stamp FILE:LINE ...]`."""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from coursebuild.build import build, compare, find_root, sync
from coursebuild.errors import StampError

EPILOG = """\
examples:
  python -m coursebuild                 build everything that changed (what `make build` runs)
  python -m coursebuild --check         exit 1 if a built notebook is out of date (CI)
  python -m coursebuild --check --strict   ... or if a Korean translation is stale
  python -m coursebuild --stamp src/lessons/02_registries.md:41
                                        record that the Korean block at line 41 translates the
                                        current English text (one block per FILE:LINE)

exit status: 0 up to date, 1 out of date (--check) or stale (--strict), 2 a source does not build
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m coursebuild", epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Build course/ (lessons, student labs, landing page) and solutions/ notebooks (en and ko) from their sources.")
    parser.add_argument("--check", action="store_true",
                        help="write nothing; exit 1 if any built notebook differs from its source")
    parser.add_argument("--strict", action="store_true", help="stale Korean translations are errors")
    parser.add_argument("--stamp", metavar="FILE:LINE", action="append",
                        help="mark one re-translated '::: ko' block as current (repeatable)")
    parser.add_argument("--root", type=Path, help="repository root (default: found from the cwd)")
    parser.add_argument("--out", type=Path, help="write the built notebooks under this folder instead")
    parser.add_argument("-q", "--quiet", action="store_true", help="only problems and the summary")
    args = parser.parse_args(argv)

    if args.stamp:
        return _stamp(args.stamp)

    root = (args.root or find_root()).resolve()
    out = (args.out or root).resolve()
    started = time.monotonic()
    result = build(root)
    if not result.ok:
        for error in result.errors:
            print(f"{error.path}:{error.line}: error: {error.message}", file=sys.stderr)
        print(f"build failed: {len(result.errors)} source error(s); nothing was written", file=sys.stderr)
        return 2

    changes = compare(out, result, root) if args.check else sync(out, result, root)
    verb = "out of date" if args.check else "wrote"
    for rel in changes.written:
        print(f"{verb}: {rel}")
    for rel in changes.removed:
        print(f"{'orphan' if args.check else 'removed'}: {rel} (its source is gone)")
    for rel in changes.foreign:
        print(f"not built from any source: {rel}", file=sys.stderr)
    if not args.quiet:
        for rel in changes.unchanged:
            print(f"unchanged: {rel}")
    for stale in result.stale:
        print(f"{stale}", file=sys.stderr)
    if result.stale:
        print(f"{len(result.stale)} stale Korean translation(s): update the Korean text, then "
              "`python -m coursebuild --stamp FILE:LINE` for each", file=sys.stderr)

    seconds = time.monotonic() - started
    print(f"{len(result.sources)} source(s), {len(result.outputs)} notebook(s): "
          f"{len(changes.written)} {'out of date' if args.check else 'written'}, "
          f"{len(changes.unchanged)} unchanged, {len(changes.removed)} "
          f"{'orphaned' if args.check else 'removed'}, {len(result.stale)} stale translation(s) "
          f"[{seconds:.1f} s]")
    status = 0
    if args.check and not changes.up_to_date:
        print("built notebooks are out of date: run `make build` (python -m coursebuild) and commit "
              "the result", file=sys.stderr)
        status = 1
    if not args.check and changes.foreign:
        status = 1
    if args.strict and result.stale:
        status = 1
    return status


def _stamp(targets: list[str]) -> int:
    from coursebuild.stamp import stamp

    status = 0
    for target in targets:
        try:
            print(stamp(target))
        except StampError as e:
            print(f"error: {e}", file=sys.stderr)
            status = 2
    return status


if __name__ == "__main__":
    sys.exit(main())
