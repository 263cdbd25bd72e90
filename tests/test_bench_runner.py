"""The benchmark runner end to end: CLI, refusal to overwrite, kill -9 and resume, pool and Dask."""
import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import torch

from csprior import resumable
from csprior.benchmarks.results_store import ResultsStore, read_records
from csprior.benchmarks.runner import ResultsExistError, run_cell, run_suite
from csprior.benchmarks.suite import expand, load_suite
from csprior.cli import main

TINY = """
name = "tiny"
seeds = {seeds}
metrics = ["psnr", "ssim", "nmse"]

[methods.ls]
method = "least-squares"
iterations = 20

[methods.dd]
method = "deep-decoder"
iterations = {iterations}
early_stopping = "fixed"

[[experiments]]
name = "cs"
images = {{ dataset = "skimage", names = ["camera"], size = 32 }}
operator = {{ kind = "gaussian", ratio = [0.25, 0.5] }}
methods = {methods}
"""


def tiny_suite(tmp_path, seeds=(0,), iterations=20, methods=("ls", "dd"), name="tiny.toml"):
    path = tmp_path / name
    path.write_text(TINY.format(seeds=list(seeds), iterations=iterations, methods=json.dumps(list(methods))))
    return path


def _metrics_by_cell(folder):
    return {(r["cell"], name): value for r in ResultsStore(folder).records() for name, value in r["metrics"].items()}


def test_cli_run_table_plot(tmp_path, capsys):
    suite, out = tiny_suite(tmp_path), tmp_path / "out"
    assert main(["bench", "run", str(suite), "--out", str(out)]) == 0
    cells = expand(load_suite(suite)).cells
    records = read_records(out / "results.jsonl")
    assert [r["cell"] for r in records] == [c.id for c in cells]
    for record in records:
        assert set(record["metrics"]) == {"psnr", "ssim", "nmse"}
        assert record["wall_seconds"] >= record["seconds"] >= 0 and record["stop_reason"] and "torch" in record["versions"]
        assert np.load(out / record["image_file"]).shape == (32, 32)
    reference = np.load(out / records[0]["reference_file"])
    assert reference.shape == (32, 32) and 0 <= reference.min() and reference.max() <= 1

    assert main(["bench", "run", str(suite), "--out", str(out)]) == 2  # never overwrite results
    assert "--resume" in capsys.readouterr().err
    assert main(["bench", "run", str(suite), "--out", str(out), "--resume"]) == 0
    assert "0 cells run, 4 already done" in capsys.readouterr().out
    assert len(read_records(out / "results.jsonl")) == 4

    assert main(["bench", "table", str(out), "--format", "csv"]) == 0
    table = capsys.readouterr().out.splitlines()
    assert table[0].startswith("experiment,setting,ratio,method,n,psnr_mean") and len(table) == 5
    assert main(["bench", "plot", str(out), "--out", str(tmp_path / "figs")]) == 0
    assert {p.name for p in (tmp_path / "figs").iterdir()} == {"psnr_vs_ratio.png", "ssim_vs_ratio.png", "grid_cs.png"}


def test_failing_cell_is_reported_and_retried(tmp_path, capsys):
    suite = tiny_suite(tmp_path, methods=("ls",))
    suite.write_text(suite.read_text().replace("iterations = 20", "iterations = 20\nbogus = 1", 1))
    assert main(["bench", "run", str(suite), "--out", str(tmp_path / "out")]) == 1
    err = capsys.readouterr().err
    assert "failed: cs / gaussian 25% / ls" in err and "bogus" in err
    assert not ResultsStore(tmp_path / "out").has_results()  # failures are not recorded


