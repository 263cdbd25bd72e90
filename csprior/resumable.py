"""Resumable fits: a long reconstruction that is interrupted continues where it stopped.

Inside ``with resumable(folder):`` every generator fit the engine runs (one ``_fit_group`` call:
a batch of problems, ensemble members or λ candidates fitted in lockstep) saves its whole state
(generators, Adam's moments, stopping rules, averages, histories, random generators) to
``folder/fit-<k>.pt`` every ``every`` seconds, ``k`` counting the fits of the block in the order
they run, and its results once it ends. Running the same code again inside ``resumable`` on the
same folder returns the finished fits' results without fitting and continues the unfinished one
from its last save: the engine's fits run in a fixed order for fixed inputs and seeds, and a
resumed fit takes exactly the steps the uninterrupted one would have taken. The work lost to an
interruption is at most ``every`` seconds.

Each file records a fingerprint of its fit's inputs (measurements, seeds, λ, prior, settings); a
file whose fingerprint differs raises ValueError rather than resuming another problem's fit. The
files are pickles (``torch.load(weights_only=False)``): resume only from folders you wrote. The
folder is never deleted here: remove it once the result is saved (the harness and the command
line do).
"""
from __future__ import annotations

import contextlib
import contextvars
import dataclasses
import hashlib
import logging
import time
from collections.abc import Iterator
from pathlib import Path

import torch

from csprior.atomic_file import atomic_path

log = logging.getLogger(__name__)

SAVE_EVERY_SECONDS = 120.0  # a save of the default recipe's running state at 128² took 15–35 ms
_ACTIVE: contextvars.ContextVar[_Folder | None] = contextvars.ContextVar("csprior_resumable", default=None)


@contextlib.contextmanager
def resumable(folder, every: float | None = None) -> Iterator[Path | None]:
    """Save and resume the fits run inside the block in ``folder`` (created if missing).

    Args:
        folder: a folder for this one reconstruction (one per problem; it holds ``fit-<k>.pt``);
            None runs the block without saving, so callers need no second code path.
        every: seconds between two saves of a running fit (0 saves after every iteration; default
            ``SAVE_EVERY_SECONDS``).
    Yields the folder as a ``Path`` (None when ``folder`` is None).
    """
    every = SAVE_EVERY_SECONDS if every is None else every
    if not every >= 0:
        raise ValueError(f"every must be a number of seconds >= 0, got {every!r}")
    if folder is None:
        yield None
        return
    path = Path(folder)
    path.mkdir(parents=True, exist_ok=True)
    token = _ACTIVE.set(_Folder(path, float(every)))
    try:
        yield path
    finally:
        _ACTIVE.reset(token)


def next_slot(device: torch.device, *inputs) -> Slot | None:
    """The save slot of the next fit, identified by the ``fingerprint`` of its ``inputs``, when a
    ``resumable`` block is active, else None; what it saved is loaded onto ``device``."""
    folder = _ACTIVE.get()
    return None if folder is None else folder.next_slot(fingerprint(*inputs), device)


def fingerprint(*parts) -> str:
    """SHA-256 of the parts: tensors by dtype, shape and bytes, modules by their state, dataclasses
    by their fields except ``progress`` (showing a bar does not change a fit), other objects by their
    class and attributes, the rest by ``repr``."""
    digest = hashlib.sha256()
    for part in parts:
        _feed(digest, part)
    return digest.hexdigest()


def _feed(digest, part) -> None:
    if isinstance(part, torch.Tensor):
        tensor = part.detach().cpu().contiguous()
        digest.update(f"{tensor.dtype}{tuple(tensor.shape)}".encode())
        digest.update(tensor.view(torch.uint8).numpy().tobytes() if tensor.numel() else b"")
    elif isinstance(part, torch.nn.Module):
        digest.update(type(part).__qualname__.encode())
        for name, value in part.state_dict().items():
            digest.update(name.encode())
            _feed(digest, value)
    elif dataclasses.is_dataclass(part) and not isinstance(part, type):
        fields = {f.name: getattr(part, f.name) for f in dataclasses.fields(part) if f.name != "progress"}
        digest.update(repr(sorted(fields.items())).encode())
    elif isinstance(part, (list, tuple)):
        digest.update(f"{type(part).__name__}{len(part)}".encode())
        for item in part:
            _feed(digest, item)
    elif isinstance(part, dict):
        _feed(digest, sorted(part.items()))
    elif hasattr(part, "__dict__"):  # e.g. a stopping rule: its class and settings, not its address
        digest.update(type(part).__qualname__.encode())
        _feed(digest, vars(part))
    else:
        digest.update(repr(part).encode())


class _Folder:
    def __init__(self, path: Path, every: float):
        self.path, self.every, self.count = path, every, 0

    def next_slot(self, fingerprint: str, device: torch.device) -> Slot:
        slot = Slot(self.path / f"fit-{self.count}.pt", fingerprint, self.every, device)
        self.count += 1
        return slot


class Slot:
    """One fit's file: what was saved of it (``saved``), and ``save_running`` / ``save_finished``."""

    def __init__(self, path: Path, fingerprint: str, every: float, device: torch.device):
        self.path, self.fingerprint, self.every = path, fingerprint, every
        self.last_save = time.monotonic()
        self.saved = self._load(device)

    def _load(self, device: torch.device) -> dict | None:
        if not self.path.exists():
            return None
        try:
            saved = torch.load(self.path, map_location=device, weights_only=False)
        except Exception as exc:  # noqa: BLE001 -- any unreadable file is reported the same way
            raise ValueError(f"checkpoint {self.path} cannot be read ({type(exc).__name__}: {exc}); "
                             "delete it to start this fit again") from exc
        if not isinstance(saved, dict) or saved.get("fingerprint") != self.fingerprint:
            raise ValueError(f"checkpoint {self.path} was saved by a different fit (other measurements, "
                             "seeds or settings); use another folder, or delete it to start again")
        log.info("resuming from %s (%s)", self.path, "finished" if "results" in saved else
                 f"iteration {saved['iteration']}")
        return saved

    def due(self) -> bool:
        """Whether ``every`` seconds have passed since the last save (or since the slot was opened)."""
        return time.monotonic() - self.last_save >= self.every

    def save_running(self, state: dict) -> None:
        """Save a running fit's ``state`` (``iteration`` = the next iteration to run, and the rest)."""
        self._write({"fingerprint": self.fingerprint, **state})

    def save_finished(self, results: list) -> None:
        """Save the fit's results: a later run returns them without fitting."""
        self._write({"fingerprint": self.fingerprint, "results": results})

    def _write(self, content: dict) -> None:
        with atomic_path(self.path) as temporary:
            torch.save(content, temporary)
        self.last_save = time.monotonic()
