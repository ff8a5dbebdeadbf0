"""The README's Python quick start runs as written."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

README = Path(__file__).resolve().parents[2] / "README.md"


def quick_start() -> str:
    text = README.read_text(encoding="utf-8")
    section = text.split("## Python quick start", 1)[1].split("\n## ", 1)[0]
    blocks: list[str] = re.findall(r"```python\n(.*?)```", section, flags=re.S)
    assert len(blocks) == 1, "the section has one Python example"
    return blocks[0]


def test_quick_start_runs_as_written() -> None:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(quick_start(), str(README), "exec"), {"__name__": "readme"})
    lines = out.getvalue().splitlines()
    assert lines[0] == "4 of 5 fit"
    assert len([line for line in lines if line.startswith("start ")]) == 4
    assert "i-5 waits: 0/2 hosts fit: cpu: 2 hosts" in lines
    assert "i-5 placed on host-3" in lines
    assert lines[-1] == "refused: unknown app nope"


def test_comments_match_the_output() -> None:
    # Every "# ..." comment that shows output names a line the example prints.
    code = quick_start()
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code, str(README), "exec"), {"__name__": "readme"})
    printed = out.getvalue()
    for line in code.splitlines():
        if "print(" in line and "#" in line.split("print(", 1)[1]:
            shown = line.rsplit("#", 1)[1].strip()
            assert shown in printed, shown
