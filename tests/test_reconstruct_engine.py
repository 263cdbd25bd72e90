"""Plumbing of the reconstruction engine, with a tiny generator so each test takes milliseconds."""
import math
import sys

import pytest
import torch
from torch import nn

from csprior import reconstruct
from csprior.operators import Identity, MatrixOperator, PartialFourier
from csprior.stopping import OracleStopping, VarianceStopping


class TinyGenerator(nn.Module):
    """A 1x1-conv generator on a fixed input: enough to exercise the engine."""

    def __init__(self, shape=(8, 8), out_channels=1, seed=0, nan_at=None):
        super().__init__()
        gen = torch.Generator().manual_seed(seed)
        self.register_buffer("net_input", torch.rand(1, 8, *shape, generator=gen))
        self.weight = nn.Parameter(torch.randn(out_channels, 8, generator=gen) * 0.1)
        self.calls, self.nan_at = 0, nan_at

    def forward(self, input=None):
        self.calls += 1
        z = self.net_input if input is None else input
        out = torch.einsum("oc,bchw->bohw", self.weight, z)
        return out * float("nan") if self.calls == self.nan_at else out


def _gaussian(m, shape, seed=0, complex_=False):
    gen = torch.Generator().manual_seed(seed)
    dtype = torch.complex64 if complex_ else torch.float32
    return MatrixOperator(torch.randn(m, math.prod(shape), generator=gen, dtype=dtype) / math.sqrt(m), shape)


def test_deterministic_for_fixed_seed():
    A = _gaussian(40, (8, 8))
    y = A(torch.rand(8, 8))
    runs = [reconstruct(y, A, TinyGenerator(), iterations=30, early_stopping="fixed", progress=False)
            for _ in range(2)]
    assert torch.equal(runs[0].image, runs[1].image)
    assert runs[0].stop_iteration == 29 and runs[0].stop_reason == "max_iterations"
    assert runs[0].n_parameters == 8


def test_loss_decreases_and_history_is_recorded():
    A = _gaussian(40, (8, 8))
    x = torch.rand(8, 8)
    result = reconstruct(A(x), A, TinyGenerator(), iterations=60, early_stopping="holdout",
                         patience=None, x_true=x, progress=False, metrics_every=5)
    history = result.history
    assert len(history["loss"]) == len(history["holdout_loss"]) == len(history["psnr"]) == 60
    assert history["ssim_iteration"] == list(range(0, 60, 5))
    assert history["loss"][-1] < history["loss"][0]
    held = history["holdout_loss"]
    window = 21  # the rule's default centred moving average
    averages = {t - window // 2: sum(held[max(0, t - window + 1):t + 1]) / min(t + 1, window)
                for t in range(60)}
    assert result.stop_iteration == max(0, min(averages, key=averages.__getitem__))


def test_complex_operator_gets_two_channels_and_gradients():
    A = _gaussian(30, (8, 8), complex_=True)
    y = A(torch.randn(8, 8, dtype=torch.complex64))
    result = reconstruct(y, A, TinyGenerator(out_channels=2), iterations=20, early_stopping="fixed",
                         progress=False)
    assert result.image.dtype == torch.complex64 and result.image.shape == (8, 8)
    assert result.history["loss"][-1] < result.history["loss"][0]
    assert result.params["scale"] != 1.0  # complex data is scaled to the generator's output norm


def test_generator_that_does_not_fit_the_operator_is_rejected():
    A = _gaussian(30, (8, 8), complex_=True)
    y = A(torch.randn(8, 8, dtype=torch.complex64))
    with pytest.raises(ValueError, match=r"needs \(1, 2, 8, 8\)"):
        reconstruct(y, A, TinyGenerator(out_channels=1), iterations=2, progress=False)
    with pytest.raises(ValueError, match=r"needs \(1, 1, 8, 8\)"):
        reconstruct(torch.rand(8, 8), Identity((8, 8)), TinyGenerator(shape=(4, 4)), iterations=2,
                    progress=False)


def test_batched_problems_get_their_own_fit():
    A = _gaussian(40, (8, 8))
    y = A(torch.rand(3, 8, 8))
    result = reconstruct(y, A, TinyGenerator(), iterations=25, early_stopping="holdout", progress=False)
    assert result.image.shape == (3, 8, 8) and len(result) == 3
    singles = [reconstruct(y[i], A, TinyGenerator(), iterations=25, early_stopping="holdout",
                           seed=i, progress=False) for i in range(3)]
    for i in range(3):
        assert torch.allclose(result.image[i], singles[i].image)
        assert result[i].stop_iteration == singles[i].stop_iteration


def test_nan_loss_restores_last_good_state():
    A = Identity((8, 8))
    result = reconstruct(torch.rand(8, 8), A, TinyGenerator(nan_at=10), iterations=30,
                         early_stopping="fixed", progress=False)
    assert result.params["recoveries"] == 1
    assert result.params["final_lr"] == pytest.approx(result.params["lr"] / 2)
    assert torch.isfinite(result.image).all()


def test_wmv_rule_stops_without_truth():
    rule = VarianceStopping(window=5, patience=10)
    result = reconstruct(torch.rand(8, 8), Identity((8, 8)), TinyGenerator(), iterations=500,
                         early_stopping=rule, progress=False)
    assert result.stop_reason == "wmv" and result.stop_iteration >= 4


