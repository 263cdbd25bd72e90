"""The ISMRMRD XML header of fastMRI files: parse the fields fastMRI uses, and write a valid one.

fastMRI's ``SliceDataset`` reads four things from the ``ismrmrd_header`` dataset (namespace
``http://www.ismrm.org/ISMRMRD``): ``encoding/encodedSpace/matrixSize`` (x, y, z),
``encoding/reconSpace/matrixSize`` (x, y, z) and ``encoding/encodingLimits/kspace_encoding_step_1``
(``center`` and ``maximum``). From them it derives the zero padding of the phase-encode axis
(the last k-space axis, W)::

    padding_left  = encoding_y // 2 - center
    padding_right = padding_left + maximum + 1

Columns outside ``[padding_left, padding_right)`` were never acquired. In fastMRI files the encoded
matrix x is the readout length (k-space H) and y the phase-encode length (k-space W); the recon
matrix is the size of the target images.

``make_ismrmrd_header`` writes the elements the ISMRMRD schema (``ismrmrd.xsd``) requires
(``experimentalConditions``, and per encoding ``encodedSpace``/``reconSpace`` with matrix size and
field of view, ``encodingLimits`` and ``trajectory``), so other ISMRMRD tools accept the files too.
"""
from __future__ import annotations

import math
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass

NAMESPACE = "http://www.ismrm.org/ISMRMRD"
_NS = {"ismrmrd": NAMESPACE}


@dataclass(frozen=True)
class IsmrmrdHeader:
    """The fields of an ISMRMRD header that fastMRI uses.

    Attributes:
        encoding_size: encoded matrix ``(x, y, z)``: k-space ``(H, W, 1)`` in fastMRI files.
        recon_size: reconstruction matrix ``(x, y, z)``: target image ``(h, w, 1)``.
        step1_limits: ``kspace_encoding_step_1`` ``(minimum, maximum, center)``.
        padding_left: first acquired phase-encode column (fastMRI's rule, see the module docstring).
        padding_right: one past the last acquired phase-encode column.
    """

    encoding_size: tuple[int, int, int]
    recon_size: tuple[int, int, int]
    step1_limits: tuple[int, int, int]

    @property
    def padding_left(self) -> int:
        """First acquired k-space column (readout-padded columns before it hold zeros)."""
        return self.encoding_size[1] // 2 - self.step1_limits[2]

    @property
    def padding_right(self) -> int:
        """One past the last acquired column: columns ``[padding_left, padding_right)`` were acquired."""
        return self.padding_left + self.step1_limits[1] + 1


def parse_ismrmrd_header(xml: bytes | str, source: str = "ismrmrd_header") -> IsmrmrdHeader:
    """Parse the fastMRI-relevant fields of an ISMRMRD XML header.

    Args:
        xml: the header document (``hf["ismrmrd_header"][()]``).
        source: name used in error messages (the file the header came from).

    Raises:
        ValueError: the XML is malformed or lacks one of the fields (naming ``source`` and the field).
    """
    try:
        root = ElementTree.fromstring(xml)
    except ElementTree.ParseError as exc:
        raise ValueError(f"{source}: ismrmrd_header is not valid XML ({exc})") from exc
    return IsmrmrdHeader(
        encoding_size=tuple(_ints(root, ["encoding", "encodedSpace", "matrixSize"], "xyz", source)),
        recon_size=tuple(_ints(root, ["encoding", "reconSpace", "matrixSize"], "xyz", source)),
        step1_limits=tuple(_ints(root, ["encoding", "encodingLimits", "kspace_encoding_step_1"],
                                 ("minimum", "maximum", "center"), source)),
    )


