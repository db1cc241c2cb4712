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


CACHE_LIMIT_GB = float(os.environ.get("TRANSFERLAB_CACHE_GB", "20"))
REBUILT_CACHES = ("decoded", "frozen", "onnx")  # not "unzipped": that is the person's own data, unpacked


def trim_caches(limit_bytes: float | None = None) -> list[Path]:
    """Delete the least recently used cache files until the caches take at most the limit on disk.

    Caches are rebuilt when missing, so this only costs a later run some time. Each cache hit touches
    its file (`touch_cache`), so what runs keep using stays. A file a process still has memory-mapped
    stays readable for it after deletion (the disk space comes back when it closes).
    """
    limit = CACHE_LIMIT_GB * 1024**3 if limit_bytes is None else limit_bytes
    files = [(f.stat(), f) for name in REBUILT_CACHES for f in cache_dir(name).iterdir() if f.is_file()]
    total = sum(st.st_size for st, _ in files)
    removed = []
    for st, f in sorted(files, key=lambda pair: pair[0].st_mtime):
        if total <= limit:
            break
        f.unlink(missing_ok=True)
        total -= st.st_size
        removed.append(f)
    return removed


def touch_cache(path: Path) -> None:
    try:
        os.utime(path)
    except OSError:
        pass


def digest(*parts: object) -> str:
    return hashlib.sha1(json.dumps(parts, default=str, sort_keys=True).encode()).hexdigest()[:20]


def write_atomic(path: Path, data: bytes | str, durable: bool = True) -> None:
    """Write to a temp file beside `path`, then rename: a crash or a full disk never leaves half a file.

    `durable=False` skips the fsync: for caches, which are rebuilt when lost, it saves a few hundred ms.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data.encode() if isinstance(data, str) else data)
            f.flush()
            if durable:
                os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_json(path: Path, value: object, durable: bool = True) -> None:
    write_atomic(path, json.dumps(value, indent=2, default=str), durable)


def read_json(path: Path, default: object = None):
    try:
        return json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return default


def save_tensors(path: Path, tensors: dict, durable: bool = True) -> None:
    """safetensors, written atomically: caches and checkpoints are never half-written."""
    from safetensors.torch import save

    write_atomic(path, save({k: v.contiguous() for k, v in tensors.items()}), durable)


def load_tensors(path: Path) -> dict:
    from safetensors.torch import load_file

    return load_file(str(path))
