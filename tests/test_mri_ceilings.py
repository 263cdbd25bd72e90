"""The 8× ceiling script: its coil-image operator is a correct linear operator, and the script
runs end to end on the shared data when it is there."""
import pytest
import torch

from csprior.benchmarks.mri_ceilings import CoilImagesFourier, rows
from csprior.operators import dot_test, fft2c


@pytest.mark.parametrize("batch", [(), (2,)])
def test_coil_image_operator_passes_the_dot_test(batch):
    mask = torch.rand(12, 10, generator=torch.Generator().manual_seed(0)) < 0.4
    A = CoilImagesFourier(mask, coils=3)
    assert dot_test(A, batch_shape=batch) < 1e-5
    x = torch.randn(3, 12, 10, dtype=torch.complex64)
    torch.testing.assert_close(A(x), fft2c(x) * mask)
    assert A.measured.shape == (3, 12, 10)


def test_the_script_measures_every_setting_on_the_real_brain(shared_data):
    measured = list(rows(shared_data, acceleration=8, iterations=3))
    assert [label for label, *_ in measured][0] == "zero-filled (RSS)" and len(measured) == 7
    assert all("dB" in scores for _, scores, _, _ in measured)
