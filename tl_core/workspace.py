"""Where TransferLab keeps things: runs, caches, uploads. `TRANSFERLAB_HOME` moves it (tests use a temp dir)."""
from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path


def home() -> Path:
    path = Path(os.environ.get("TRANSFERLAB_HOME", "~/.transferlab")).expanduser()
    path.mkdir(parents=True, exist_ok=True)
    return path


def cache_dir(name: str) -> Path:
    path = home() / "cache" / name
    path.mkdir(parents=True, exist_ok=True)
    return path


def digest(*parts: object) -> str:
    return hashlib.sha1(json.dumps(parts, default=str, sort_keys=True).encode()).hexdigest()[:20]


def write_atomic(path: Path, data: bytes | str) -> None:
    """Write to a temp file beside `path`, then rename: a crash or a full disk never leaves half a file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data.encode() if isinstance(data, str) else data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_json(path: Path, value: object) -> None:
    write_atomic(path, json.dumps(value, indent=2, default=str))


def read_json(path: Path, default: object = None):
    try:
        return json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return default


def save_tensors(path: Path, tensors: dict) -> None:
    """safetensors, written atomically: caches and checkpoints are never half-written."""
    from safetensors.torch import save

    write_atomic(path, save({k: v.contiguous() for k, v in tensors.items()}))


def load_tensors(path: Path) -> dict:
    from safetensors.torch import load_file

    return load_file(str(path))
