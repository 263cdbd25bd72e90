"""Check ``fastmri_mask`` against fastMRI's ``create_mask_for_mask_type``, column for column.

Needs a Python environment with the ``fastmri`` package (csprior does not depend on it)::

    python benchmarks/fastmri_mask_check.py                  # compare the whole grid, print counts
    python benchmarks/fastmri_mask_check.py --write-golden tests/data/fastmri_masks.json

The grid crosses the three kinds with odd and even column counts, single and multiple
(centre fraction, acceleration) pairs, integer seeds, fastMRI's validation seeds
``tuple(map(ord, filename))`` and explicit offsets. For every configuration fastMRI's mask function is
called on a k-space of shape ``(1, 15, num_cols, 2)`` and its columns and ``num_low_frequencies``
are compared with ``fastmri_mask``. Configurations that fastMRI rejects (it raises) are counted
apart: csprior should reject them too, except the documented cases where it samples only the
centre: ``equispaced_fraction`` when the centre alone reaches the acceleration, and any kind when
the centre is every column.

``--write-golden`` records fastMRI's masks for a subset of the grid, so that
``tests/test_fastmri_mask_reference.py`` can check them in environments without fastMRI.

When csprior is not importable (the fastMRI environment may lack csprior's dependencies), the
``operators`` folder beside this script is loaded directly: it needs only numpy and torch.
"""
from __future__ import annotations

import argparse
import importlib.util
import itertools
import json
import sys
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from csprior.atomic_file import write_text_atomic

KINDS = ("random", "equispaced", "equispaced_fraction")
NUM_COLS = (17, 23, 64, 101, 320, 368, 372, 640)
PAIRS = (((0.08,), (4,)), ((0.04,), (8,)), ((0.08, 0.04), (4, 8)), ((0.16, 0.08, 0.04), (2, 4, 8)),
         ((0.1,), (3,)), ((0.0,), (4,)), ((0.25,), (2,)), ((0.125,), (6,)), ((0.5,), (2,)),
         ((0.3,), (4,)), ((0.08,), (2.5,)), ((0.9,), (1,)), ((0.98,), (4,)))
SEEDS = (0, 1, 42, 12345, 2 ** 32 - 1, tuple(map(ord, "file1000001.h5")),
         tuple(map(ord, "file_brain_AXT2_200_2000019.h5")), (3, 5))
OFFSETS = (None, 0, 1, 3)


@dataclass(frozen=True)
class Config:
    """One call: ``fastmri_mask(kind, num_cols, center_fractions, accelerations, seed, offset)``."""

    kind: str
    num_cols: int
    center_fractions: tuple[float, ...]
    accelerations: tuple[float, ...]
    seed: int | tuple[int, ...]
    offset: int | None


@dataclass
class Comparison:
    """Counts of a comparison run; ``mismatches`` lists the differing configurations."""

    compared: int = 0
    identical: int = 0
    both_reject: int = 0
    centre_only: int = 0
    mismatches: list[tuple[Config, str]] = field(default_factory=list)


def configurations(kinds=KINDS, num_cols=NUM_COLS, pairs=PAIRS, seeds=SEEDS, offsets=OFFSETS) -> list[Config]:
    """The cross product of the given settings as ``Config`` objects (seeds are never ``None``)."""
    return [Config(kind, cols, fractions, accels, seed, offset)
            for kind, cols, (fractions, accels), seed, offset
            in itertools.product(kinds, num_cols, pairs, seeds, offsets)]


def reference_mask(subsample, config: Config) -> tuple[np.ndarray, int]:
    """fastMRI's column mask ``(num_cols,)`` bool and ``num_low_frequencies`` (raises what fastMRI raises)."""
    func = subsample.create_mask_for_mask_type(config.kind, list(config.center_fractions),
                                               list(config.accelerations))
    mask, num_low = func((1, 15, config.num_cols, 2), offset=config.offset, seed=config.seed)
    return mask.reshape(-1).numpy().astype(bool), int(num_low)


def our_mask(fastmri_mask: Callable, config: Config) -> tuple[np.ndarray, int]:
    """csprior's column mask ``(num_cols,)`` bool and ``num_low_frequencies``."""
    mask, num_low = fastmri_mask(config.kind, config.num_cols, list(config.center_fractions),
                                 list(config.accelerations), seed=config.seed, offset=config.offset)
    return mask.numpy(), num_low