@pytest.mark.parametrize("kwargs, message", [
    ({"early_stopping": "oracle"}, "needs x_true"),
    ({"early_stopping": "sometimes"}, "early_stopping must be"),
    ({"lr": -1.0}, "lr must be a finite positive number"),
    ({"lr": float("inf")}, "lr must be a finite positive number"),
    ({"input_noise": float("nan")}, "input_noise must be a finite number >= 0"),
    ({"input_noise": -0.1}, "input_noise must be a finite number >= 0"),
    ({"prior": "unet"}, "prior must be one of"),
    ({"x_true": torch.rand(7, 8)}, "x_true must have shape"),
    ({"iterations": 2.7}, "iterations must be a positive int"),
    ({"iterations": True}, "iterations must be a positive int"),
    ({"patience": 0}, "patience must be a positive int"),
    ({"patience": 10.5}, "patience must be a positive int"),
    ({"metrics_every": 2.0}, "metrics_every must be a positive int"),
    ({"lr": "fast"}, "lr must be a finite positive number"),
    ({"ema": "0.99"}, r"ema must be a number in \[0, 1\)"),
    ({"ema": 1.0}, r"ema must be a number in \[0, 1\)"),
    ({"holdout_fraction": 0.7}, r"holdout_fraction must be a number in \(0, 0.5\]"),
    ({"optimizer": "adamw"}, "optimizer must be"),
    ({"scale": 1}, "scale must be"),
])
def test_bad_arguments_are_named(kwargs, message):
    kwargs = {"prior": TinyGenerator(), "iterations": 2, **kwargs}
    with pytest.raises(ValueError, match=message):
        reconstruct(torch.rand(8, 8), Identity((8, 8)), progress=False, **kwargs)


def test_bad_keyword_fails_before_the_recipes_phantom_warm_start(monkeypatch):
    # the complex recipe fits a phantom first (1000 iterations): a typo must not wait for it
    engine = sys.modules["csprior.reconstruct"]  # the module (the package re-exports the function)

    def no_warm_start(*args, **kwargs):
        raise AssertionError("the warm start ran before the keywords were checked")

    monkeypatch.setattr(engine, "resolve_warm_start", no_warm_start)
    A = PartialFourier(torch.ones(16, 16, dtype=torch.bool))
    y = A(torch.rand(16, 16, dtype=torch.complex64))
    with pytest.raises(ValueError, match="optimizer must be"):
        reconstruct(y, A, optimizer="adamw", progress=False)
    with pytest.raises(ValueError, match="early_stopping must be"):
        reconstruct(y, A, early_stopping="sometimes", progress=False)


def test_a_rule_object_that_needs_the_truth_is_refused_without_it():
    with pytest.raises(ValueError, match="OracleStopping needs x_true"):
        reconstruct(torch.rand(8, 8), Identity((8, 8)), TinyGenerator(), early_stopping=OracleStopping(),
                    iterations=2, progress=False)


def test_an_empty_batch_is_rejected():
    with pytest.raises(ValueError, match="y must hold at least one problem"):
        reconstruct(torch.rand(0, 8, 8), Identity((8, 8)), TinyGenerator(), progress=False)


def test_measurements_of_wrong_shape_or_nan_are_rejected():
    with pytest.raises(ValueError, match=r"y must have shape"):
        reconstruct(torch.rand(8, 9), Identity((8, 8)), TinyGenerator(), progress=False)
    with pytest.raises(ValueError, match="y contains NaN"):
        reconstruct(torch.full((8, 8), float("nan")), Identity((8, 8)), TinyGenerator(), progress=False)


class InputRecorder(TinyGenerator):
    """Records how far each input is from the fixed one (the input noise actually applied)."""

    def __init__(self):
        super().__init__()
        self.deviations = []

    def forward(self, input=None):
        self.deviations.append(0.0 if input is None else float((input - self.net_input).std()))
        return super().forward(input)


@pytest.mark.parametrize("anneal", [False, True])
def test_input_noise_is_constant_or_annealed_to_zero(anneal):
    A = _gaussian(40, (8, 8))
    recorder = InputRecorder()
    result = reconstruct(A(torch.rand(8, 8)), A, recorder, iterations=10, input_noise=0.5, input_noise_anneal=anneal,
                         early_stopping="fixed", progress=False)
    fitted = result.generator.deviations  # the engine fits a copy of the module; its record travels with it
    assert len(fitted) == 10 and result.params["input_noise_anneal"] is anneal
    expected = [0.5 * (1 - t / 10) if anneal else 0.5 for t in range(10)]
    assert fitted == pytest.approx(expected, rel=0.2)


class OutputRecorder(TinyGenerator):
    """Keeps every output it produced (the raw iterates)."""

    def __init__(self):
        super().__init__()
        self.outputs = []

    def forward(self, input=None):
        out = super().forward(input)
        self.outputs.append(out.detach().clone())
        return out


def test_output_average_is_bias_corrected():
    A = _gaussian(40, (8, 8))
    ema, steps = 0.9, 5
    result = reconstruct(A(torch.rand(8, 8)), A, OutputRecorder(), iterations=steps, ema=ema, early_stopping="fixed",
                         lr=0.05, progress=False)
    iterates = torch.stack(result.generator.outputs)[:, 0, 0]
    weights = torch.tensor([ema ** (steps - 1 - t) for t in range(steps)])
    expected = (weights[:, None, None] * iterates).sum(0) / weights.sum()  # the first output gets no extra weight
    torch.testing.assert_close(result.image, expected, rtol=1e-5, atol=1e-6)
