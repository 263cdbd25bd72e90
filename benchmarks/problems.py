"""Build the inverse problem of a benchmark cell: the true image, the operator and the measurements.

Image sources (a cell's ``image`` table, key ``dataset``):

- ``"skimage"``: ``name`` of an image bundled with scikit-image (``"camera"``, ``"astronaut"``...),
  resized to ``size``², grey.
- ``"folder"``: ``path`` of an image file, relative to the data folder, resized to ``size``², grey.
- ``"shepp-logan"``: the synthetic MRI phantom at ``size``² (complex64).
- ``"mri"``: ``name`` of a real k-space set under ``<data>/mri`` read by
  ``csprior.datasets.load_mri_set`` (``"brain16ch_full"``: fully sampled 16-coil brain, undersampled
  retrospectively; ``"brain8ch_poisson_bart"``: 8-coil brain as acquired). Coil maps are
  estimated (ESPIRiT) from the measured k-space centre; the reference is the set's magnitude
  reference (RSS of the fully sampled coils, or BART's reconstruction).

Operator kinds (a cell's ``operator`` table, key ``kind``) and their keys:

- ``"gaussian"``: ``ratio`` = m/n, ``noise`` = std of the additive Gaussian noise on ``y``.
- ``"subsample"``: keep a random ``ratio`` of the pixels; ``noise``.
- ``"inpainting"``: a random ``missing`` fraction of the pixels is lost; ``noise``.
- ``"denoise"``: identity with noise of std ``sigma``/255 (the denoising literature's σ).
- ``"mri"``: Cartesian undersampling by fastMRI's ``mask`` (``"random"`` or ``"equispaced"``) at
  ``acceleration`` with ``center_fraction`` (default 0.32/acceleration: fastMRI's 0.08 at 4×,
  0.04 at 8×); ``coils`` simulated coil maps for the phantom (1 = single coil; real data use their
  own coils); ``noise`` relative to the k-space RMS.
- ``"acquired"``: the data's own sampling (real k-space acquired undersampled).

Images are real ``(H, W)`` float32 in [0, 1] (natural) or complex64 ``(H, W)`` (MRI, the
coil-combined image); the operator seed is the cell's seed, the noise uses ``seed + 1``.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from csprior.operators import LinearOperator

DATASETS = {"skimage", "folder", "shepp-logan", "mri"}
OPERATOR_KINDS = {
    "gaussian": {"ratio", "noise"},
    "subsample": {"ratio", "noise"},
    "inpainting": {"missing", "noise"},
    "denoise": {"sigma"},
    "mri": {"acceleration", "center_fraction", "mask", "coils", "noise"},
    "acquired": set(),
}
_NOISE_SEED_OFFSET = 1


@dataclass
class Problem:
    """One inverse problem ``y = A x_true + e``.

    Attributes:
        x_true: the image to recover, ``A.in_shape`` (float32 in [0, 1] or complex64).
        A: the measurement operator.
        y: measurements ``A.out_shape``.
        reference: what metrics compare against, ``A.in_shape[-2:]`` magnitude (float32): the
            image itself, or the root-sum-of-squares of fully sampled coil images for MRI.
        data_range: peak value for PSNR/SSIM (1 for natural images, the reference maximum for MRI).
        noise_std: standard deviation of the added noise (0 when none); BM3D needs it.
    """

    x_true: torch.Tensor
    A: LinearOperator
    y: torch.Tensor
    reference: torch.Tensor
    data_range: float
    noise_std: float


def needs_data(images: dict) -> bool:
    """Whether an experiment's images come from the data folder."""
    return images["dataset"] in ("folder", "mri") and not Path(images.get("path", "")).is_absolute()


def describe_operator(operator: dict) -> str:
    """A short label of an operator setting, e.g. ``"gaussian 25%"`` or ``"mri 4× random"``."""
    kind = operator["kind"]
    if kind in ("gaussian", "subsample"):
        text = f"{kind} {_percent(operator['ratio'])}"
    elif kind == "inpainting":
        text = f"inpainting {_percent(operator['missing'])} missing"
    elif kind == "denoise":
        return f"denoise σ={operator['sigma']:g}"
    elif kind == "mri":
        text = f"mri {operator['acceleration']:g}× {operator.get('mask', 'random')}"
    else:
        return "as acquired"
    noise = operator.get("noise", 0)
    return f"{text} noise {noise:g}" if noise else text


def sampling_ratio(operator: dict) -> float:
    """Nominal measurements per unknown of an operator setting (the x axis of the plots)."""
    kind = operator["kind"]
    if kind in ("gaussian", "subsample"):
        return float(operator["ratio"])
    if kind == "inpainting":
        return 1.0 - float(operator["missing"])
    if kind == "mri":
        return 1.0 / float(operator["acceleration"])
    return 1.0


def _percent(value: float) -> str:
    return f"{100 * value:g}%"


def build_problem(config: dict, data_dir: Path | None) -> Problem:
    """The problem of a cell configuration (``{"image", "operator", "method", "seed"}``).

    Args:
        config: the cell's canonical configuration (see ``csprior.benchmarks.suite``).
        data_dir: the data folder, needed by ``"folder"`` and ``"mri"`` images.
    """
    image, operator, seed = config["image"], config["operator"], int(config["seed"])
    if image["dataset"] == "mri":
        return _real_mri_problem(image, operator, seed, data_dir)
    if image["dataset"] == "shepp-logan":
        return _phantom_problem(image, operator, seed)
    x = _natural_image(image, data_dir)
    return _natural_problem(x, operator, seed)


