"""What the app does when a person presses Start: hand the run to the warm standby worker and wait for the model.

    .venv/bin/python bench/app_run.py DATA [--lr LR] [--unfreeze N] [--epochs N] [--prepare-ahead]

Uses TRANSFERLAB_HOME as the app would. Waits (untimed) until a standby worker has paid for its
imports, then times `start_run` → the run's status saying finished, polling the run folder every
20 ms as a page would. Prints the run's events re-timed from Start ("since_start_s"), then a
"finished" line with start_to_model_s and the worker's peak RSS (VmHWM, read while it lives).
--prepare-ahead first does what the Train page does while a person reads it (`request_prepare`), waits
until the frozen features are cached (timed, reported as a note), and only then presses Start.
"""
from __future__ import annotations

import argparse
import os
import shutil
import signal
import sys
import time
from pathlib import Path

from harness import emit, parent_of  # bench/ is on sys.path
from tl_core.config import RunConfig
from tl_core.runs import start_run
from tl_core.standby import ensure_standby, pid_alive, request_prepare, standby_dir
from tl_core.workspace import cache_dir, read_json

READY_TIMEOUT_S = 300
RUN_TIMEOUT_S = 1200
ENDED = ("finished", "failed", "cancelled", "interrupted")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("data")
    parser.add_argument("--unfreeze", type=int, default=0)
    parser.add_argument("--lr", type=float, default=0.0)
    parser.add_argument("--epochs", type=int, default=0)
    parser.add_argument("--prepare-ahead", action="store_true")
    args = parser.parse_args()
    config = RunConfig(data=args.data, unfreeze=args.unfreeze, lr=args.lr, epochs=args.epochs)

    ensure_standby()
    waited = time.time()
    while not any(pid_alive(int(p.stem)) for p in standby_dir().glob("*.ready")):
        if time.time() - waited > READY_TIMEOUT_S:
            emit(event="failed", reason="no standby worker became ready")
            return 1
        time.sleep(0.05)
    emit(event="note", text=f"standby worker ready after {time.time() - waited:.1f} s")
    if args.prepare_ahead:
        asked = time.time()
        request_prepare(config)
        while not list(cache_dir("frozen").glob("*.safetensors")) and time.time() - asked < READY_TIMEOUT_S:
            time.sleep(0.02)
        emit(event="note", prepared_ahead_s=time.time() - asked,
              text=f"features prepared ahead in {time.time() - asked:.1f} s (while a person reads the Train page)")

    start = time.time()
    run = start_run(config)
    peak_kb, state = 0, None
    while time.time() - start < RUN_TIMEOUT_S:
        status = read_json(run.dir / "status.json", {}) or {}
        peak_kb = max(peak_kb, _vm_hwm_kb(status.get("pid")))
        state = status.get("state")
        if state in ENDED:
            break
        time.sleep(0.02)
    start_to_model = time.time() - start
    for event in run.events():
        emit(**event, since_start_s=event["time"] - start)
    emit(event="app_run", state=state, start_to_model_s=start_to_model, worker_peak_rss_mb=peak_kb / 1024)
    _stop_my_standbys()
    return 0 if state == "finished" else 1


def _stop_my_standbys() -> None:
    """start_run leaves a fresh standby waiting for the next run; the bench has none, so end ours (by pid)."""
    folder = standby_dir()
    for marker in folder.glob("*.*"):
        if marker.stem.isdigit() and parent_of(int(marker.stem)) == os.getpid():
            try:
                os.kill(int(marker.stem), signal.SIGTERM)
            except ProcessLookupError:
                pass
    shutil.rmtree(folder, ignore_errors=True)


def _vm_hwm_kb(pid) -> int:
    if not pid:
        return 0
    try:
        line = next(l for l in Path(f"/proc/{pid}/status").read_text().splitlines() if l.startswith("VmHWM"))
        return int(line.split()[1])
    except (OSError, StopIteration, ValueError):
        return 0


if __name__ == "__main__":
    sys.exit(main())