def make_ismrmrd_header(encoding_size: tuple[int, int, int], recon_size: tuple[int, int, int], *,
                        step1_limits: tuple[int, int, int] | None = None, slices: int = 1,
                        coils: int | None = None, fov_mm: tuple[float, float, float] | None = None,
                        h1_frequency_hz: int = 0) -> bytes:
    """A schema-valid ISMRMRD header (UTF-8 XML) for a Cartesian fastMRI-layout file.

    Args:
        encoding_size: encoded matrix ``(x, y, z)`` = k-space ``(H, W, 1)``.
        recon_size: reconstruction matrix ``(x, y, z)`` = target ``(h, w, 1)``.
        step1_limits: phase-encode ``(minimum, maximum, center)``; default ``(0, W - 1, W // 2)``:
            every column acquired, DC at ``W // 2``, hence no padding.
        slices: number of slices (``encodingLimits/slice``).
        coils: receiver channels, recorded under ``acquisitionSystemInformation`` when given.
        fov_mm: encoded field of view in mm; default 1 mm per matrix element (unknown geometry).
            The recon field of view is scaled to the recon matrix at the same pixel size.
        h1_frequency_hz: Larmor frequency, required by the schema; 0 when unknown.
    """
    enc, rec = _size3(encoding_size, "encoding_size"), _size3(recon_size, "recon_size")
    limits = step1_limits if step1_limits is not None else (0, enc[1] - 1, enc[1] // 2)
    fov = tuple(float(f) for f in fov_mm) if fov_mm is not None else tuple(float(n) for n in enc)
    if len(fov) != 3 or not all(math.isfinite(f) and f > 0 for f in fov):
        raise ValueError(f"fov_mm must be three finite positive numbers (x, y, z) in mm, got {fov_mm!r}")
    recon_fov = tuple(f * r / e for f, r, e in zip(fov, rec, enc))
    if len(limits) != 3 or min(limits) < 0 or limits[0] > limits[1]:
        raise ValueError(f"step1_limits must be non-negative (minimum, maximum, center) with minimum <= maximum, "
                         f"got {limits!r}")
    root = ElementTree.Element(_tag("ismrmrdHeader"))
    if coils is not None:
        _child(_child(root, "acquisitionSystemInformation"), "receiverChannels", int(coils))
    _child(_child(root, "experimentalConditions"), "H1resonanceFrequency_Hz", int(h1_frequency_hz))
    encoding = _child(root, "encoding")
    for name, matrix, field in (("encodedSpace", enc, fov), ("reconSpace", rec, recon_fov)):
        space = _child(encoding, name)
        _xyz(_child(space, "matrixSize"), matrix)
        _xyz(_child(space, "fieldOfView_mm"), field)
    limits_el = _child(encoding, "encodingLimits")
    _limit(_child(limits_el, "kspace_encoding_step_1"), limits)
    _limit(_child(limits_el, "slice"), (0, max(int(slices), 1) - 1, (max(int(slices), 1) - 1) // 2))
    _child(encoding, "trajectory", "cartesian")
    return ElementTree.tostring(root, encoding="utf-8", xml_declaration=True, default_namespace=NAMESPACE)


def _ints(root, path: list[str], fields, source: str) -> list[int]:
    query = "." + "".join(f"//ismrmrd:{element}" for element in path)
    values = []
    for field in fields:
        node = root.find(f"{query}//ismrmrd:{field}", _NS)
        where = "/".join(path + [field])
        if node is None or node.text is None:
            raise ValueError(f"{source}: ismrmrd_header lacks {where} (namespace {NAMESPACE})")
        try:
            values.append(int(node.text.strip()))
        except ValueError as exc:
            raise ValueError(f"{source}: ismrmrd_header field {where} is not an integer: {node.text!r}") from exc
    return values


def _size3(size, name: str) -> tuple[int, int, int]:
    values = tuple(int(s) for s in size)
    if len(values) != 3 or any(v < 1 for v in values):
        raise ValueError(f"{name} must be three positive ints (x, y, z), got {size!r}")
    return values


def _tag(name: str) -> str:
    return f"{{{NAMESPACE}}}{name}"


def _child(parent, name: str, text=None):
    node = ElementTree.SubElement(parent, _tag(name))
    if text is not None:
        node.text = str(text)
    return node


def _xyz(parent, values) -> None:
    for axis, value in zip("xyz", values):
        _child(parent, axis, value)


def _limit(parent, values) -> None:
    for field, value in zip(("minimum", "maximum", "center"), values):
        _child(parent, field, int(value))
