"""TransferLab's memory benchmark: head-only training on a 20 000-image dataset, with its peak memory.

    .venv/bin/python bench/memory.py --label before --code /tmp/tl-before   # a checkout of the old engine
    .venv/bin/python bench/memory.py --label after                          # this checkout's engine

1. Makes the dataset once, outside the repository (default /tmp/transferlab-20k; reused when its marker
   file says it is complete): ants/ and bees/ with --count JPEGs in all, each a random augmentation
   (resized crop, flip, small rotation, colour jitter; fixed seed) of a photo of
   ../shared/datasets/hymenoptera_data/train, at the original's size and JPEG quality 90.
2. Runs `python -m tl_core.cli train FOLDER --unfreeze 0 --json` in its own process (cwd = --code, so that
   checkout's tl_core is imported) with a fresh TRANSFERLAB_HOME, sampling /proc/PID/status every 0.5 s
   (VmRSS, RssAnon, RssFile) and /proc/meminfo (MemAvailable); the whole-process peak is os.wait4's
   ru_maxrss. The run is killed if its RSS passes --limit-gb or the machine runs nearly out of memory.
3. Writes docs/memory.md (see --out) with every labelled result so far (they are kept inside the page, in
   an HTML comment, so a later "after" run adds its row next to the "before" one) and prints a JSON summary.
"""
from __future__ import annotations

import argparse
import datetime
import json
import math
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from harness import ROOT, SHARED, Child, commit, log, machine, outcome, pct  # bench/ is on sys.path

SOURCE = SHARED / "hymenoptera_data" / "train"
CLASSES = ("ants", "bees")
MARKER = "generated.json"            # written last, next to the folder (FOLDER.generated.json)
RESULTS_TAG = "memory-results"       # docs/memory.md keeps the raw results in <!-- memory-results {...} -->
SAMPLE_S = 0.5
GB = 1024**3


# ---------------------------------------------------------------- 1. the dataset

def marker_path(folder: Path) -> Path:
    # next to the folder, not inside it: the engine should see nothing but class folders of photos
    return folder.parent / f"{folder.name}.{MARKER}"


def source_photos() -> list[tuple[str, Path]]:
    """(class, path) of every real JPEG in the shared train split; placeholders PIL cannot open as JPEG are skipped."""
    from PIL import Image

    out = []
    for cls in CLASSES:
        for path in sorted((SOURCE / cls).iterdir()):
            try:
                with Image.open(path) as im:
                    if im.format != "JPEG":
                        continue
                    im.verify()
            except Exception as error:  # PIL raises many kinds for a file that is not a picture
                log(f"dataset: skipping {path.name}, not a JPEG PIL can read ({type(error).__name__}: {error})")
                continue
            out.append((cls, path))
    return out


_SOURCES: dict = {}


def _augment_one(job: tuple[int, str, str, int]) -> int:
    """Write one augmented copy of `src` to `dst` (a worker of the process pool). Returns the bytes written."""
    from PIL import Image, ImageEnhance

    index, src, dst, seed = job
    if src not in _SOURCES:  # each worker keeps the few hundred originals it has decoded
        with Image.open(src) as im:
            _SOURCES[src] = im.convert("RGB")
    image = _SOURCES[src]
    rng = random.Random(seed * 1_000_003 + index)
    w, h = image.size
    # random resized crop: 40-100 % of the area, aspect ratio 3/4 .. 4/3 of the original's, back to the original size
    for _ in range(10):
        area = rng.uniform(0.4, 1.0) * w * h
        ratio = (w / h) * rng.uniform(0.75, 1.333)
        cw, ch = round((area * ratio) ** 0.5), round((area / ratio) ** 0.5)
        if cw <= w and ch <= h:
            break
    else:
        cw, ch = w, h
    x, y = rng.randint(0, w - cw), rng.randint(0, h - ch)
    out = image.crop((x, y, x + cw, y + ch))
    angle = rng.uniform(-10, 10)  # small rotation, then the centre that has no empty corners
    out = out.rotate(angle, resample=Image.BILINEAR, expand=False)
    t = math.radians(abs(angle))
    keep = 1 / (math.cos(t) + math.sin(t) * max(cw, ch) / min(cw, ch))
    kw, kh = cw * keep, ch * keep
    out = out.crop((round((cw - kw) / 2), round((ch - kh) / 2), round((cw + kw) / 2), round((ch + kh) / 2)))
    out = out.resize((w, h), Image.BILINEAR)
    if rng.random() < 0.5:
        out = out.transpose(Image.FLIP_LEFT_RIGHT)
    for enhance in (ImageEnhance.Brightness, ImageEnhance.Contrast, ImageEnhance.Color):
        out = enhance(out).enhance(rng.uniform(0.75, 1.25))
    tmp = dst + ".part"
    out.save(tmp, format="JPEG", quality=90)
    os.replace(tmp, dst)  # a killed generation never leaves a half-written JPEG behind
    return os.path.getsize(dst)


