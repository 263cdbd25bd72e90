"""The CUDA path: what csprior computes on a GPU equals what it computes on the CPU.

Skipped without a CUDA device (the machine these tests normally run on has none). Where one is
present, ``python -m pytest tests/test_cuda.py`` checks generators (outputs and gradients, the
stacked networks too), generator fits (single, a batch of problems, complex MRI data, the TV
hybrid's λ sweep), the default recipe end to end, and the baselines against their CPU results.
TF32 is switched off inside these tests so that the comparison is of the same arithmetic up to
rounding; a fit of a few iterations then agrees to about float32's accuracy times the steps taken.
"""
import copy

import pytest
import torch

from csprior import reconstruct
from csprior.baselines import lasso, tv
from csprior.datasets import load_image, simulated_coil_maps
from csprior.generators import ConvDecoder, DeepDecoder, DeepImagePrior
from csprior.generators.batched import stack_generators
from csprior.operators import GaussianMatrix, Identity, MultiCoilPartialFourier, add_gaussian_noise, fastmri_mask

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")

CUDA = torch.device("cuda")
GENERATORS = {
    "deep-decoder": lambda: DeepDecoder((32, 32), channels=16, depth=3, seed=0),
    "conv-decoder": lambda: ConvDecoder((32, 24), channels=16, layers=4, out_channels=2, sigmoid=False, seed=0),
    # exact doublings: the coarse-grid (nearest_conv) path
    "conv-decoder-doubling": lambda: ConvDecoder((32, 32), channels=16, layers=4, in_size=(4, 4), bias=True,
                                                 seed=0),
    "dip": lambda: DeepImagePrior((32, 32), channels_down=(16,) * 3, channels_up=(16,) * 3,
                                  channels_skip=(4,) * 3, seed=0),
    "stacked-deep-decoders": lambda: stack_generators([DeepDecoder((32, 32), channels=16, depth=3, seed=s)
                                                       for s in range(3)]),
    "stacked-conv-decoders": lambda: stack_generators([ConvDecoder((32, 32), channels=16, layers=4, seed=s)
                                                       for s in range(3)]),
}


@pytest.fixture(autouse=True)
def no_tf32():
    """Full float32 products on the GPU (TF32 keeps 10 mantissa bits), restored afterwards."""
    saved = torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = False
    yield
    torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = saved


def _relative(a: torch.Tensor, b: torch.Tensor) -> float:
    a, b = a.detach().cpu(), b.detach().cpu()
    return float((a - b).norm() / b.norm())


def _gaussian_problem():
    x = load_image("camera", size=32)[0, 0]
    A = GaussianMatrix(x.shape, 0.25, seed=0)
    return x, A, add_gaussian_noise(A(x), sigma=0.01, seed=1)


def _mri_problem():
    x = load_image("camera", size=32)[0, 0].to(torch.complex64)
    columns, _ = fastmri_mask("random", 32, center_fractions=[0.08], accelerations=[4], seed=0)
    A = MultiCoilPartialFourier(columns, simulated_coil_maps((32, 32), coils=4))
    return x, A, A(x)


def _on_both(fit, A, y):
    """``fit(y, A)`` on the CPU and on CUDA (each with its own copy of ``A``)."""
    return fit(y, copy.deepcopy(A)), fit(y.to(CUDA), copy.deepcopy(A).to(CUDA))


@pytest.mark.parametrize("name", GENERATORS)
def test_generator_output_and_gradients_match_cpu(name):
    cpu = GENERATORS[name]()
    gpu = copy.deepcopy(cpu).to(CUDA)
    outputs = []
    for generator in (cpu, gpu):
        out = generator()
        out.square().mean().backward()
        outputs.append(out)
    assert outputs[1].device.type == "cuda"
    assert _relative(outputs[1], outputs[0]) < 1e-5
    # one vector of all gradients: a bias in front of a normalisation has a zero gradient up to
    # rounding, whose relative error alone means nothing
    gradients = [torch.cat([p.grad.cpu().flatten() for p in g.parameters()]) for g in (cpu, gpu)]
    assert _relative(gradients[1], gradients[0]) < 1e-4


@pytest.mark.parametrize("prior", ["deep-decoder", "conv-decoder", "dip"])
def test_fit_matches_cpu(prior):
    _, A, y = _gaussian_problem()
    runs = _on_both(lambda y_, A_: reconstruct(y_, A_, prior, iterations=10, early_stopping="fixed",
                                               architecture={"channels": 16} if prior != "dip" else None,
                                               progress=False), A, y)
    assert _relative(runs[1].image, runs[0].image) < 2e-3
    assert runs[1].history["loss"] == pytest.approx(runs[0].history["loss"], rel=2e-3)


def test_batch_of_problems_on_cuda_equals_each_alone():
    x = load_image("camera", size=32)[0, 0]
    A = Identity(x.shape)
    ys = torch.stack([add_gaussian_noise(x, sigma=0.1, seed=s) for s in (1, 2)])
    settings = dict(iterations=10, early_stopping="fixed", architecture={"channels": 16}, device=CUDA,
                    progress=False)
    together = reconstruct(ys, A, "deep-decoder", seed=0, **settings)
    for index in range(2):
        alone = reconstruct(ys[index], A, "deep-decoder", seed=index, **settings)
        assert _relative(together[index].image, alone.image) < 1e-3  # other kernels, other rounding


def test_complex_mri_fit_with_tv_sweep_matches_cpu():
    _, A, y = _mri_problem()
    runs = _on_both(lambda y_, A_: reconstruct(y_, A_, "conv-decoder", iterations=10, tv_weight=[0.0, 0.001],
                                               early_stopping="fixed", architecture={"channels": 16},
                                               progress=False), A, y)
    for cpu, gpu in zip(runs[0].problems, runs[1].problems):
        assert gpu.image.dtype == torch.complex64
        assert _relative(gpu.image, cpu.image) < 2e-3


@pytest.mark.parametrize("problem", [_gaussian_problem, _mri_problem])
def test_default_recipe_runs_on_cuda(problem):
    x, A, y = problem()
    result = reconstruct(y, A, iterations=20, device=CUDA, progress=False)
    assert result.image.shape == x.shape and result.image.dtype == x.dtype
    assert torch.isfinite(torch.view_as_real(result.image) if x.is_complex() else result.image).all()
    assert result.params["tv_weight"] is not None


@pytest.mark.parametrize("baseline", [tv, lasso])
def test_baselines_match_cpu(baseline):
    _, A, y = _gaussian_problem()
    runs = _on_both(lambda y_, A_: baseline(y_, A_, lam=0.01, iterations=200), A, y)
    assert runs[1].image.device.type == "cuda"
    assert _relative(runs[1].image, runs[0].image) < 1e-3