def test_suites_needing_data_skip_cleanly(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("CSPRIOR_DATA", raising=False)
    assert main(["bench", "run", "denoise", "--out", str(tmp_path / "out")]) == 0
    err = capsys.readouterr().err
    assert "skipped" in err and "CSPRIOR_DATA" in err


def test_killed_run_resumes_without_loss_or_duplicates(tmp_path):
    suite, out = tiny_suite(tmp_path, seeds=(0, 1, 2), iterations=150, methods=("dd",)), tmp_path / "out"
    command = [sys.executable, "-c", "import sys; from csprior.cli import main; sys.exit(main(sys.argv[1:]))",
               "bench", "run", str(suite), "--out", str(out)]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    results = out / "results.jsonl"
    deadline = time.monotonic() + 90
    while not (results.exists() and results.read_bytes().count(b"\n") >= 1):
        assert process.poll() is None, process.stderr.read().decode()
        assert time.monotonic() < deadline, "no cell finished in time"
        time.sleep(0.02)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    before = read_records(results)
    cells = expand(load_suite(suite)).cells
    assert 1 <= len(before) < len(cells), "the run was not interrupted"

    assert main(["bench", "run", str(suite), "--out", str(out), "--resume"]) == 0
    after = read_records(results)
    ids = [r["cell"] for r in after]
    assert len(ids) == len(set(ids)) == len(cells) and set(ids) == {c.id for c in cells}
    assert after[:len(before)] == before  # what was written stays as it was

    # a finished cell rerun gives the same numbers (CPU, same seed, same thread count)
    first = before[0]
    cell = next(c for c in cells if c.id == first["cell"])
    threads = torch.get_num_threads()
    torch.set_num_threads(first["threads"])
    try:
        rerun = run_cell(cell, None)["record"]
    finally:
        torch.set_num_threads(threads)
    assert rerun["metrics"] == first["metrics"] and rerun["iterations"] == first["iterations"]


def test_a_cell_interrupted_mid_fit_continues_from_its_checkpoint(tmp_path, monkeypatch):
    engine = sys.modules["csprior.reconstruct"]
    monkeypatch.setattr(resumable, "SAVE_EVERY_SECONDS", 0)  # save before every iteration
    suite = tiny_suite(tmp_path, iterations=40, methods=("dd",))  # two cells of 40 iterations
    run_suite(suite, tmp_path / "whole", progress=False)
    watch, calls = engine._watch, []

    def counting_watch(*args):
        calls.append(1)
        if len(calls) == 60:  # iteration 19 of the second cell (0-based)
            raise KeyboardInterrupt
        return watch(*args)
    monkeypatch.setattr(engine, "_watch", counting_watch)
    out = tmp_path / "out"
    with pytest.raises(KeyboardInterrupt):
        run_suite(suite, out, progress=False)
    assert len(read_records(out / "results.jsonl")) == 1
    assert [p.name for p in (out / "checkpoints").iterdir()] == [expand(load_suite(suite)).cells[1].id]

    calls.clear()
    assert run_suite(suite, out, resume=True, progress=False).finished == 1
    assert len(calls) == 21  # iterations 19 to 39 only
    assert _metrics_by_cell(out) == _metrics_by_cell(tmp_path / "whole")
    assert not any((out / "checkpoints").iterdir())  # removed once recorded


@pytest.fixture(scope="module")
def serial_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("serial")
    suite = tiny_suite(folder)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        run_suite(suite, folder / "out", progress=False)
    finally:
        torch.set_num_threads(threads)
    return suite, _metrics_by_cell(folder / "out")


def test_process_pool_matches_serial(serial_run, tmp_path):
    suite, expected = serial_run
    summary = run_suite(suite, tmp_path / "out", workers=2, progress=False)
    assert summary.finished == 4 and not summary.failed
    assert _metrics_by_cell(tmp_path / "out") == pytest.approx(expected, rel=1e-6)


def test_dask_cluster_matches_serial(serial_run, tmp_path):
    distributed = pytest.importorskip("dask.distributed")
    suite, expected = serial_run
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=False,
                                      dashboard_address=None) as cluster:
            summary = run_suite(suite, tmp_path / "out", scheduler=cluster.scheduler_address, progress=False)
    finally:
        torch.set_num_threads(threads)
    assert summary.finished == 4 and not summary.failed
    assert _metrics_by_cell(tmp_path / "out") == expected


def test_refuses_existing_results_and_concurrent_runs(tmp_path):
    suite, out = tiny_suite(tmp_path, methods=("ls",)), tmp_path / "out"
    run_suite(suite, out, progress=False)
    with pytest.raises(ResultsExistError, match="already holds results"):
        run_suite(suite, out, progress=False)
    with pytest.raises(ValueError, match="workers"):
        run_suite(suite, tmp_path / "other", workers=0)