def generate(folder: Path, count: int, seed: int, workers: int = 2) -> dict:
    """Make (or reuse) the dataset. Returns what the marker file records."""
    marker = marker_path(folder)
    if marker.exists():
        info = json.loads(marker.read_text())
        if info.get("count") == count and info.get("seed") == seed:
            log(f"dataset: reusing {folder} ({count} images, made in {info.get('seconds', 0):.0f} s)")
            return {**info, "reused": True}
        log(f"dataset: {folder} was made with other settings ({info}); making it again")
        marker.unlink()
    sources = source_photos()
    if not sources:
        raise SystemExit(f"no source photos under {SOURCE}")
    for cls in CLASSES:
        (folder / cls).mkdir(parents=True, exist_ok=True)
    jobs = []
    for i in range(count):  # cycle over the originals, so the class balance is theirs
        cls, src = sources[i % len(sources)]
        dst = folder / cls / f"aug{i:05d}_{src.stem}.jpg"
        if not dst.exists():  # an interrupted generation resumes where it stopped
            jobs.append((i, str(src), str(dst), seed))
    log(f"dataset: writing {len(jobs)} of {count} images to {folder} ({len(sources)} originals, {workers} processes)")
    started = time.perf_counter()
    done = 0
    with ProcessPoolExecutor(max_workers=workers) as pool:
        for _ in pool.map(_augment_one, jobs, chunksize=64):
            done += 1
            if done % 2000 == 0:
                log(f"  {done}/{len(jobs)} images, {time.perf_counter() - started:.0f} s")
    seconds = time.perf_counter() - started
    files = [p for cls in CLASSES for p in (folder / cls).glob("*.jpg")]
    info = {"folder": str(folder), "count": count, "seed": seed, "originals": len(sources), "seconds": seconds,
            "images_written": len(jobs), "files": len(files), "per_class": {c: len(list((folder / c).glob("*.jpg")))
                                                                          for c in CLASSES},
            "bytes": sum(p.stat().st_size for p in files), "workers": workers,
            "made": datetime.datetime.now().isoformat(timespec="seconds")}
    if len(files) != count:
        raise SystemExit(f"dataset: expected {count} JPEGs in {folder}, found {len(files)}")
    marker.write_text(json.dumps(info, indent=1))
    log(f"dataset: done in {seconds:.0f} s ({info['bytes'] / 1e9:.2f} GB)")
    return {**info, "reused": False}


# ---------------------------------------------------------------- 2. the measured run

def read_status(pid: int) -> dict[str, int] | None:
    """VmRSS, RssAnon, RssFile, RssShmem, VmHWM, VmSwap of one process, in bytes (None once it is gone)."""
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    out = {}
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "RssAnon", "RssFile", "RssShmem", "VmHWM", "VmSwap"):
            out[key] = int(value.split()[0]) * 1024
    return out or None


