"""Tables on a hand-made results file: mean ± sample std per method × setting, best marked."""
import csv
import io
import statistics

import pytest

from csprior.benchmarks.tables import format_table, summarize


def _record(cell, method, setting, psnr, ssim, seconds, experiment="cs", ratio=0.25):
    return {"cell": cell, "experiment": experiment, "setting": setting, "ratio": ratio, "method": method,
            "metrics": {"psnr": psnr, "ssim": ssim}, "iterations": 10, "seconds": seconds}


RECORDS = [
    _record("1", "dd", "gaussian 25%", 20.0, 0.50, 3.0),
    _record("2", "dd", "gaussian 25%", 24.0, 0.70, 5.0),
    _record("3", "tv", "gaussian 25%", 21.0, 0.80, 1.0),
    _record("4", "tv", "gaussian 25%", 22.0, 0.90, 1.5),
    _record("5", "dd", "gaussian 50%", 30.0, 0.95, 4.0, ratio=0.5),
]


def test_markdown_mean_std_and_best():
    text = format_table(RECORDS, "md")
    dd_std = statistics.stdev([20.0, 24.0])  # 2.83
    tv_ssim_std = statistics.stdev([0.8, 0.9])
    rows = {tuple(c.strip() for c in line.strip("|").split("|")[:3]): line for line in text.splitlines()[2:]}
    dd = rows[("cs", "gaussian 25%", "dd")]
    tv = rows[("cs", "gaussian 25%", "tv")]
    assert f"**22.00 ± {dd_std:.2f}**" in dd  # best PSNR of the setting (22.0 > 21.5)
    assert "21.50 ± 0.71" in tv and "**" not in tv.split("|")[5]
    assert f"**0.850 ± {tv_ssim_std:.3f}**" in tv  # best SSIM
    assert "4 ± 1.41" in dd  # seconds, three significant digits
    single = rows[("cs", "gaussian 50%", "dd")]
    assert "**30.00**" in single and "±" not in single.split("|")[5]  # one cell: no std


def test_csv_has_numbers_and_best_columns():
    rows = list(csv.DictReader(io.StringIO(format_table(RECORDS, "csv"))))
    assert len(rows) == 3
    dd = rows[0]
    assert float(dd["psnr_mean"]) == pytest.approx(22.0)
    assert float(dd["psnr_std"]) == pytest.approx(statistics.stdev([20.0, 24.0]))
    assert float(dd["seconds_mean"]) == pytest.approx(4.0)
    assert (dd["best_psnr"], dd["best_ssim"]) == ("True", "False")
    assert (rows[1]["best_psnr"], rows[1]["best_ssim"]) == ("False", "True")
    assert rows[2]["psnr_std"] == ""


def test_latex_bold_and_escaped():
    text = format_table(RECORDS, "latex")
    assert r"\textbf{22.00 $\pm$ 2.83}" in text
    assert r"gaussian 25\%" in text and text.strip().endswith(r"\end{tabular}")


def test_ties_are_all_marked_and_lower_nmse_wins():
    records = [{"cell": str(i), "experiment": "e", "setting": "s", "ratio": 1, "method": m,
                "metrics": {"psnr": 10.0, "nmse": n}, "seconds": 1} for i, (m, n) in enumerate([("a", 0.2), ("b", 0.1)])]
    rows, metrics = summarize(records)
    assert metrics == ["psnr", "nmse"]
    assert rows[0].best == {"psnr"} and rows[1].best == {"psnr", "nmse"}


def test_bad_format_and_empty():
    with pytest.raises(ValueError, match="format"):
        format_table(RECORDS, "html")
    with pytest.raises(ValueError, match="no results"):
        format_table([], "md")


def test_rows_of_a_setting_stay_together_when_cells_finish_out_of_order():
    interleaved = [RECORDS[0], RECORDS[4], RECORDS[2]]  # 25 %, 50 %, 25 %: a pool's completion order
    rows, _ = summarize(interleaved)
    assert [(row.setting, row.method) for row in rows] == [
        ("gaussian 25%", "dd"), ("gaussian 25%", "tv"), ("gaussian 50%", "dd")]


def test_a_problem_split_over_experiments_is_compared_as_one():
    image = {"dataset": "folder", "size": 128}
    split = [dict(_record("1", "dd", "denoise σ=25", 27.0, 0.7, 1.0, experiment="denoise"),
                  config={"image": {**image, "path": "a.png"}}),
             dict(_record("2", "tv", "denoise σ=50", 25.0, 0.7, 1.0, experiment="denoise"),
                  config={"image": {**image, "path": "a.png"}}),
             dict(_record("3", "dip", "denoise σ=25", 28.0, 0.8, 9.0, experiment="denoise-dip"),
                  config={"image": {**image, "path": "a.png"}})]
    rows, _ = summarize(split)
    assert [(row.setting, row.method) for row in rows] == [
        ("denoise σ=25", "dd"), ("denoise σ=25", "dip"), ("denoise σ=50", "tv")]
    assert "psnr" in rows[1].best and "psnr" not in rows[0].best
