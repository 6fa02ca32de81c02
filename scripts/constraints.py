"""Write constraints.txt: the exact version of every package that rnnkit and its test
extra need, read from the environment where they are installed (like ``pip freeze``,
but only that closure: what pyproject.toml declares, followed through each installed
package's own requirements, markers evaluated for this interpreter).

Usage (after ``bash scripts/install.sh test``)::

    python scripts/constraints.py            # rewrites constraints.txt
    python scripts/constraints.py --check    # exit 1 if constraints.txt differs

torch comes first. Local version labels are dropped (``2.13.0+cpu`` -> ``2.13.0``): a
constraint without one matches any build, and scripts/install.sh installs torch first.
"""

from __future__ import annotations

import argparse
import sys
from importlib import metadata
from pathlib import Path

try:
    import tomllib
except ModuleNotFoundError:                   # Python 3.10
    import tomli as tomllib  # type: ignore[no-redef]

try:
    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name
except ModuleNotFoundError:                   # pip's own copy
    from pip._vendor.packaging.requirements import Requirement  # type: ignore[no-redef]
    from pip._vendor.packaging.utils import canonicalize_name  # type: ignore[no-redef]

ROOT = Path(__file__).resolve().parent.parent
FIRST = "torch"


def declared(project: dict, extras: list[str]) -> list[Requirement]:
    """The requirements of the project and of ``extras``, its own extras
    (``rnnkit[all]``) expanded."""
    name = canonicalize_name(project["name"])
    optional = project.get("optional-dependencies", {})
    out, todo, done = [Requirement(r) for r in project.get("dependencies", [])], list(extras), set()
    while todo:
        extra = todo.pop()
        if extra in done:
            continue
        done.add(extra)
        if extra not in optional:
            raise SystemExit(f"pyproject.toml declares no extra {extra!r}; it has: {', '.join(optional)}")
        for text in optional[extra]:
            req = Requirement(text)
            if canonicalize_name(req.name) == name:
                todo.extend(req.extras)
            else:
                out.append(req)
    return out


def closure(roots: list[Requirement]) -> dict[str, str]:
    """name -> installed version of every package ``roots`` need, transitively."""
    found: dict[str, tuple[str, set]] = {}
    todo = [(r, "") for r in roots]
    while todo:
        req, parent_extra = todo.pop()
        if req.marker is not None and not req.marker.evaluate({"extra": parent_extra}):
            continue
        try:
            dist = metadata.distribution(req.name)
        except metadata.PackageNotFoundError:
            raise SystemExit(f"{req.name} is required ({req}) but not installed; run `bash scripts/install.sh test` "
                             f"first") from None
        key = canonicalize_name(dist.metadata["Name"])
        before = found.get(key, (dist.version, set()))[1]
        extras = set(req.extras)
        if key in found and extras <= before:
            continue
        found[key] = (dist.version, before | extras)
        for text in dist.requires or []:
            sub = Requirement(text)
            for extra in ["", *sorted(extras)]:
                if sub.marker is None or sub.marker.evaluate({"extra": extra}):
                    todo.append((sub, extra))
                    break
    return {name: version.split("+", 1)[0] for name, (version, _) in found.items()}


def render(pins: dict[str, str], extras: list[str]) -> str:
    names = sorted(pins, key=lambda n: (n != FIRST, n))
    head = [f"# The exact versions CI installs and tests: rnnkit[{','.join(extras)}] and everything it needs,",
            f"# as installed with Python {sys.version_info.major}.{sys.version_info.minor} on Linux. "
            f"Written by `python scripts/constraints.py`;",
            "# used by scripts/install.sh as `pip install -c constraints.txt -e \".[test]\"`."]
    return "\n".join(head + [f"{n}=={pins[n]}" for n in names]) + "\n"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--extras", default="test", help="extras to follow, comma-separated (default: test)")
    ap.add_argument("--out", default=str(ROOT / "constraints.txt"))
    ap.add_argument("--check", action="store_true", help="compare with --out instead of writing it")
    args = ap.parse_args(argv)
    extras = [e for e in args.extras.split(",") if e]
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    text = render(closure(declared(project, extras)), extras)
    out = Path(args.out)
    if args.check:
        current = out.read_text(encoding="utf-8") if out.is_file() else ""
        if current != text:
            print(f"{out} differs from the installed versions; rewrite it with `python scripts/constraints.py`",
                  file=sys.stderr)
            return 1
        return 0
    out.write_text(text, encoding="utf-8")
    print(f"{out}: {len(text.splitlines()) - 3} packages", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
