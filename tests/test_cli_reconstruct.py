"""``csprior reconstruct``: one image measured, reconstructed, saved and scored."""
import numpy as np
import pytest
from skimage.io import imread

from csprior.cli import main


def test_reconstruct_saves_png_and_npy(tmp_path, capsys):
    out = tmp_path / "camera.png"
    code = main(["reconstruct", "camera", "--size", "32", "--operator", "inpainting", "--missing", "0.5",
                 "--method", "deep-decoder", "--iterations", "40", "--npy", "--out", str(out)])
    assert code == 0
    saved = imread(out)
    assert saved.shape == (32, 32) and saved.dtype == np.uint8
    assert np.load(out.with_suffix(".npy")).shape == (32, 32)
    assert "PSNR" in capsys.readouterr().out


def test_same_seed_same_image(tmp_path):
    images = []
    for name in ("a.png", "b.png"):
        assert main(["reconstruct", "camera", "--size", "32", "--iterations", "20", "--seed", "3",
                     "--npy", "--out", str(tmp_path / name)]) == 0
        images.append(np.load(tmp_path / name.replace(".png", ".npy")))
    np.testing.assert_array_equal(*images)


def test_bad_input_is_one_line(tmp_path, capsys):
    assert main(["reconstruct", "no-such-image", "--out", str(tmp_path / "x.png")]) == 2
    assert main(["reconstruct", "camera", "--out", str(tmp_path / "x.jpg")]) == 2
    assert main(["reconstruct", "camera", "--ratio", "1.5", "--out", str(tmp_path / "x.png")]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 3 and all(line.startswith("csprior: error:") for line in lines)
    assert "no-such-image" in lines[0] and "--out" in lines[1] and "ratio" in lines[2]


def test_an_independent_ensemble_from_the_command_line(tmp_path, capsys):
    out = tmp_path / "camera.png"
    assert main(["reconstruct", "camera", "--size", "16", "--operator", "denoise", "--method", "deep-decoder",
                 "--iterations", "10", "--ensemble", "2", "--independent", "--out", str(out)]) == 0
    assert "PSNR" in capsys.readouterr().out and imread(out).shape == (16, 16)
    assert main(["reconstruct", "camera", "--method", "tv", "--ensemble", "2", "--out", str(out)]) == 2
    assert main(["reconstruct", "camera", "--ensemble", "0", "--out", str(out)]) == 2
    errors = capsys.readouterr().err.strip().splitlines()
    assert "--ensemble" in errors[0] and "tv" in errors[0] and "--ensemble must be at least 1" in errors[1]


def test_a_mixed_independent_ensemble_from_the_command_line(tmp_path, capsys):
    out = tmp_path / "camera.png"
    assert main(["reconstruct", "camera", "--size", "16", "--operator", "denoise", "--method",
                 "deep-decoder+conv-decoder", "--iterations", "5", "--ensemble", "2", "--independent",
                 "--out", str(out)]) == 0
    assert "deep-decoder+conv-decoder on denoise" in capsys.readouterr().out
    assert main(["reconstruct", "camera", "--method", "deep-decoder+conv-decoder", "--out", str(out)]) == 2
    assert "--independent" in capsys.readouterr().err
    with pytest.raises(SystemExit):  # argparse names the bad value and the choices
        main(["reconstruct", "camera", "--method", "deep-decoder+tv", "--out", str(out)])
    assert "named priors joined by +" in capsys.readouterr().err


def test_wiener_refinement_and_its_control_from_the_command_line(tmp_path, capsys):
    out = tmp_path / "camera.png"
    assert main(["reconstruct", "camera", "--size", "32", "--operator", "denoise", "--method", "deep-decoder",
                 "--iterations", "10", "--wiener", "--npy", "--out", str(out)]) == 0
    assert main(["reconstruct", "camera", "--size", "32", "--operator", "denoise", "--method", "deep-decoder",
                 "--iterations", "10", "--npy", "--out", str(tmp_path / "plain.png")]) == 0
    assert not np.allclose(np.load(out.with_suffix(".npy")), np.load(tmp_path / "plain.npy"))
    assert main(["reconstruct", "camera", "--size", "32", "--operator", "denoise", "--method", "dct-wiener",
                 "--out", str(out)]) == 0
    assert capsys.readouterr().out.count("PSNR") == 3
    assert main(["reconstruct", "camera", "--wiener", "--out", str(out)]) == 2  # Gaussian measurements
    assert "--operator denoise" in capsys.readouterr().err


def test_an_interrupted_command_continues_from_its_checkpoint(tmp_path, monkeypatch):
    import sys

    from csprior import resumable

    engine = sys.modules["csprior.reconstruct"]
    monkeypatch.setattr(resumable, "SAVE_EVERY_SECONDS", 0)
    command = ["reconstruct", "camera", "--size", "16", "--method", "deep-decoder", "--iterations", "30", "--npy"]
    assert main([*command, "--out", str(tmp_path / "whole.png")]) == 0
    watch, calls = engine._watch, []

    def interrupting_watch(*args):
        calls.append(1)
        if len(calls) == 12:
            raise KeyboardInterrupt
        return watch(*args)
    monkeypatch.setattr(engine, "_watch", interrupting_watch)
    checkpoint, out = tmp_path / "saved", tmp_path / "resumed.png"
    assert main([*command, "--checkpoint", str(checkpoint), "--out", str(out)]) == 130
    assert (checkpoint / "fit-0.pt").exists() and not out.exists()
    monkeypatch.setattr(engine, "_watch", watch)
    assert main([*command, "--checkpoint", str(checkpoint), "--out", str(out)]) == 0
    np.testing.assert_array_equal(np.load(tmp_path / "resumed.npy"), np.load(tmp_path / "whole.npy"))
    assert not checkpoint.exists()  # removed once the result was saved


def test_a_checkpoint_of_another_problem_is_a_one_line_error(tmp_path, capsys):
    checkpoint = tmp_path / "saved"
    assert main(["reconstruct", "camera", "--size", "16", "--iterations", "5", "--method", "deep-decoder",
                 "--checkpoint", str(checkpoint), "--out", str(tmp_path / "a.png")]) == 0
    checkpoint.mkdir()
    (checkpoint / "fit-0.pt").write_bytes(b"damaged")
    assert main(["reconstruct", "camera", "--size", "16", "--iterations", "5", "--method", "deep-decoder",
                 "--checkpoint", str(checkpoint), "--out", str(tmp_path / "b.png")]) == 2
    assert "fit-0.pt cannot be read" in capsys.readouterr().err
    assert (checkpoint / "fit-0.pt").exists()  # kept for the user to inspect or delete
