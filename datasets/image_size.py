"""Reading an image size given as one int (a square) or a pair ``(H, W)``."""
from __future__ import annotations

import numbers


def size_pair(size, name: str = "size") -> tuple[int, int]:
    """``(H, W)`` from ``size``: a positive int (``(size, size)``) or a pair of positive ints (Python or
    numpy integers; not bools). Raises ValueError naming ``name`` otherwise."""
    pair = (size, size) if not isinstance(size, (tuple, list)) else tuple(size)
    if len(pair) != 2 or not all(isinstance(s, numbers.Integral) and not isinstance(s, bool) and s > 0
                                 for s in pair):
        raise ValueError(f"{name} must be a positive int or a pair (H, W) of positive ints, got {size!r}")
    return int(pair[0]), int(pair[1])
