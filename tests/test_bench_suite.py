"""Suite files: validation, expansion into cells, stable ids."""
import hashlib
import json

import pytest

from csprior.benchmarks.suite import cell_id, expand, load_suite, parse_suite, shipped_suites

TINY = """
name = "tiny"
seeds = [0, 1]
metrics = ["psnr"]

[methods.ls]
method = "least-squares"
iterations = 20

[methods.dd]
method = "deep-decoder"
iterations = 5
early_stopping = "fixed"

[[experiments]]
name = "cs"
images = { dataset = "skimage", names = ["camera", "moon"], size = 16 }
operator = { kind = "gaussian", ratio = [0.25, 0.5], noise = 0.01 }
methods = ["ls", "dd"]
"""


def _write(tmp_path, text, name="tiny.toml"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_expansion_is_the_cross_product(tmp_path):
    cells = expand(load_suite(_write(tmp_path, TINY))).cells
    assert len(cells) == 2 * 2 * 2 * 2  # images × ratios × methods × seeds
    assert len({c.id for c in cells}) == len(cells)
    combos = {(c.image_name, c.config["operator"]["ratio"], c.method, c.config["seed"]) for c in cells}
    assert combos == {(i, r, m, s) for i in ("camera", "moon") for r in (0.25, 0.5) for m in ("ls", "dd")
                      for s in (0, 1)}
    first = cells[0]
    assert first.config["operator"] == {"kind": "gaussian", "ratio": 0.25, "noise": 0.01}
    assert first.setting == "gaussian 25% noise 0.01" and first.ratio == 0.25


def test_ids_are_hashes_of_the_canonical_configuration(tmp_path):
    cells = expand(load_suite(_write(tmp_path, TINY))).cells
    for cell in cells:
        text = json.dumps(cell.config, sort_keys=True, separators=(",", ":"))
        assert cell.id == hashlib.sha256(text.encode()).hexdigest()[:16]
    # key order in the file does not matter; any hyper-parameter change does
    reordered = TINY.replace('method = "least-squares"\niterations = 20', 'iterations = 20\nmethod = "least-squares"')
    assert [c.id for c in expand(load_suite(_write(tmp_path, reordered, "b.toml"))).cells] == [c.id for c in cells]
    changed = TINY.replace("iterations = 20", "iterations = 21")
    new_ids = {c.id for c in expand(load_suite(_write(tmp_path, changed, "c.toml"))).cells}
    old_ids = {c.id for c in cells}
    assert len(new_ids - old_ids) == 8 and len(old_ids & new_ids) == 8  # only the ls cells change


def test_cell_id_ignores_dict_order():
    assert cell_id({"a": 1, "b": [1, 2]}) == cell_id({"b": [1, 2], "a": 1})
    assert cell_id({"a": 1}) != cell_id({"a": 2})


@pytest.mark.parametrize("edit, message", [
    (("seeds = [0, 1]", "seeds = [0, 1]\ncolour = 3"), "unknown key"),
    (('method = "least-squares"', 'method = "magic"'), "methods.ls.method"),
    (('method = "least-squares"', 'method = "deep-decoder+tv"'), "named priors joined by"),
    (('methods = ["ls", "dd"]', 'methods = ["ls", "nope"]'), "not defined"),
    (('kind = "gaussian"', 'kind = "xray"'), "operator.kind"),
    (("noise = 0.01", "acceleration = 4"), "unknown key"),
    (('dataset = "skimage"', 'dataset = "web"'), "images.dataset"),
    (('metrics = ["psnr"]', 'metrics = ["lpips"]'), "metrics"),
    (("seeds = [0, 1]", "seeds = []"), "seeds"),
    (("ratio = [0.25, 0.5], ", ""), r"needs the key\(s\) \['ratio'\]"),
    (('dataset = "skimage", names = ["camera", "moon"]', 'dataset = "folder"'), r"images \(folder\) needs"),
    (('methods = ["ls", "dd"]', 'methods = "ls"'), "methods must be a non-empty list"),
])
def test_invalid_suites_name_the_problem(tmp_path, edit, message):
    with pytest.raises(ValueError, match=message):
        load_suite(_write(tmp_path, TINY.replace(*edit)))


def test_methods_must_be_a_table_of_tables():
    with pytest.raises(ValueError, match="methods must be a table of method tables"):
        parse_suite({"name": "x", "methods": ["ls"], "experiments": []})


def test_unknown_suite_and_bad_toml(tmp_path):
    with pytest.raises(FileNotFoundError, match="no shipped suite"):
        load_suite("does-not-exist")
    with pytest.raises(ValueError, match="not valid TOML"):
        load_suite(_write(tmp_path, "name = [", "bad.toml"))


def test_shipped_suites_load_and_skip_without_data(monkeypatch):
    monkeypatch.delenv("CSPRIOR_DATA", raising=False)
    assert {"quick", "cs-natural", "denoise", "mri-real"} <= set(shipped_suites())
    quick = expand(load_suite("quick"))
    assert quick.cells and not quick.skipped
    assert {c.experiment for c in quick.cells} == {"gaussian", "inpainting", "denoise", "mri"}
    for name in ("cs-natural", "denoise", "mri-real"):
        expansion = expand(load_suite(name))
        assert not expansion.cells
        assert expansion.skipped and all("CSPRIOR_DATA" in note for note in expansion.skipped)


def test_folder_suites_expand_with_data(shared_data):
    cells = expand(load_suite("cs-natural"), shared_data).cells
    images = {c.config["image"]["path"] for c in cells}
    assert len(images) == 11 and all(p.startswith("images/set11/") for p in images)
    # 11 images × (3 Gaussian + 3 subsampling + 2 inpainting settings) × 7 methods
    assert len(cells) == 11 * 8 * 7
    mri = expand(load_suite("mri-real"), shared_data).cells
    assert {c.setting for c in mri} == {"mri 4× random", "mri 8× random", "as acquired"}
