"""Tests of ``csprior paper`` (benchmarks/paper): every experiment in a tiny, CI-sized form."""
from __future__ import annotations

import csv
import math

import numpy as np
import pytest
import torch

from csprior.benchmarks.paper import cs, denoising, fitting, kernels, two_layer
from csprior.benchmarks.paper.decoder_1d import DeepDecoder1d
from csprior.benchmarks.paper.fixed_kernel_net import FixedKernelNet
from csprior.benchmarks.paper.images import natural_images, phantom
from csprior.benchmarks.paper.output import log_spaced_iterations, provenance, write_csv, write_text
from csprior.cli import main
from csprior.generators import DeepDecoder


def read_rows(path):
    """The CSV's rows, skipping the ``# Command: ...`` provenance line the CLI puts first."""
    with open(path, newline="", encoding="utf-8") as stream:
        return list(csv.DictReader(line for line in stream if not line.startswith("#")))


def test_kernels_match_the_authors_eigenvalues(tmp_path):
    output = kernels.run(tmp_path, n=300)
    rows = read_rows(tmp_path / "kernels.csv")
    assert list(rows[0])[:4] == ["kernel", "param", "min_eig", "max_eig"]
    assert len(rows) == 6
    # the authors' notebook printed these min/max eigenvalues for n = 300 (quoted in issue 7)
    authors = {("triangle", "1"): (0.1667, 0.1667), ("triangle", "10"): (0.00487, 1.957),
               ("triangle", "30"): (0.00156, 5.896), ("gaussian", "0.005"): (0.0211, 0.496),
               ("gaussian", "0.01"): (0.00915, 0.983), ("gaussian", "0.05"): (0.00177, 4.90)}
    for row in rows:
        low, high = authors[row["kernel"], row["param"]]
        assert float(row["min_eig"]) == pytest.approx(low, rel=0.03)
        assert float(row["max_eig"]) == pytest.approx(high, rel=0.03)
        # the table shows the authors' numbers next to ours with the relative error
        assert float(row["authors_min_eig"]) == low and float(row["authors_max_eig"]) == high
        assert float(row["rel_err_min"]) == pytest.approx(abs(float(row["min_eig"]) / low - 1), abs=1e-5)
    assert {p.name for p in output.files} >= {"kernels.md", "kernels_spectra.png", "kernels_eigenvectors.png"}


def test_dual_kernel_of_a_delta_filter_is_identity_over_six():
    # shifts of a delta are orthonormal: ρ = 0 off the diagonal, 1 on it
    np.testing.assert_allclose(kernels.dual_kernel(np.array([1.0]), 16), np.eye(16) / 6, atol=1e-7)


def test_dual_kernel_leading_eigenvectors_are_low_frequency():
    values, vectors = np.linalg.eigh(kernels.dual_kernel(kernels.gaussian_filter(0.01, 128), 128))
    top = vectors[:, ::-1][:, :5]  # frequencies 0, ±1, ±2 for a circulant kernel
    assert two_layer.low_frequency_share(top, highest=2) == pytest.approx(1.0, abs=1e-6)


def test_low_frequency_share_separates_sinusoids_from_random_vectors():
    n = 256
    t = np.arange(n)
    cosines = np.stack([np.ones(n) / math.sqrt(n)] + [np.cos(2 * np.pi * f * t / n) * math.sqrt(2 / n)
                                                     for f in range(1, 6)], axis=1)
    assert two_layer.low_frequency_share(cosines, highest=5) == pytest.approx(1.0)
    random, _ = np.linalg.qr(np.random.default_rng(0).standard_normal((n, 6)))
    assert two_layer.low_frequency_share(random, highest=5) < 0.2


def test_decoder_1d_shapes_parameters_and_jacobian():
    net = DeepDecoder1d(32, channels=4, depth=2, seed=0)
    assert net().shape == (1, 1, 32)
    assert net.n_parameters == 3 * (16 + 8) + 4
    J = two_layer._dense_jacobian(net)
    params = dict(net.named_parameters())

    def output(*values):
        return torch.func.functional_call(net, dict(zip(params, values)), ())[0, 0]

    blocks = torch.autograd.functional.jacobian(output, tuple(params.values()))
    reference = torch.cat([block.reshape(32, -1) for block in blocks], 1)
    torch.testing.assert_close(J, reference.double(), rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="divisible"):
        DeepDecoder1d(30, depth=2)


