"""Benchmark suites: TOML files that expand into cells, each with a stable id.

A suite file looks like this (every key is checked; unknown keys are errors)::

    name = "quick"
    description = "what the suite measures"
    seeds = [0]                          # every cell is repeated per seed
    metrics = ["psnr", "ssim", "nmse"]   # reported per cell

    [methods.lasso-dct]                  # a method label and its hyper-parameters
    method = "lasso"                     # the method run (csprior.benchmarks.methods.METHODS)
    basis = "dct"
    lam = "holdout"                      # λ chosen on held-out measurements

    [[experiments]]
    name = "cs"
    images = { dataset = "skimage", names = ["camera"], size = 64 }
    operator = { kind = "gaussian", ratio = [0.25, 0.5], noise = 0.0 }
    methods = ["lasso-dct"]

Images (``dataset``): ``"skimage"`` (``names`` of images bundled with scikit-image),
``"folder"`` (``path`` relative to the data folder, optional ``count``), ``"shepp-logan"``
(a synthetic MRI phantom) and ``"mri"`` (``names`` of k-space sets under ``<data>/mri``); all take
``size`` except ``"mri"``. Operator keys whose value is a list are swept (cross product), so one
experiment expands into ``images × operator settings × methods × seeds`` cells. The operator
kinds and their keys are listed in ``csprior.benchmarks.problems``.

A cell's id is the first 16 hex digits of the SHA-256 of the canonical JSON (sorted keys, no
spaces) of its image, operator, method and seed: the same configuration gets the same id in any
suite, on any machine, so results can be resumed and merged; changing any hyper-parameter gives
a new id.
"""
from __future__ import annotations

import hashlib
import itertools
import json
import os
import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from .problems import DATASETS, OPERATOR_KINDS, describe_operator, needs_data, sampling_ratio
from .methods import METHODS, known_method

SUITE_KEYS = {"name", "description", "seeds", "metrics", "methods", "experiments"}
EXPERIMENT_KEYS = {"name", "images", "operator", "methods"}
# what each operator kind cannot do without (the rest have defaults in csprior.benchmarks.problems)
REQUIRED_OPERATOR_KEYS = {"gaussian": ("ratio",), "subsample": ("ratio",), "inpainting": ("missing",),
                          "denoise": ("sigma",), "mri": ("acceleration",)}
KNOWN_METRICS = ("psnr", "ssim", "nmse")
DATA_ENV = "CSPRIOR_DATA"


@dataclass(frozen=True)
class Cell:
    """One benchmark run: one image, one operator setting, one method, one seed.

    Attributes:
        id: stable id (16 hex digits) derived from ``config``.
        config: canonical configuration ``{"image", "operator", "method", "seed"}`` (JSON types).
        suite: name of the suite the cell came from.
        experiment: name of its experiment within the suite.
        metrics: metric names to compute.
        setting: human-readable operator setting, e.g. ``"gaussian 25%"``.
        ratio: nominal sampling ratio (measurements / unknowns) for plots.
    """

    id: str
    config: dict
    suite: str
    experiment: str
    metrics: tuple[str, ...]
    setting: str
    ratio: float

    @property
    def method(self) -> str:
        """The method's label in the suite, e.g. ``"lasso-dct"``."""
        return self.config["method"]["label"]

    @property
    def image_name(self) -> str:
        """A short name of the cell's image (file stem or data-set name)."""
        image = self.config["image"]
        if "name" in image:
            return str(image["name"])
        if "path" in image:
            return Path(image["path"]).stem
        return image["dataset"]


@dataclass
class Suite:
    """A parsed suite file (see the module docstring for the format).

    Attributes:
        name: suite name.
        description: one-line description.
        seeds: seeds every cell is repeated for.
        metrics: metric names.
        methods: label -> ``{"method": name, **hyper-parameters}``.
        experiments: list of ``{"name", "images", "operator", "methods"}`` tables.
        source: where the suite was read from.
    """

    name: str
    description: str
    seeds: list[int]
    metrics: list[str]
    methods: dict[str, dict]
    experiments: list[dict]
    source: str = ""


@dataclass
class Expansion:
    """The cells of a suite, and the experiments skipped (with why) because data is missing."""

    cells: list[Cell] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


