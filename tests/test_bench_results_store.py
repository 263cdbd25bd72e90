"""The append-only results file: whole lines, torn tails ignored and repaired, strict JSON."""
import json
import os

import numpy as np
import pytest

from csprior.benchmarks.results_store import ResultsStore, read_records


def test_append_and_read_back(tmp_path):
    store = ResultsStore(tmp_path / "out")
    store.prepare_append()
    store.append({"cell": "a", "metrics": {"psnr": 20.5}})
    store.append({"cell": "b", "metrics": {"psnr": float("inf"), "nmse": float("nan")}})
    lines = store.path.read_text().splitlines()
    assert [json.loads(line)["cell"] for line in lines] == ["a", "b"]
    assert json.loads(lines[1])["metrics"] == {"psnr": None, "nmse": None}  # strict JSON
    assert store.completed() == {"a", "b"}
    with pytest.raises(ValueError, match="cell"):
        store.append({"metrics": {}})


def test_torn_final_line_is_ignored_then_cut_before_appending(tmp_path):
    store = ResultsStore(tmp_path)
    store.append({"cell": "a"})
    with open(store.path, "ab") as handle:
        handle.write(b'{"cell": "b", "metr')  # a write cut short by kill -9
    assert [r["cell"] for r in read_records(store.path)] == ["a"]
    store.prepare_append()
    assert store.path.read_bytes().endswith(b"\n")
    store.append({"cell": "c"})
    assert [r["cell"] for r in read_records(store.path)] == ["a", "c"]


def test_damage_in_the_middle_is_an_error(tmp_path):
    path = tmp_path / "results.jsonl"
    path.write_text('{"cell": "a"}\nnot json\n{"cell": "b"}\n')
    with pytest.raises(ValueError, match="line 2"):
        read_records(path)
    path.write_text('[1, 2]\n')
    with pytest.raises(ValueError, match="'cell' key"):
        read_records(path)


def test_duplicates_are_read_once(tmp_path):
    store = ResultsStore(tmp_path)
    for cell, value in (("a", 1), ("a", 2), ("b", 3)):
        store.append({"cell": cell, "value": value})
    assert [(r["cell"], r["value"]) for r in store.records()] == [("a", 1), ("b", 3)]


def test_images_are_written_atomically(tmp_path):
    store = ResultsStore(tmp_path)
    image = np.arange(12, dtype=np.float32).reshape(3, 4)
    path = store.save_image("abc", image)
    assert path == tmp_path / "images" / "abc.npy"
    np.testing.assert_array_equal(store.load_image("abc"), image)
    assert store.load_image("missing") is None
    assert [p.name for p in os.scandir(tmp_path / "images")] == ["abc.npy"]  # no temporary left