def test_two_layer_tiny_run(tmp_path):
    output = two_layer.run(tmp_path, n=64, iterations=12, channels=8, filter_width=3)
    rows = read_rows(tmp_path / "two-layer.csv")
    assert {r["model"] for r in rows} == {"two-layer (k=8, p=3, GD)", "1-D deep decoder (k=8, Adam)"}
    assert all(math.isfinite(float(r["error_clean"])) for r in rows)
    jacobian = read_rows(tmp_path / "two-layer_jacobian.csv")
    assert {int(r["iteration"]) for r in jacobian} == {1, 12}
    assert {p.name for p in output.files} >= {"two-layer_errors.png", "two-layer_singular_vectors.png"}
    with pytest.raises(ValueError, match="signal"):
        two_layer.run(tmp_path, n=64, iterations=2, signal="square")


def test_fixed_kernel_net_matches_the_deep_decoder_parameter_count():
    net = FixedKernelNet((16, 16), channels=8, layers=3)
    assert net().shape == (1, 1, 16, 16)
    assert net.n_parameters == DeepDecoder((16, 16), channels=8, depth=2).n_parameters
    assert "kernel" in dict(net.named_buffers())
    with pytest.raises(ValueError, match="odd"):
        FixedKernelNet((16, 16), kernel=torch.ones(2, 2))


def test_fitting_tiny_run(tmp_path):
    output = fitting.run(tmp_path, data_dir=None, size=16, iterations=4)
    rows = read_rows(tmp_path / "fitting.csv")
    assert {(r["optimizer"], r["architecture"], r["target"]) for r in rows} == {
        (o, a, t) for o in ("sgd", "adam") for a in fitting.ARCHITECTURES for t in ("image", "noise")}
    assert all(float(r["mse"]) >= 0 for r in rows)
    assert output.notes  # the bundled phantom stood in for the data set
    with pytest.raises(ValueError, match="optimizers"):
        fitting.run(tmp_path, size=16, iterations=2, optimizers=("lbfgs",))


def test_denoising_tiny_run(tmp_path):
    denoising.run(tmp_path, data_dir=None, size=32, images=1, channels=(8,), dd_iterations=6, dip_iterations=3,
                  patience=2, baseline_iterations=10)
    rows = read_rows(tmp_path / "denoising.csv")
    methods = {r["method"] for r in rows}
    # k = 8 at 32² (depth 3): 4·(64 + 16) + 8 = 328 parameters for 1024 pixels
    assert {"noisy", "deep decoder k=8 (0.32 param./pixel)", "DIP", "TV"} <= methods
    noisy = next(r for r in rows if r["method"] == "noisy")
    # σ = 25/255 Gaussian noise: PSNR = 20·log10(255/25) ≈ 20.17 dB up to sampling error
    assert float(noisy["psnr"]) == pytest.approx(20 * math.log10(255 / 25), abs=0.5)
    assert (tmp_path / "denoising.md").read_text(encoding="utf-8").startswith("# Denoising")


def test_cs_tiny_run(tmp_path):
    cs.run(tmp_path, data_dir=None, size=32, images=1, ratios=(0.5,), acceleration=4, iterations=6, patience=2,
           baseline_iterations=10)
    rows = read_rows(tmp_path / "cs.csv")
    assert {(r["setting"], r["method"]) for r in rows} == {
        (s, m) for s in ("gaussian 50%", "fourier 4×")
        for m in ("deep decoder k=64", "Lasso (db4)", "TV", "least squares")}
    assert all(math.isfinite(float(r["psnr"])) for r in rows)


def test_set11_and_phantom_come_from_the_data_folder(shared_data):
    images, source = natural_images(shared_data, 2, 16)
    assert [name for name, _ in images] == ["cameraman", "house"]
    assert images[0][1].shape == (16, 16) and "Set11" in source
    image, source = phantom(shared_data, 32)
    assert image.shape == (32, 32) and 0 <= float(image.min()) and float(image.max()) <= 1


