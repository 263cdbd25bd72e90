"""Result tables: mean ± standard deviation per experiment × setting × method.

Statistics run over a group's cells (images × seeds); the standard deviation is the sample one
(``ddof = 1``) and is left out for a single cell. In every experiment × setting the best method
per metric (highest PSNR and SSIM, lowest NMSE, ties all marked) is bold in Markdown and LaTeX
and flagged in the CSV's ``best_<metric>`` columns. Seconds are the methods' wall times.
"""
from __future__ import annotations

import csv
import io
import json
import math
import statistics
from dataclasses import dataclass, field

METRIC_ORDER = ("psnr", "ssim", "nmse")
HIGHER_IS_BETTER = {"psnr": True, "ssim": True, "nmse": False}
TITLES = {"psnr": "PSNR (dB)", "ssim": "SSIM", "nmse": "NMSE", "seconds": "seconds", "iterations": "iterations"}
FORMATS_OF = {"psnr": ".2f", "ssim": ".3f", "nmse": ".3g", "seconds": ".3g", "iterations": ".0f"}
FORMATS = ("md", "csv", "latex")


@dataclass
class Stat:
    """Mean and sample standard deviation (None for fewer than two values) of one column."""

    mean: float | None
    std: float | None
    count: int

    @classmethod
    def of(cls, values) -> "Stat":
        """Mean, sample standard deviation and count of the finite numbers among ``values``."""
        values = [float(v) for v in values if v is not None and math.isfinite(float(v))]
        if not values:
            return cls(None, None, 0)
        return cls(statistics.fmean(values), statistics.stdev(values) if len(values) > 1 else None, len(values))


@dataclass
class Row:
    """One experiment × setting × method group of cells.

    Attributes:
        experiment, setting, method: the group.
        ratio: nominal sampling ratio of the setting.
        n: number of cells.
        stats: column name (metric, ``"iterations"``, ``"seconds"``) -> ``Stat``.
        best: metrics in which this method is the best of its setting.
        problem: the setting and the image set (dataset and size, not the single image): rows with
            the same problem are compared, even when a suite splits them over experiments.
    """

    experiment: str
    setting: str
    method: str
    ratio: float
    n: int
    stats: dict[str, Stat]
    best: set[str] = field(default_factory=set)
    problem: str = ""


def summarize(records: list[dict]) -> tuple[list[Row], list[str]]:
    """Group records into rows (problems in first-appearance order) and mark the best per problem.

    Returns the rows and the metric names present in the records.
    """
    groups: dict[tuple[str, str, str], list[dict]] = {}
    for record in records:
        groups.setdefault((record["experiment"], record["setting"], record["method"]), []).append(record)
    present = [m for m in METRIC_ORDER if any(m in r.get("metrics", {}) for r in records)]
    rows = []
    for (experiment, setting, method), members in groups.items():
        stats = {m: Stat.of(r["metrics"].get(m) for r in members) for m in present}
        stats["iterations"] = Stat.of(r.get("iterations") for r in members)
        stats["seconds"] = Stat.of(r.get("seconds") for r in members)
        rows.append(Row(experiment, setting, method, float(members[0].get("ratio", math.nan)), len(members), stats,
                        problem=_problem_key(members[0])))
    # a pool finishes cells out of order: keep each problem's rows together, in first-appearance order
    order = {key: i for i, key in reversed(list(enumerate(row.problem for row in rows)))}
    rows.sort(key=lambda row: order[row.problem])
    _mark_best(rows, present)
    return rows, present


def _problem_key(record: dict) -> str:
    image = {k: v for k, v in record.get("config", {}).get("image", {}).items() if k not in ("path", "name")}
    return json.dumps([record["setting"], image], sort_keys=True)


def _mark_best(rows: list[Row], metrics: list[str]) -> None:
    settings: dict[str, list[Row]] = {}
    for row in rows:
        settings.setdefault(row.problem, []).append(row)
    for members in settings.values():
        for metric in metrics:
            means = [row.stats[metric].mean for row in members if row.stats[metric].mean is not None]
            if not means:
                continue
            target = max(means) if HIGHER_IS_BETTER[metric] else min(means)
            for row in members:
                if row.stats[metric].mean == target:
                    row.best.add(metric)


def format_table(records: list[dict], fmt: str = "md") -> str:
    """The table of ``records`` as Markdown (``"md"``), ``"csv"`` or ``"latex"`` text."""
    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {FORMATS}, got {fmt!r}")
    if not records:
        raise ValueError("no results to tabulate")
    rows, metrics = summarize(records)
    columns = [*metrics, "iterations", "seconds"]
    return {"md": _markdown, "csv": _csv, "latex": _latex}[fmt](rows, metrics, columns)


def _cell_text(stat: Stat, column: str) -> str:
    if stat.mean is None:
        return "–"
    spec = FORMATS_OF[column]
    text = format(stat.mean, spec)
    return text if stat.std is None else f"{text} ± {format(stat.std, spec)}"


def _markdown(rows: list[Row], metrics, columns) -> str:
    header = ["experiment", "setting", "method", "n", *(TITLES[c] for c in columns)]
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(["---"] * 3 + ["--:"] * (len(header) - 3)) + "|"]
    for row in rows:
        cells = [_cell_text(row.stats[c], c) for c in columns]
        cells = [f"**{text}**" if column in row.best else text for text, column in zip(cells, columns)]
        lines.append("| " + " | ".join([row.experiment, row.setting, row.method, str(row.n), *cells]) + " |")
    return "\n".join(lines) + "\n"


def _csv(rows: list[Row], metrics, columns) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    header = ["experiment", "setting", "ratio", "method", "n"]
    for column in columns:
        header += [f"{column}_mean", f"{column}_std"]
    writer.writerow(header + [f"best_{m}" for m in metrics])
    for row in rows:
        values = [row.experiment, row.setting, row.ratio, row.method, row.n]
        for column in columns:
            stat = row.stats[column]
            values += ["" if stat.mean is None else stat.mean, "" if stat.std is None else stat.std]
        writer.writerow(values + [m in row.best for m in metrics])
    return buffer.getvalue()


_LATEX_ESCAPES = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
                  "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}",
                  "σ": r"$\sigma$", "×": r"$\times$", "±": r"$\pm$", "–": "--"}


def _latex_escape(text: str) -> str:
    return "".join(_LATEX_ESCAPES.get(char, char) for char in text)


def _latex(rows: list[Row], metrics, columns) -> str:
    header = ["experiment", "setting", "method", "$n$", *(TITLES[c] for c in columns)]
    lines = [r"\begin{tabular}{lll" + "r" * (len(header) - 3) + "}", r"\toprule",
             " & ".join(_latex_escape(h) if not h.startswith("$") else h for h in header) + r" \\", r"\midrule"]
    for row in rows:
        cells = [_latex_escape(_cell_text(row.stats[c], c)) for c in columns]
        cells = [rf"\textbf{{{text}}}" if column in row.best else text for text, column in zip(cells, columns)]
        lines.append(" & ".join([_latex_escape(row.experiment), _latex_escape(row.setting),
                                 _latex_escape(row.method), str(row.n), *cells]) + r" \\")
    lines += [r"\bottomrule", r"\end{tabular}"]
    return "\n".join(lines) + "\n"
