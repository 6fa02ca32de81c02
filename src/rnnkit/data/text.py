"""Reading text: files, folders and globs of UTF-8 files, checked before anything is
written; the default corpus (the .py files of Python's own standard library)."""

from __future__ import annotations

import glob
import os
import sysconfig
from pathlib import Path

from ..errors import UsageError

# Parts of the standard library left out of the default corpus: tests, installed
# third-party packages, the IDLE editor.
_STDLIB_SKIP = {"site-packages", "dist-packages", "test", "tests", "idlelib", "__pycache__"}


def stdlib_files() -> list[Path]:
    """The .py files of the running Python's standard library, sorted (tests and
    site-packages left out): a corpus every machine with Python has."""
    root = Path(sysconfig.get_paths()["stdlib"])
    files = []
    for folder, subfolders, names in os.walk(root):
        subfolders[:] = [d for d in subfolders if d not in _STDLIB_SKIP]   # never walk site-packages
        files.extend(Path(folder) / n for n in names if n.endswith(".py"))
    files.sort()
    if not files:
        raise UsageError(f"no .py files found in the standard library at {str(root)!r}; pass data.data")
    return files


def resolve_paths(specs, what: str = "data.data") -> list[Path]:
    """Files named by each spec: a file, a folder (every file under it, recursively,
    hidden ones skipped) or a glob pattern. Sorted within each spec; order of specs kept."""
    if isinstance(specs, (str, os.PathLike)):
        specs = [specs]
    out: list[Path] = []
    for spec in specs:
        spec = str(spec)
        path = Path(spec)
        if path.is_file():
            out.append(path)
        elif path.is_dir():
            found = sorted(p for p in path.rglob("*") if p.is_file()
                           and not any(part.startswith(".") for part in p.relative_to(path).parts))
            if not found:
                raise UsageError(f"{what}: folder {spec!r} contains no files")
            out.extend(found)
        elif glob.has_magic(spec):
            found = sorted(Path(p) for p in glob.glob(spec, recursive=True) if Path(p).is_file())
            if not found:
                raise UsageError(f"{what}: pattern {spec!r} matches no files")
            out.extend(found)
        else:
            raise UsageError(f"{what}: {spec!r} does not exist (expected a file, a folder or a glob)")
    return out


def files_with_extensions(specs, known, kind: str, what: str = "data.data") -> list[Path]:
    """Files named by ``specs`` (as :func:`resolve_paths`); under a folder only those
    whose extension is in ``known`` are kept (a README beside the data is skipped), and
    a folder with none of them is an error naming ``kind``."""
    if isinstance(specs, (str, os.PathLike)):
        specs = [specs]
    out: list[Path] = []
    for spec in specs:
        files = resolve_paths([spec], what)
        if Path(str(spec)).is_dir():
            kept = [p for p in files if p.suffix.lower() in known]
            if not kept:
                raise UsageError(f"{what}: folder {str(spec)!r} holds no {kind} ({', '.join(known)}); "
                                 f"found e.g. {str(files[0])!r}")
            files = kept
        out.extend(files)
    return out


def read_text(path: Path, what: str = "data.data") -> str:
    """The file's text, UTF-8 decoded. A binary file (NUL bytes), bytes that are not
    UTF-8 or an empty file raise UsageError naming the file and where."""
    try:
        raw = Path(path).read_bytes()
    except OSError as err:
        raise UsageError(f"{what}: cannot read {str(path)!r}: {err.strerror}") from None
    if not raw.strip():
        raise UsageError(f"{what}: {str(path)!r} is empty")
    nul = raw.find(b"\x00")
    if nul >= 0:
        raise UsageError(f"{what}: {str(path)!r} looks binary (NUL byte at offset {nul}); expected UTF-8 text")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        line = raw.count(b"\n", 0, err.start) + 1
        raise UsageError(f"{what}: {str(path)!r} is not UTF-8 text (byte 0x{raw[err.start]:02x} "
                         f"at line {line}, offset {err.start})") from None
    return text.removeprefix("\ufeff")


def read_corpus(specs, what: str = "data.data", max_chars: int | None = None) -> tuple[str, list[str]]:
    """Every file's text joined in order, and the list of files read. ``specs`` None
    reads the default corpus (the standard library). ``max_chars`` keeps the first
    that many characters."""
    files = stdlib_files() if specs is None else resolve_paths(specs, what)
    parts, total = [], 0
    for path in files:
        if specs is None:  # the default corpus: skip the odd unreadable file quietly
            try:
                text = read_text(path, what)
            except UsageError:
                continue
        else:
            text = read_text(path, what)
        if not text.endswith("\n"):
            text += "\n"
        parts.append(text)
        total += len(text)
        if max_chars is not None and total >= max_chars:
            break
    corpus = "".join(parts)
    if max_chars is not None:
        corpus = corpus[:max_chars]
    return corpus, [str(p) for p in files[:len(parts)]]