def compare(fastmri_mask: Callable, subsample, configs: Iterable[Config]) -> Comparison:
    """Compare csprior's and fastMRI's masks on every configuration."""
    result = Comparison()
    for config in configs:
        try:
            theirs, their_low = reference_mask(subsample, config)
        except Exception as exc:  # fastMRI fails in many ways (ZeroDivisionError, ValueError, TypeError)
            _classify_rejected(fastmri_mask, config, exc, result)
            continue
        result.compared += 1
        try:
            mine, my_low = our_mask(fastmri_mask, config)
        except ValueError as exc:
            result.mismatches.append((config, f"csprior raised {exc}, fastMRI did not"))
            continue
        if np.array_equal(mine, theirs) and my_low == their_low:
            result.identical += 1
        else:
            result.mismatches.append((config, f"fastMRI {np.flatnonzero(theirs).tolist()} (low {their_low}), "
                                              f"csprior {np.flatnonzero(mine).tolist()} (low {my_low})"))
    return result


def _classify_rejected(fastmri_mask: Callable, config: Config, exc: Exception, result: Comparison) -> None:
    try:
        mine, my_low = our_mask(fastmri_mask, config)
    except ValueError:
        result.both_reject += 1
        return
    centre = np.zeros(config.num_cols, dtype=bool)
    start = (config.num_cols - my_low + 1) // 2
    centre[start:start + my_low] = True
    if np.array_equal(mine, centre):
        result.centre_only += 1
    else:
        result.mismatches.append((config, f"fastMRI raised {exc!r}, csprior returned a mask"))


def golden_configurations() -> list[Config]:
    """The subset of the grid recorded for the tests that run without fastMRI."""
    num_cols = (17, 101, 368, 372)
    pairs = (((0.08,), (4,)), ((0.08, 0.04), (4, 8)), ((0.1,), (3,)))
    seeds = (0, 42, tuple(map(ord, "file1000001.h5")), tuple(map(ord, "file_brain_AXT2_200_2000019.h5")))
    configs = configurations(num_cols=num_cols, pairs=pairs, seeds=seeds, offsets=(None,))
    configs += configurations(kinds=KINDS[1:], num_cols=num_cols, pairs=pairs, seeds=(0,), offsets=(1,))
    return configs


def write_golden(subsample, path: Path) -> int:
    """Write fastMRI's masks for ``golden_configurations()`` as JSON lines; returns the count.

    Each line holds the ``Config`` fields, except that a filename seed ``tuple(map(ord, name))`` is
    written as ``"seed_filename": name``, plus ``mask_hex`` (``np.packbits`` of the mask, in hex)
    and ``num_low_frequencies``.
    """
    lines = []
    for config in golden_configurations():
        mask, num_low = reference_mask(subsample, config)
        record = asdict(config)
        if isinstance(config.seed, tuple):
            record["seed_filename"] = "".join(map(chr, record.pop("seed")))
        record |= {"mask_hex": np.packbits(mask).tobytes().hex(), "num_low_frequencies": num_low}
        lines.append(json.dumps(record))
    write_text_atomic(path, "\n".join(lines) + "\n")
    return len(lines)


def load_fastmri_mask() -> Callable:
    """``csprior.operators.fastmri_mask``, or the same function loaded from the ``operators`` folder."""
    try:
        from csprior.operators import fastmri_mask
        return fastmri_mask
    except ImportError:
        folder = Path(__file__).resolve().parents[1] / "operators"
        spec = importlib.util.spec_from_file_location("_csprior_operators", folder / "__init__.py",
                                                      submodule_search_locations=[str(folder)])
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module  # the package's relative imports look it up here
        spec.loader.exec_module(module)
        return module.fastmri_mask


def main(argv: list[str] | None = None) -> int:
    """Command line entry point (see the module docstring): parse ``argv`` and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write-golden", type=Path, help="also record fastMRI's masks for the tests here")
    args = parser.parse_args(argv)
    try:
        from fastmri.data import subsample
    except ImportError:
        print("the fastmri package is not installed in this environment; run this with one that has it")
        return 2
    fastmri_mask = load_fastmri_mask()
    configs = configurations()
    result = compare(fastmri_mask, subsample, configs)
    print(f"{len(configs)} configurations (kind x num_cols x (center_fractions, accelerations) x seed x offset "
          f"= {len(KINDS)} x {len(NUM_COLS)} x {len(PAIRS)} x {len(SEEDS)} x {len(OFFSETS)})")
    print(f"compared {result.compared}: {result.identical} identical, {len(result.mismatches)} different")
    print(f"fastMRI raised on {result.both_reject + result.centre_only}: csprior raised ValueError on "
          f"{result.both_reject}, returned the centre-only mask on {result.centre_only}")
    for config, reason in result.mismatches[:20]:
        print("MISMATCH", config, reason)
    if args.write_golden:
        print(f"wrote {write_golden(subsample, args.write_golden)} fastMRI masks to {args.write_golden}")
    return 0 if not result.mismatches else 1


if __name__ == "__main__":
    sys.exit(main())