TINY_COMMANDS = {
    "kernels": [],
    "two-layer": ["--n", "64", "--iterations", "12", "--channels", "8", "--filter-width", "3"],
    "fitting": ["--size", "16", "--iterations", "4"],
    "denoising": ["--size", "32", "--images", "1", "--channels", "8", "--dd-iterations", "6", "--dip-iterations", "3",
                  "--patience", "2", "--baseline-iterations", "10"],
    "cs": ["--size", "32", "--images", "1", "--ratios", "0.5", "--iterations", "6", "--patience", "2",
           "--baseline-iterations", "10"],
}


@pytest.mark.parametrize("name", list(TINY_COMMANDS))
def test_cli_runs_each_experiment_end_to_end(tmp_path, capsys, monkeypatch, name):
    monkeypatch.delenv("CSPRIOR_DATA", raising=False)  # bundled images: the same run with or without the data
    out = tmp_path / "results"
    assert main(["paper", name, "--out", str(out), *TINY_COMMANDS[name]]) == 0
    printed = capsys.readouterr().out
    assert str(out / f"{name}.csv") in printed and f"{name} finished in" in printed
    command = f"Command: `csprior paper {name} --out {out}"
    # every table names the command that made it: first line of the CSV, under the title of the Markdown
    assert (out / f"{name}.csv").read_text(encoding="utf-8").startswith(f"# {command}")
    markdown = (out / f"{name}.md").read_text(encoding="utf-8").splitlines()
    assert markdown[0].startswith("# ") and markdown[2].startswith(command)
    # a run smaller than the defaults says so in the header
    assert ("Differs from the defaults: --" in markdown[2]) == bool(TINY_COMMANDS[name])
    assert markdown[-1].startswith("Wall time:")
    assert read_rows(out / f"{name}.csv") and list(out.glob(f"{name}*.png"))
    assert not [p.name for p in out.iterdir() if p.name.startswith(".")]  # no temporary file left behind


def test_provenance_line_stamps_csv_and_markdown(tmp_path):
    with provenance("Command: `x`"):
        write_csv(tmp_path / "t.csv", ["a"], [{"a": 1}])
        write_text(tmp_path / "t.md", "# Title\n\nBody\n")
    write_csv(tmp_path / "u.csv", ["a"], [{"a": 1}])
    assert (tmp_path / "t.csv").read_text() == "# Command: `x`\na\n1\n"
    assert (tmp_path / "t.md").read_text() == "# Title\n\nCommand: `x`\n\nBody\n"
    assert (tmp_path / "u.csv").read_text() == "a\n1\n"  # outside the block: no line
    with pytest.raises(ValueError, match="single line"):
        with provenance("two\nlines"):
            pass


@pytest.mark.parametrize("argv, message", [
    (["paper", "two-layer", "--n", "60", "--iterations", "2"], "divisible"),
    (["paper", "fitting", "--size", "16", "--iterations", "1", "--optimizers", "rmsprop"], "optimizers"),
    (["paper", "cs", "--size", "16", "--images", "1", "--ratios", "1.5"], "ratios"),
])
def test_cli_reports_bad_input_in_one_line(tmp_path, capsys, argv, message):
    assert main([*argv[:2], "--out", str(tmp_path), *argv[2:]]) == 2
    error = capsys.readouterr().err
    assert message in error and error.count("\n") == 1


def test_outputs_are_written_atomically(tmp_path):
    write_csv(tmp_path / "t.csv", ["a", "b"], [{"a": 1, "b": 0.5}])
    assert (tmp_path / "t.csv").read_text() == "a,b\n1,0.5\n"
    assert [p.name for p in tmp_path.iterdir()] == ["t.csv"]


def test_log_spaced_iterations_keep_the_checkpoints():
    grid = log_spaced_iterations(3500, points=20, keep=(75, 9999))
    assert grid[0] == 1 and grid[-1] == 3500 and 75 in grid and 9999 not in grid
    assert grid == sorted(set(grid))