def descendants(pid: int) -> list[int]:
    """pid's child processes, recursively (the engine trains in-process, but a library could start helpers)."""
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        try:
            for task in Path(f"/proc/{p}/task").iterdir():
                kids = [int(k) for k in (task / "children").read_text().split()]
                out += kids
                todo += kids
        except OSError:
            pass
    return out


def mem_available() -> int:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemAvailable:"):
            return int(line.split()[1]) * 1024
    return 0


def tree_size(path: Path) -> dict:
    """Bytes on disk (allocated blocks) and apparent bytes under path, in all and per top-two-level folder."""
    total = apparent = 0
    parts: dict[str, int] = {}
    for p in path.rglob("*"):
        if p.is_file() and not p.is_symlink():
            st = p.stat()
            total += st.st_blocks * 512
            apparent += st.st_size
            rel = p.relative_to(path).parts
            key = "/".join(rel[:2]) if len(rel) > 2 else rel[0]
            parts[key] = parts.get(key, 0) + st.st_blocks * 512
    big = dict(sorted(parts.items(), key=lambda kv: -kv[1])[:6])
    return {"disk_bytes": total, "apparent_bytes": apparent, "largest": big}


def phase_of(event: dict) -> str:
    kind = event.get("event")
    if kind == "preparing":
        text = re.sub(r"\d[\d,]*", "N", str(event.get("text") or "preparing"))  # "Reading N pictures"
        return f"preparing: {text}"
    if kind in ("started", "progress", "epoch"):
        return "training"
    return kind or "?"


class Sampler:
    """Samples the child's memory every SAMPLE_S in a thread: peaks (overall, per phase), the machine's lowest
    MemAvailable, a timeline; stops the child past the RSS limit, near out of memory, or after the timeout."""

    def __init__(self, child: Child, limit_gb: float, min_available_gb: float, timeout_s: float, available: int):
        self.child, self.limits = child, (limit_gb, min_available_gb, timeout_s)
        self.phase = "imports"
        self.peaks = {k: 0 for k in ("VmRSS", "RssAnon", "RssFile", "RssShmem", "VmSwap", "tree_rss")}
        self.peak_at: dict[str, tuple[float, str]] = {}
        self.per_phase: dict[str, dict] = {}
        self.timeline: list[list] = []
        self.low = {"available": available, "at_s": 0.0, "phase": "start"}
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def finish(self) -> None:
        self._done.set()
        self._thread.join()

    def _run(self) -> None:
        next_t = time.perf_counter()
        while not self._done.is_set():
            t = time.perf_counter() - self.child.started
            s = read_status(self.child.proc.pid)
            if s:
                self._record(t, s)
            next_t += SAMPLE_S
            self._done.wait(max(0.0, next_t - time.perf_counter()))

    def _record(self, t: float, s: dict) -> None:
        pid = self.child.proc.pid
        tree = s["VmRSS"] + sum((read_status(k) or {}).get("VmRSS", 0) for k in descendants(pid))
        s["tree_rss"] = tree
        for k in self.peaks:
            if s.get(k, 0) > self.peaks[k]:
                if s[k] > self.peaks[k] * 1.01:  # when it first came within 1 % of the peak, not the last wobble
                    self.peak_at[k] = (round(t, 1), self.phase)
                self.peaks[k] = s[k]
        ph = self.per_phase.setdefault(self.phase, {"VmRSS": 0, "RssAnon": 0, "RssFile": 0})
        for k in ph:
            ph[k] = max(ph[k], s.get(k, 0))
        avail = mem_available()
        if avail < self.low["available"]:
            self.low.update(available=avail, at_s=round(t, 1), phase=self.phase)
        self.timeline.append([round(t, 1), s["VmRSS"] >> 20, s.get("RssAnon", 0) >> 20, s.get("RssFile", 0) >> 20,
                              avail >> 20])
        limit_gb, min_available_gb, timeout_s = self.limits
        if tree > limit_gb * GB:
            self._stop(f"RSS {tree / GB:.1f} GB passed the {limit_gb:g} GB limit at {t:.0f} s ({self.phase})")
        elif avail < min_available_gb * GB:
            self._stop(f"the machine had only {avail / GB:.1f} GB available at {t:.0f} s "
                       f"(RSS {tree / GB:.1f} GB, {self.phase})")
        elif t > timeout_s:
            self._stop(f"timed out after {timeout_s:.0f} s (RSS {tree / GB:.1f} GB, {self.phase})")

    def _stop(self, why: str) -> None:
        if self.child.stopped is None:
            log(f"run: stopping it: {why}")
        self.child.stop(f"stopped: {why}")


