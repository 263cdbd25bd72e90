"""``python -m csprior.benchmarks.speed``: every timed pair computes one function, and the script
prints its tables (tiny sizes, one iteration: a smoke test, not a timing)."""
import csv

import pytest
import torch

from csprior.benchmarks import freed_memory, speed


@pytest.mark.parametrize("size", [64, 256])
def test_each_pair_computes_the_same_function(size):
    for label, (ours, reference) in speed.model_pairs(size).items():
        if size == 256 and "deepinv" not in label:
            continue  # only deepinv's schedule changes with the size (it doubles every layer at 256²)
        ours, reference = ours.double(), reference.double()
        with torch.no_grad():
            expected = reference(ours.net_input)
            got = ours()
        assert got.shape == expected.shape, label
        assert float((got - expected).norm() / expected.norm()) < 1e-10, label


def test_main_prints_the_tables_and_writes_the_csv(tmp_path, capsys):
    out = tmp_path / "speed.csv"
    speed.main(["--sizes", "32", "--iterations", "1", "--warmup", "0", "--batch", "2", "--batch-size", "8",
                "--models", speed.DEEPINV_ROW, "--csv", str(out)])
    printed = capsys.readouterr().out
    assert f"| {speed.DEEPINV_ROW} | 32² |" in printed
    assert "reference of 'conv-decoder deepinv-arch k=64'" in printed
    assert "allocator: " in printed  # which allocator setting the timings ran under
    rows = list(csv.reader(out.read_text().splitlines()[1:]))
    assert [row[1] for row in rows[1:]] == [speed.DEEPINV_ROW, "deep-decoder", "conv-decoder"]
    assert all(float(row[5]) > 0 for row in rows[1:])


def test_freed_memory_benchmark_runs_each_setting_in_its_own_process(capsys):
    freed_memory.main(["--workloads", "stacked-deep-decoder", "--iterations", "2", "--repeats", "1"])
    printed = capsys.readouterr().out
    rows = [line.split("|")[1:-1] for line in printed.splitlines() if line.startswith("| stacked")]
    assert [row[1].strip() for row in rows] == ["loop it/s", "stacked it/s"]
    assert all(float(value) > 0 for row in rows for value in row[2:])


def test_sweep_grouping_prints_both_ways_and_leaves_the_switch_as_it_was(capsys):
    from csprior.benchmarks import sweep_grouping

    engine = sweep_grouping._engine
    switch = engine._LOOP_CONV_DECODERS_FROM_PIXELS
    sweep_grouping.main(["24x32", "--iterations", "1"])
    row = [line for line in capsys.readouterr().out.splitlines() if line.startswith("| 24×32 |")]
    assert len(row) == 1 and len(row[0].split("|")) == 6
    assert engine._LOOP_CONV_DECODERS_FROM_PIXELS == switch
    with pytest.raises(SystemExit):
        sweep_grouping.main(["24by32"])
