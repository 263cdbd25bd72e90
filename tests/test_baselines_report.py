"""The baseline report script: rows for every method and rule, tables written atomically with a header."""
from __future__ import annotations

import csv
import math

import torch

from csprior.benchmarks import baseline_report
from csprior.atomic_file import write_text_atomic


def test_report_rows_tables_and_files(tmp_path):
    images = torch.rand(2, 1, 16, 16, generator=torch.Generator().manual_seed(41))
    rows = baseline_report.run_report(images, [0.5], iterations=5, seed=0, wavelet="haar", wavelet_level=2,
                                      log_progress=lambda line: None)
    assert [(r["method"], r["lam_rule"]) for r in rows] == [
        ("least-squares", "none"), ("lasso-dct", "holdout"), ("lasso-dct", "oracle"),
        ("lasso-haar-L2", "holdout"), ("lasso-haar-L2", "oracle"), ("tv", "holdout"), ("tv", "oracle")]
    assert all(r["n"] == 2 and math.isfinite(r["psnr_mean"]) and 0 <= r["lam_at_grid_edge"] <= 2 for r in rows)
    table = baseline_report.markdown(rows)
    assert table.count("| oracle |") == 3 and table.count("\n") == len(rows) + 1

    path = tmp_path / "out" / "baselines.csv"
    write_text_atomic(path, baseline_report.to_csv(rows, ["Command: x", "Date: y"]))
    lines = path.read_text(encoding="utf-8").splitlines()
    assert lines[:2] == ["# Command: x", "# Date: y"]
    parsed = list(csv.DictReader(lines[2:]))
    assert len(parsed) == len(rows) and parsed[2]["lam_rule"] == "oracle"
    assert [p.name for p in path.parent.iterdir()] == ["baselines.csv"]  # no temporary file left behind
