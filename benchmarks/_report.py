"""Shared benchmark plumbing: appending result rows and writing a section of doc/benchmarks.md.

The tables themselves (and ``split_problem``) live in the one registry, ``datasets.py``.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

DOC = Path(__file__).resolve().parents[1] / "doc" / "benchmarks.md"


def code_version() -> str:
    """HEAD's short commit: rows are labelled with it and resumed only on the same code."""
    out = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"],
        capture_output=True,
        text=True,
        check=False,
        cwd=DOC.parents[1],
    )
    return out.stdout.strip() or "unknown"


def append_row(path: Path, row: dict) -> None:
    """Append one result as a JSON line (the results files are resumable logs).

    Parameters
    ----------
    path : Path
        The JSONL file.
    row : dict
        A JSON-serialisable result.
    """
    with path.open("a") as f:
        f.write(json.dumps(row) + "\n")


def write_section(name: str, text: str, path: Path = DOC) -> None:
    """Replace (or append) the section ``name`` of ``path``, between HTML comment markers.

    Parameters
    ----------
    name : str
        Section name used in the ``<!-- name:start -->`` / ``<!-- name:end -->`` markers.
    text : str
        Markdown of the section.
    path : Path, default doc/benchmarks.md
        The document to update.
    """
    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    block = f"{start}\n{text.strip()}\n{end}"
    current = path.read_text() if path.exists() else "# Benchmarks\n"
    pattern = re.compile(re.escape(start) + ".*?" + re.escape(end), re.DOTALL)
    if pattern.search(current):
        updated = pattern.sub(lambda _: block, current)
    else:
        updated = current.rstrip() + "\n\n" + block + "\n"
    path.write_text(updated)
