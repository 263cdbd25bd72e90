"""Writing a paper experiment's outputs: CSV and Markdown tables and PNG figures, atomically.

Every file is written to a temporary file in the destination folder and moved into place with
``os.replace``, so an interrupted run never leaves a half-written table or figure behind.
Figures are drawn on matplotlib ``Figure`` objects (Agg canvas, never pyplot), so plotting needs
no display and leaves the caller's matplotlib state alone.

Inside ``with provenance(line):`` (the CLI wraps every experiment in one) each CSV file starts with
the comment line ``# line`` (read it with ``pandas.read_csv(..., comment="#")``) and each Markdown
file carries ``line`` under its title, so every result names the command, machine and date that
made it; called from Python without the block, files carry no such line.
"""
from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from csprior.atomic_file import write_bytes_atomic, write_text_atomic


_PROVENANCE: ContextVar[str | None] = ContextVar("paper_provenance", default=None)


@contextmanager
def provenance(line: str) -> Iterator[None]:
    """Stamp ``line`` (one line: command, machine, date) into every CSV and Markdown file written
    inside the block (see the module docstring)."""
    if "\n" in line:
        raise ValueError("provenance line must be a single line")
    token = _PROVENANCE.set(line)
    try:
        yield
    finally:
        _PROVENANCE.reset(token)


@dataclass
class PaperOutput:
    """What one experiment wrote and the summary the CLI shows.

    Attributes:
        name: the experiment (``"kernels"``, ``"fitting"`` ...).
        table: the Markdown summary table (also part of ``NAME.md``).
        files: every file written, CSV and Markdown first, then the figures.
        seconds: wall time of the experiment.
        notes: remarks for the user (data missing, optional package missing, reduced settings).
    """

    name: str
    table: str
    files: list[Path] = field(default_factory=list)
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)


def write_csv(path: Path, columns: Sequence[str], rows: Iterable[dict]) -> Path:
    """Write ``rows`` (dicts keyed by ``columns``) as a CSV file with a header line."""
    buffer = io.StringIO()
    if _PROVENANCE.get() is not None:
        buffer.write(f"# {_PROVENANCE.get()}\n")
    writer = csv.DictWriter(buffer, fieldnames=list(columns), lineterminator="\n", extrasaction="raise")
    writer.writeheader()
    for row in rows:
        writer.writerow({key: _cell(value) for key, value in row.items()})
    return write_text_atomic(path, buffer.getvalue())


def write_text(path: Path, text: str) -> Path:
    """Write a UTF-8 text (Markdown) file; under ``provenance`` its line follows the title line."""
    line = _PROVENANCE.get()
    if line is not None:
        title, _, rest = text.partition("\n") if text.startswith("# ") else ("", "", text)
        text = f"{title}\n\n{line}\n\n{rest.lstrip(chr(10))}" if title else f"{line}\n\n{text}"
    return write_text_atomic(path, text)


def markdown_table(columns: Sequence[str], rows: Iterable[Sequence]) -> str:
    """A GitHub Markdown table; floats are shown with 4 significant digits."""
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(_shown(value) for value in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def new_figure(rows: int = 1, cols: int = 1, size: tuple[float, float] = (4.0, 3.2)):
    """A ``Figure`` on an Agg canvas and its ``rows × cols`` axes array (always 2-D)."""
    figure = Figure(figsize=(size[0] * cols, size[1] * rows), layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.subplots(rows, cols, squeeze=False)
    return figure, axes


def save_figure(figure: Figure, path: Path, dpi: int = 110) -> Path:
    """Render ``figure`` as PNG to ``path`` (atomically)."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi)
    return write_bytes_atomic(path, buffer.getvalue())


def log_spaced_iterations(total: int, points: int = 120, keep: Sequence[int] = ()) -> list[int]:
    """About ``points`` 1-based iteration numbers spaced evenly on a log axis from 1 to ``total``,
    with every number of ``keep`` (that is ``<= total``) included; sorted, unique."""
    if total < 1:
        return []
    grid = {round(math.exp(math.log(total) * i / max(points - 1, 1))) for i in range(points)}
    grid |= {1, total} | {k for k in keep if 1 <= k <= total}
    return sorted(grid)


def _cell(value):
    return f"{value:.6g}" if isinstance(value, float) else value


def _shown(value) -> str:
    if isinstance(value, float):
        return "—" if math.isnan(value) else f"{value:.4g}"
    return "—" if value is None else str(value)