def _natural_image(image: dict, data_dir: Path | None) -> torch.Tensor:
    from csprior.datasets import load_image

    if image["dataset"] == "skimage":
        source = image["name"]
    else:
        path = Path(image["path"])
        if not path.is_absolute():
            if data_dir is None:
                raise FileNotFoundError(f"image {path} is relative to the data folder, but none was given")
            path = data_dir / path
        source = path
    loaded = load_image(source, size=image.get("size"), gray=True)  # (1, 1, H, W)
    return loaded[0, 0].to(torch.float32)


def _natural_problem(x: torch.Tensor, operator: dict, seed: int) -> Problem:
    from csprior import operators as ops

    kind, shape = operator["kind"], tuple(x.shape)
    n = x.numel()
    if kind == "gaussian":
        A = ops.GaussianMatrix(shape, _count(operator["ratio"], n, "ratio"), seed=seed)
    elif kind == "subsample":
        A = ops.PixelSubsample(shape, _count(operator["ratio"], n, "ratio"), seed=seed)
    elif kind == "inpainting":
        A = ops.Inpainting(ops.random_pixel_mask(shape, float(operator["missing"]), seed=seed))
    elif kind == "denoise":
        A = ops.Identity(shape)
    else:
        raise ValueError(f"operator kind {kind!r} needs MRI data (images.dataset 'shepp-logan' or 'mri'), "
                         "not a natural image")
    std = float(operator["sigma"]) / 255 if kind == "denoise" else float(operator.get("noise", 0.0))
    y = _add_noise(A(x), std, seed, A)
    return Problem(x_true=x, A=A, y=y, reference=x, data_range=1.0, noise_std=std)


def _count(ratio, n: int, name: str) -> int:
    ratio = float(ratio)
    if not 0 < ratio <= 1:
        raise ValueError(f"operator {name} must be in (0, 1], got {ratio}")
    return max(1, round(ratio * n))


def _add_noise(clean: torch.Tensor, std: float, seed: int, A: LinearOperator) -> torch.Tensor:
    if std < 0:
        raise ValueError(f"noise must be non-negative, got {std}")
    if std == 0:
        return clean
    from csprior.operators import add_gaussian_noise

    noisy = add_gaussian_noise(clean, std, seed=seed + _NOISE_SEED_OFFSET)
    measured = A.measured
    # unmeasured outputs (masked pixels or k-space) stay exactly zero, as a scanner would give
    return noisy if measured is None else noisy * measured.to(noisy.dtype)


def _cartesian_mask(operator: dict, shape: tuple[int, int], seed: int) -> torch.Tensor:
    from csprior.operators import fastmri_mask

    acceleration = float(operator["acceleration"])
    center = float(operator.get("center_fraction", 0.32 / acceleration))
    mask, _ = fastmri_mask(operator.get("mask", "random"), shape[-1], [center], [acceleration], seed=seed)
    columns = torch.as_tensor(mask, dtype=torch.bool).reshape(-1)
    return columns.expand(shape[-2], shape[-1]).clone()


def _phantom_problem(image: dict, operator: dict, seed: int) -> Problem:
    from csprior import operators as ops
    from csprior.datasets import shepp_logan, simulated_coil_maps

    if operator["kind"] != "mri":
        raise ValueError(f"the shepp-logan phantom takes operator kind 'mri', got {operator['kind']!r}")
    x = shepp_logan(int(image["size"])).to(torch.complex64)  # real phantom as a complex MR image
    mask = _cartesian_mask(operator, tuple(x.shape), seed)
    coils = int(operator.get("coils", 1))
    if coils > 1:
        A = ops.MultiCoilPartialFourier(mask, simulated_coil_maps(tuple(x.shape), coils, seed=seed))
    else:
        A = ops.PartialFourier(mask)
    clean = A(x)
    std = float(operator.get("noise", 0.0)) * _rms(clean, A)
    reference = x.abs()
    return Problem(x_true=x, A=A, y=_add_noise(clean, std, seed, A), reference=reference,
                   data_range=float(reference.max()), noise_std=std)


def _rms(values: torch.Tensor, A: LinearOperator) -> float:
    measured = A.measured
    if measured is not None:
        values = values[measured.expand_as(values)]
    return float(values.abs().pow(2).mean().sqrt())


def _real_mri_problem(image: dict, operator: dict, seed: int, data_dir: Path | None) -> Problem:
    from csprior import operators as ops
    from csprior.datasets import estimate_coil_maps, load_mri_set, sense_combine

    if data_dir is None:
        raise FileNotFoundError(f"MRI set {image['name']} needs the data folder")
    scan = load_mri_set(data_dir / "mri", image["name"])
    fully_sampled = bool(scan.sampled.all())
    if operator["kind"] == "acquired":
        mask = scan.sampled
    elif operator["kind"] == "mri" and fully_sampled:
        mask = _cartesian_mask(operator, tuple(scan.kspace.shape[-2:]), seed)
    elif operator["kind"] == "mri":
        raise ValueError(f"MRI set {scan.name} was acquired undersampled; use operator kind 'acquired'")
    else:
        raise ValueError(f"real MRI data take operator kind 'mri' or 'acquired', got {operator['kind']!r}")
    y = scan.kspace * mask
    # maps from the measured calibration lines only: nothing the scan would not have given
    maps = estimate_coil_maps(y)
    A = ops.MultiCoilPartialFourier(mask, maps)
    # the truth handed to oracle rules: the SENSE image of the full data where there is one, else
    # the magnitude reference (oracle rules compare magnitudes)
    x_true = sense_combine(ops.ifft2c(scan.kspace), maps) if fully_sampled else scan.reference
    return Problem(x_true=x_true.to(torch.complex64), A=A, y=y, reference=scan.reference,
                   data_range=float(scan.reference.max()), noise_std=0.0)
