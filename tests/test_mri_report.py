"""The real-k-space MRI report: cases, rows and the saved table (zero-filled only, to stay fast)."""
import csv

import pytest

from csprior.benchmarks import mri_report


@pytest.fixture()
def zero_filled_only(monkeypatch):
    monkeypatch.setattr(mri_report, "METHODS", ("zero-filled",))


def test_saved_table_and_csv_carry_the_command(zero_filled_only, shared_data, tmp_path, capsys):
    stem = tmp_path / "results" / "mri"
    mri_report.main(["--data", str(shared_data), "--out", str(tmp_path / "work"), "--cases", "16ch-8x,bart",
                     "--save", str(stem)])
    lines = stem.with_suffix(".csv").read_text(encoding="utf-8").splitlines()
    assert lines[0].startswith("# Command: `python -m csprior.benchmarks.mri_report --data")
    assert "--cases 16ch-8x,bart" in lines[0] and "CPU cores" in lines[0] and "UTC" in lines[0]
    rows = list(csv.DictReader(lines[1:]))
    assert tuple(rows[0]) == mri_report.CSV_COLUMNS
    assert [(r["data"], r["method"]) for r in rows] == [("brain16ch_full", "zero-filled"),
                                                        ("brain8ch_poisson_bart", "zero-filled")]
    assert rows[0]["sampling"] == "8× random, centre 0.04" and rows[1]["sampling"].startswith("as acquired")
    assert all(r["oracle_psnr"] == "" and 0 < float(r["ssim"]) < 1 for r in rows)
    markdown = stem.with_suffix(".md").read_text(encoding="utf-8")
    assert "Command: `python -m csprior.benchmarks.mri_report" in markdown
    assert "| brain16ch_full | 8× random, centre 0.04 | zero-filled |" in markdown
    assert "oracle-stop PSNR (oracle)" in capsys.readouterr().out


def test_unknown_case_is_a_usage_error(tmp_path):
    with pytest.raises(SystemExit):
        mri_report.main(["--out", str(tmp_path), "--cases", "knee"])
