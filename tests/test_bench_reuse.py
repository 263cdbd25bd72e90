"""Reusing identical cells from another results folder: copied, not rerun, with their provenance."""
import numpy as np
import pytest

from csprior.benchmarks.results_store import ResultsStore, read_records
from csprior.benchmarks.runner import run_suite
from csprior.cli import main
from test_bench_runner import tiny_suite


def _renamed(path, name):
    path.write_text(path.read_text().replace('name = "tiny"', f'name = "{name}"'))
    return path


def test_identical_cells_are_copied_with_their_provenance(tmp_path, capsys):
    first = tmp_path / "first"
    run_suite(tiny_suite(tmp_path), first, progress=False)
    other = _renamed(tiny_suite(tmp_path, name="other.toml"), "other")
    assert main(["bench", "run", str(other), "--out", str(tmp_path / "second"), "--reuse", str(first)]) == 0
    assert "0 cells run, 0 already done, 4 reused" in capsys.readouterr().out
    originals = {r["cell"]: r for r in read_records(first / "results.jsonl")}
    for record in read_records(tmp_path / "second" / "results.jsonl"):
        original = originals[record["cell"]]
        assert record["suite"] == "other" and record["reused_from"] == {
            "folder": str(first), "suite": "tiny", "experiment": "cs"}
        assert record["metrics"] == original["metrics"] and record["seconds"] == original["seconds"]
        np.testing.assert_array_equal(np.load(tmp_path / "second" / record["image_file"]),
                                      np.load(first / original["image_file"]))
    run_suite(tiny_suite(tmp_path), tmp_path / "third", reuse=[tmp_path / "second"], progress=False)
    assert {r["reused_from"]["folder"] for r in read_records(tmp_path / "third" / "results.jsonl")} == {str(first)}


def test_only_cells_with_the_same_configuration_are_reused(tmp_path):
    first = tmp_path / "first"
    run_suite(tiny_suite(tmp_path, methods=("ls",)), first, progress=False)
    summary = run_suite(tiny_suite(tmp_path, iterations=5, name="b.toml"), tmp_path / "second", reuse=[first],
                        progress=False)
    assert (summary.reused, summary.finished) == (2, 2)  # the least-squares cells; dd was never run
    records = ResultsStore(tmp_path / "second").records()
    assert sorted(("reused_from" in r, r["method"]) for r in records) == [(False, "dd"), (False, "dd"),
                                                                          (True, "ls"), (True, "ls")]


def test_a_folder_without_results_is_named(tmp_path):
    with pytest.raises(ValueError, match="reuse folder .*empty.* has no results.jsonl"):
        run_suite(tiny_suite(tmp_path), tmp_path / "out", reuse=[tmp_path / "empty"], progress=False)