def canonical_json(value) -> str:
    """JSON with sorted keys and no whitespace: the text a cell id is hashed from."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False)


def cell_id(config: dict) -> str:
    """16 hex digits of the SHA-256 of ``canonical_json(config)``."""
    return hashlib.sha256(canonical_json(config).encode()).hexdigest()[:16]


def shipped_suites() -> list[str]:
    """Names of the suites installed with csprior (``benchmarks/suites/*.toml``)."""
    folder = resources.files("csprior.benchmarks") / "suites"
    return sorted(entry.name[:-5] for entry in folder.iterdir() if entry.name.endswith(".toml"))


def load_suite(name_or_path: str | os.PathLike) -> Suite:
    """Read a suite: a shipped suite's name (``"quick"``) or the path of a TOML file.

    Raises FileNotFoundError for an unknown name or path and ValueError for an invalid file,
    naming the offending key.
    """
    text, source = _suite_text(name_or_path)
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"suite {source} is not valid TOML: {exc}") from exc
    return parse_suite(raw, source)


def _suite_text(name_or_path) -> tuple[str, str]:
    path = Path(name_or_path)
    if path.is_file():
        return path.read_text(encoding="utf-8"), str(path)
    name = str(name_or_path)
    if name in shipped_suites():
        entry = resources.files("csprior.benchmarks") / "suites" / f"{name}.toml"
        return entry.read_text(encoding="utf-8"), name
    if path.suffix == ".toml" or len(path.parts) > 1:
        raise FileNotFoundError(f"suite file {path} does not exist")
    raise FileNotFoundError(f"no shipped suite named {name!r}; shipped: {', '.join(shipped_suites())} "
                            "(or pass the path of a .toml file)")


def parse_suite(raw: dict, source: str = "<dict>") -> Suite:
    """Validate a suite given as a dict (the parsed TOML) and return it as a ``Suite``."""
    _check_keys(raw, SUITE_KEYS, f"suite {source}")
    for key in ("name", "methods", "experiments"):
        if key not in raw:
            raise ValueError(f"suite {source} needs a {key!r} entry")
    seeds = raw.get("seeds", [0])
    if not isinstance(seeds, list) or not seeds or not all(isinstance(s, int) and s >= 0 for s in seeds):
        raise ValueError(f"suite {source}: seeds must be a non-empty list of non-negative ints, got {seeds!r}")
    metrics = raw.get("metrics", list(KNOWN_METRICS))
    unknown = [m for m in metrics if m not in KNOWN_METRICS]
    if unknown or not metrics:
        raise ValueError(f"suite {source}: metrics must be a non-empty subset of {KNOWN_METRICS}, got {metrics!r}")
    if not isinstance(raw["methods"], dict):
        raise ValueError(f"suite {source}: methods must be a table of method tables ([methods.LABEL]), "
                         f"got {type(raw['methods']).__name__}")
    methods = {label: _check_method(label, spec, source) for label, spec in raw["methods"].items()}
    experiments = raw["experiments"]
    if not isinstance(experiments, list) or not experiments:
        raise ValueError(f"suite {source}: experiments must be a non-empty array of tables ([[experiments]])")
    for index, experiment in enumerate(experiments):
        _check_experiment(experiment, methods, f"suite {source} experiment {index}")
    names = [e["name"] for e in experiments]
    if len(set(names)) != len(names):
        raise ValueError(f"suite {source}: experiment names must be unique, got {names}")
    return Suite(name=str(raw["name"]), description=str(raw.get("description", "")), seeds=list(seeds),
                 metrics=list(metrics), methods=methods, experiments=experiments, source=source)


def _check_keys(table, allowed: set[str], where: str) -> None:
    if not isinstance(table, dict):
        raise ValueError(f"{where} must be a table, got {type(table).__name__}")
    unknown = sorted(set(table) - allowed)
    if unknown:
        raise ValueError(f"{where}: unknown key(s) {unknown}; allowed: {sorted(allowed)}")


def _check_required(table: dict, keys, where: str) -> None:
    absent = [key for key in keys if key not in table]
    if absent:
        raise ValueError(f"{where} needs the key(s) {absent}")


def _check_method(label: str, spec, source: str) -> dict:
    if not isinstance(spec, dict):
        raise ValueError(f"suite {source}: methods.{label} must be a table")
    name = spec.get("method", label)
    if not known_method(name):
        raise ValueError(f"suite {source}: methods.{label}.method must be one of {sorted(METHODS)} or named "
                         f"priors joined by '+', got {name!r}")
    return {**spec, "method": name}


def _check_experiment(experiment, methods: dict, where: str) -> None:
    _check_keys(experiment, EXPERIMENT_KEYS, where)
    for key in EXPERIMENT_KEYS:
        if key not in experiment:
            raise ValueError(f"{where} needs a {key!r} entry")
    images = experiment["images"]
    if not isinstance(images, dict) or images.get("dataset") not in DATASETS:
        raise ValueError(f"{where}: images.dataset must be one of {sorted(DATASETS)}, got "
                         f"{images.get('dataset') if isinstance(images, dict) else images!r}")
    operator = experiment["operator"]
    if not isinstance(operator, dict) or operator.get("kind") not in OPERATOR_KINDS:
        raise ValueError(f"{where}: operator.kind must be one of {sorted(OPERATOR_KINDS)}, got "
                         f"{operator.get('kind') if isinstance(operator, dict) else operator!r}")
    allowed = OPERATOR_KINDS[operator["kind"]] | {"kind"}
    _check_keys(operator, allowed, f"{where} operator ({operator['kind']})")
    _check_required(operator, REQUIRED_OPERATOR_KEYS.get(operator["kind"], ()), f"{where} operator ({operator['kind']})")
    if images["dataset"] == "folder":
        _check_required(images, ("path",), f"{where} images (folder)")
    labels = experiment["methods"]
    if not isinstance(labels, list) or not labels or not all(isinstance(label, str) for label in labels):
        raise ValueError(f"{where}: methods must be a non-empty list of method labels, got {labels!r}")
    missing = [m for m in labels if m not in methods]
    if missing:
        raise ValueError(f"{where}: methods {missing} are not defined in [methods]; defined: {sorted(methods)}")


def expand(suite: Suite, data_dir: str | os.PathLike | None = None) -> Expansion:
    """Expand a suite into its cells (deduplicated by id, in suite order).

    Args:
        suite: the parsed suite.
        data_dir: the data folder (``$CSPRIOR_DATA`` when None); experiments whose images need it
            are skipped, with the reason in ``Expansion.skipped``, when it is absent.
    """
    data = resolve_data_dir(data_dir)
    expansion, seen = Expansion(), set()
    for experiment in suite.experiments:
        if needs_data(experiment["images"]) and data is None:
            expansion.skipped.append(
                f"experiment {experiment['name']!r} of suite {suite.name!r} needs the data folder: "
                f"set {DATA_ENV} or pass --data")
            continue
        try:
            images = list(_image_configs(experiment["images"], data))
        except FileNotFoundError as exc:
            expansion.skipped.append(f"experiment {experiment['name']!r} of suite {suite.name!r}: {exc}")
            continue
        for cell in _experiment_cells(suite, experiment, images):
            if cell.id not in seen:
                seen.add(cell.id)
                expansion.cells.append(cell)
    return expansion


def resolve_data_dir(data_dir=None) -> Path | None:
    """The data folder: ``data_dir`` if given, else ``$CSPRIOR_DATA``, else None.

    Raises FileNotFoundError when a folder is named but does not exist.
    """
    candidate = data_dir if data_dir is not None else os.environ.get(DATA_ENV) or None
    if candidate is None:
        return None
    path = Path(candidate).expanduser()
    if not path.is_dir():
        raise FileNotFoundError(f"data folder {path} does not exist (from {'--data' if data_dir else DATA_ENV})")
    return path


def _experiment_cells(suite: Suite, experiment: dict, images: list[dict]):
    operator = experiment["operator"]
    swept = [k for k, v in operator.items() if isinstance(v, list)]
    for image in images:
        for values in itertools.product(*(operator[k] for k in swept)):
            op_config = {**operator, **dict(zip(swept, values))}
            for label in experiment["methods"]:
                method = {"label": label, **suite.methods[label]}
                for seed in suite.seeds:
                    config = {"image": image, "operator": op_config, "method": method, "seed": seed}
                    yield Cell(id=cell_id(config), config=json.loads(canonical_json(config)), suite=suite.name,
                               experiment=experiment["name"], metrics=tuple(suite.metrics),
                               setting=describe_operator(op_config), ratio=sampling_ratio(op_config))


def _image_configs(images: dict, data: Path | None):
    dataset = images["dataset"]
    fixed = {k: v for k, v in images.items() if k not in ("names", "count", "path")}
    if dataset == "folder":
        folder = Path(images["path"])
        root = folder if folder.is_absolute() else data / folder
        if not root.is_dir():
            raise FileNotFoundError(f"image folder {root} does not exist")
        from csprior.datasets.images import IMAGE_SUFFIXES

        files = sorted(p for p in root.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
        files = files[: images.get("count", len(files))]
        if not files:
            raise FileNotFoundError(f"image folder {root} holds no images")
        for file in files:
            relative = file.relative_to(data) if data is not None and file.is_relative_to(data) else file
            yield {**fixed, "path": relative.as_posix()}
    elif "names" in images:
        for name in images["names"][: images.get("count", len(images["names"]))]:
            yield {**fixed, "name": name}
    else:
        yield fixed