def measure(code: Path, folder: Path, limit_gb: float, min_available_gb: float, timeout_s: float,
            keep_home: bool) -> dict:
    home = Path(tempfile.mkdtemp(prefix="tl-mem-home-", dir="/tmp"))
    env = {**os.environ, "TRANSFERLAB_HOME": str(home), "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
           "TRANSFERLAB_STANDBY": "0", "PYTHONPATH": str(code)}  # PYTHONPATH too: --code's tl_core wins over the venv's
    cmd = [sys.executable, "-m", "tl_core.cli", "train", str(folder), "--unfreeze", "0", "--json"]
    where = subprocess.run([sys.executable, "-c", "import tl_core; print(tl_core.__file__)"], cwd=code, env=env,
                           capture_output=True, text=True).stdout.strip()
    if not where.startswith(str(code.resolve())):
        raise SystemExit(f"--code {code}: tl_core would be imported from {where!r}, not from that checkout")
    available_before = mem_available()
    load_before = os.getloadavg()[0]
    log(f"run: {' '.join(cmd[1:])}  (cwd {code}, TRANSFERLAB_HOME {home})")
    with Child(cmd, env, cwd=code) as child:
        sampler = Sampler(child, limit_gb, min_available_gb, timeout_s, available_before)
        events, firsts = [], {}
        try:
            for event in child.events():
                event["_arrival_s"] = round(event["_arrival_s"], 2)
                if event.get("event") != "progress":  # thousands of them; only the first per phase matters
                    events.append(event)
                sampler.phase = phase_of(event)
                firsts.setdefault(sampler.phase, event["_arrival_s"])
                if event.get("event") in ("started", "finished", "failed", "cancelled"):
                    firsts.setdefault(event["event"], event["_arrival_s"])
            result = child.wait()
        finally:
            sampler.finish()
    wall, tail = result["wall_s"], result["stderr_tail"]
    disk = tree_size(home)
    if not keep_home:
        shutil.rmtree(home, ignore_errors=True)

    epochs = [e for e in events if e.get("event") == "epoch" and e.get("val_accuracy") is not None]
    finished = next((e for e in events if e.get("event") == "finished"), None)
    started_ev = next((e for e in events if e.get("event") == "started"), None)
    status_text = outcome(result, events)
    return {
        "status": status_text, "rc": result["rc"], "wall_s": round(wall, 1),
        "peak_rss_wait4_bytes": round(result["peak_rss_mb"] * 1024 * 1024),
        "peak_sampled_bytes": sampler.peaks, "peak_at": sampler.peak_at, "peak_per_phase_bytes": sampler.per_phase,
        "mem_available_before_bytes": available_before, "mem_available_min_bytes": sampler.low["available"],
        "mem_available_min_at": [sampler.low["at_s"], sampler.low["phase"]], "load_before": round(load_before, 2),
        "load_after": round(os.getloadavg()[0], 2), "cpu_s": round(result["cpu_s"], 1),
        "phase_starts_s": firsts,
        "phases_s": phase_durations(firsts, wall),
        "val_accuracy_final": epochs[-1]["val_accuracy"] if epochs else None,
        "best_val_accuracy": finished.get("best_val_accuracy") if finished else None,
        "epochs": len(epochs),
        "train_examples": started_ev.get("train_examples") if started_ev else None,
        "path": started_ev.get("path") if started_ev else None,
        "device": started_ev.get("device") if started_ev else None,
        "home_disk": disk, "cmd": " ".join(cmd[1:]), "stderr_tail": tail if status_text != "ok" else [],
        "notes": [e.get("text") for e in events if e.get("event") == "note"][:5],
        "timeline_mb": sampler.timeline[:: max(1, len(sampler.timeline) // 400)],  # t, VmRSS, RssAnon, RssFile, MemAvailable
    }


def phase_durations(firsts: dict[str, float], wall: float) -> dict[str, float]:
    """Seconds from each phase's first event to the next phase's, in order; 'imports' runs from process start."""
    marks = sorted(((t, name) for name, t in firsts.items() if name not in ("started", "training")), key=lambda x: x[0])
    if "training" in firsts:
        marks.append((firsts["training"], "training"))
        marks.sort(key=lambda x: x[0])
    marks = [(0.0, "imports")] + [m for m in marks if m[1] != "imports"]
    out = {}
    for (t, name), nxt in zip(marks, marks[1:] + [(wall, "end")]):
        if name in ("finished", "failed", "cancelled"):
            name = f"{name} -> exit"
        out[name] = round(nxt[0] - t, 1)
    return out


# ---------------------------------------------------------------- 3. the report

def gb(value) -> str:
    return "—" if value is None else f"{value / GB:.2f}"


def load_results(out: Path) -> dict:
    if not out.exists():
        return {}
    found = re.search(rf"<!-- {RESULTS_TAG}\n(.*?)\n-->", out.read_text(), re.S)
    return json.loads(found.group(1)) if found else {}


def render(results: dict) -> str:
    labels = list(results)
    rows = [
        ("engine (checkout)", lambda r: f"`{r['code_id']}`"),
        ("status", lambda r: r["status"] if r["status"] == "ok" else f"**{r['status']}**"),
        ("peak RSS, whole process (ru_maxrss, GiB)", lambda r: gb(r["peak_rss_wait4_bytes"])),
        ("peak VmRSS sampled (GiB)", lambda r: gb(r["peak_sampled_bytes"]["VmRSS"])),
        ("peak RssAnon: anonymous memory (GiB)", lambda r: gb(r["peak_sampled_bytes"]["RssAnon"])),
        ("peak RssFile: file-backed pages (GiB)", lambda r: gb(r["peak_sampled_bytes"]["RssFile"])),
        ("peak first reached (within 1 %)", lambda r: "{:.0f} s, {}".format(*r["peak_at"]["VmRSS"])),
        ("MemAvailable before → lowest (GiB)",
         lambda r: f"{gb(r['mem_available_before_bytes'])} → {gb(r['mem_available_min_bytes'])}"),
        ("whole process (s)", lambda r: f"{r['wall_s']:.0f}"),
        ("CPU time, user + system (s)", lambda r: f"{r['cpu_s']:.0f}"),
        ("phases (s), from each phase's first event", lambda r: "<br>".join(f"{k}: {v:.0f}" for k, v in r["phases_s"].items())),
        ("training examples · path", lambda r: f"{r.get('train_examples') or '—'} · {r.get('path') or '—'}"),
        ("val accuracy: final epoch / best", lambda r: f"{pct(r['val_accuracy_final'])} / {pct(r['best_val_accuracy'])}"),
        ("TRANSFERLAB_HOME on disk at the end (GiB)", lambda r: gb(r["home_disk"]["disk_bytes"])),
        ("… largest parts", lambda r: ", ".join(f"{k} {v / GB:.2f}" for k, v in r["home_disk"]["largest"].items())),
        ("measured", lambda r: f"{r['when']}, load average (1 min) {r['load_before']:.1f} before"
                               + (f", {r['load_after']:.1f} after" if "load_after" in r else "")),
    ]
    table = ["| | " + " | ".join(labels) + " |", "|---|" + "---|" * len(labels)]
    for name, get in rows:
        cells = []
        for label in labels:
            try:
                cells.append(str(get(results[label])).replace("|", "/"))
            except (KeyError, TypeError, IndexError):
                cells.append("—")
        table.append(f"| {name} | " + " | ".join(cells) + " |")
    per_phase = []
    for label in labels:
        for phase, p in results[label].get("peak_per_phase_bytes", {}).items():
            per_phase.append(f"| {label} | {phase} | {gb(p['VmRSS'])} | {gb(p['RssAnon'])} | {gb(p['RssFile'])} |")
    notes = "\n".join(f"- *{label}*: {results[label]['note']}" for label in labels if results[label].get("note"))
    any_r = results[labels[-1]]
    data = any_r.get("dataset", {})
    m = any_r.get("machine", {})
    per_class = ", ".join(f"{n:,} in {c}/" for c, n in data.get("per_class", {}).items())
    raw = json.dumps({k: {kk: vv for kk, vv in v.items() if kk != "timeline_mb"} for k, v in results.items()},
                     indent=1, default=str)
    return f"""# Memory: head-only training on 20 000 images

Issue 8, target 7: the caches are bounded (spill to disk beyond a limit), so a 20 000-image dataset trains
head-only on a 24 GB machine. This page is written by `bench/memory.py`; each labelled run adds a column.

Machine: {m.get('cpu', '?')}, {m.get('cores', '?')} cores, {m.get('memory_gb', '?')} GB, no swap, no GPU.
Data: {data.get('count', '?')} JPEGs in `{data.get('folder', '?')}` ({per_class}),
each a random augmentation (resized crop of 40–100 % of the area, ±10° rotation, flip, brightness/contrast/colour
±25 %, seed {data.get('seed', '?')}) of one of the {data.get('originals', '?')} photos of
`../shared/datasets/hymenoptera_data/train`, at the original's size (mostly 500×375) and JPEG quality 90:
{data.get('bytes', 0) / 1e9:.2f} GB on disk, made in {data.get('seconds', 0):.0f} s with {data.get('workers', 2)} processes.
Run: `transferlab train FOLDER --unfreeze 0 --json` (the defaults: light augmentation, so every training image is
seen as itself and its mirror; 20 % held out for validation), in a fresh `TRANSFERLAB_HOME` (cold caches).

## Results

{chr(10).join(table)}

{notes}

Peak per phase (largest sample in each phase, GiB):

| run | phase | VmRSS | RssAnon | RssFile |
|---|---|---|---|---|
{chr(10).join(per_phase)}

## What the numbers mean

- **RssAnon** is anonymous memory: tensors, NumPy arrays, Python objects. There is no swap on this machine, so
  every byte of it must stay in RAM until the process frees it; this is what runs a machine out of memory.
- **RssFile** is file-backed pages mapped into the process: shared libraries (torch, ONNX Runtime: a few hundred MB)
  and memory-mapped files such as an mmap-ed decode cache. Clean file pages are page cache: the kernel
  can drop them under memory pressure and read them back from disk later, so a large RssFile costs
  speed when memory is short, not a crash.
- **VmRSS** = RssAnon + RssFile + RssShmem, sampled every {SAMPLE_S} s (so a brief spike can fall between samples);
  **ru_maxrss** (`os.wait4`) is the kernel's own high-water mark of VmRSS for the whole process life: it counts
  file-backed pages too, so with memory-mapped caches it overstates what must stay resident.
- **MemAvailable** (from `/proc/meminfo`) is the kernel's estimate of what could still be given out without
  swapping, page cache included; its lowest point is the machine-wide squeeze (other processes on the
  machine move it too).
- *TRANSFERLAB_HOME on disk*: what the caches (decoded pictures, frozen features) and the run folder occupy after
  the run; they are reused by a second run on the same files.
- *val accuracy*: the validation split holds other augmentations of the same 244 photos the training split
  comes from, so it is a sanity check that training worked, not a measure of generalisation.

## How to reproduce

```bash
git worktree add /tmp/tl-before <commit>                                  # the engine to compare with
.venv/bin/python bench/memory.py --label before --code /tmp/tl-before    # makes /tmp/transferlab-20k first
.venv/bin/python bench/memory.py --label after                            # this checkout (--code defaults to it)
```

The dataset is made once (about {data.get('seconds', 0) / 60:.0f} min on 2 cores) and reused while
`/tmp/transferlab-20k.{MARKER}` says it is complete. A run whose RSS passes `--limit-gb` (20) or that leaves the
machine under `--min-available-gb` (1) is killed and recorded as stopped. Run it on an otherwise idle machine.

<!-- {RESULTS_TAG}
{raw}
-->
"""


# ---------------------------------------------------------------- main

def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--count", type=int, default=20_000, help="images in the generated dataset")
    parser.add_argument("--folder", type=Path, default=Path("/tmp/transferlab-20k"),
                        help="where the dataset is made (outside the repository)")
    parser.add_argument("--seed", type=int, default=0, help="augmentation seed of the dataset")
    parser.add_argument("--code", type=Path, default=ROOT, help="the checkout whose tl_core runs (default: this one)")
    parser.add_argument("--label", default="after", help="the result's name, a column of the table (before, after, …)")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "memory.md",
                        help="the report; results already in it are kept (same label: replaced)")
    parser.add_argument("--limit-gb", type=float, default=20.0, help="kill the run when its RSS passes this")
    parser.add_argument("--min-available-gb", type=float, default=1.0,
                        help="kill the run when the machine's MemAvailable falls below this")
    parser.add_argument("--timeout", type=float, default=3600.0, help="kill the run after this many seconds")
    parser.add_argument("--keep-home", action="store_true", help="keep the run's TRANSFERLAB_HOME")
    parser.add_argument("--generate-only", action="store_true", help="make the dataset and stop")
    parser.add_argument("--note", default="", help="a remark shown under the table for this label")
    parser.add_argument("--render-only", action="store_true",
                        help="run nothing: rewrite --out from the results already in it (with --note: set that label's)")
    args = parser.parse_args()

    if args.render_only:
        results = load_results(args.out)
        if args.note and args.label in results:
            results[args.label]["note"] = args.note
        args.out.write_text(render(results))
        return 0
    folder = args.folder.resolve()
    if folder == ROOT or ROOT in folder.parents:
        raise SystemExit("--folder must be outside the repository")
    dataset = generate(folder, args.count, args.seed)
    if args.generate_only:
        print(json.dumps(dataset, indent=1))
        return 0
    code = args.code.resolve()
    result = measure(code, folder, args.limit_gb, args.min_available_gb, args.timeout, args.keep_home)
    result.update(label=args.label, code=str(code), code_id=commit(code), dataset=dataset, machine=machine(code),
                  when=datetime.datetime.now().strftime("%Y-%m-%d %H:%M"), note=args.note)
    raw = Path(tempfile.gettempdir()) / f"transferlab-memory-{args.label}.json"
    raw.write_text(json.dumps(result, indent=1, default=str))  # with the sampled timeline, for plots
    results = load_results(args.out)
    results[args.label] = {k: v for k, v in result.items() if k != "timeline_mb"}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(render(results))
    summary = {k: result[k] for k in ("label", "status", "wall_s", "phases_s", "val_accuracy_final",
                                      "best_val_accuracy", "code_id")}
    summary.update(unit="GiB", peak_rss_wait4_gb=round(result["peak_rss_wait4_bytes"] / GB, 2),
                   peak_gb={k: round(v / GB, 2) for k, v in result["peak_sampled_bytes"].items()},
                   mem_available_gb=[round(result["mem_available_before_bytes"] / GB, 2),
                                     round(result["mem_available_min_bytes"] / GB, 2)],
                   home_disk_gb=round(result["home_disk"]["disk_bytes"] / GB, 2),
                   dataset_seconds=round(dataset.get("seconds", 0), 1), raw=str(raw), report=str(args.out))
    print(json.dumps(summary, indent=1))
    log(f"written to {args.out} and {raw}")
    return 0 if result["status"] == "ok" else 1


if __name__ == "__main__":
    sys.exit(main())
