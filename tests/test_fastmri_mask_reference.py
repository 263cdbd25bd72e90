"""``fastmri_mask`` selects exactly the columns of fastMRI's ``create_mask_for_mask_type``.

Two checks: masks that fastMRI itself produced (recorded by ``benchmarks/fastmri_mask_check.py
--write-golden`` in an environment with the ``fastmri`` package) are compared in every environment;
where ``fastmri`` is installed, the whole grid of that script is compared live.
"""
import json
from pathlib import Path

import numpy as np
import pytest

from csprior.benchmarks import fastmri_mask_check
from csprior.operators import fastmri_mask

GOLDEN = Path(__file__).parent / "data" / "fastmri_masks.json"


def _golden_records():
    return [json.loads(line) for line in GOLDEN.read_text().splitlines() if line.strip()]


def _config(record) -> fastmri_mask_check.Config:
    seed = tuple(map(ord, record["seed_filename"])) if "seed_filename" in record else record["seed"]
    return fastmri_mask_check.Config(record["kind"], record["num_cols"], tuple(record["center_fractions"]),
                                     tuple(record["accelerations"]), seed, record["offset"])


def test_matches_masks_recorded_from_fastmri():
    records = _golden_records()
    assert len(records) == len(fastmri_mask_check.golden_configurations())
    assert {r["kind"] for r in records} == set(fastmri_mask_check.KINDS)
    assert any("seed_filename" in r for r in records) and any(r["num_cols"] % 2 for r in records)
    for record in records:
        config = _config(record)
        expected = np.unpackbits(np.frombuffer(bytes.fromhex(record["mask_hex"]), dtype=np.uint8),
                                 count=config.num_cols).astype(bool)
        mask, num_low = fastmri_mask_check.our_mask(fastmri_mask, config)
        assert num_low == record["num_low_frequencies"], config
        np.testing.assert_array_equal(mask, expected, err_msg=str(config))


def test_matches_fastmri_live():
    subsample = pytest.importorskip("fastmri.data.subsample")
    configs = fastmri_mask_check.configurations()
    result = fastmri_mask_check.compare(fastmri_mask, subsample, configs)
    assert result.mismatches == []
    assert result.identical == result.compared > 0.9 * len(configs)
