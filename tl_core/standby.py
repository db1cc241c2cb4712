"""A worker process that has already paid for its imports, waiting to take the next run.

Importing torch, timm and transformers costs about 3-5 s of every fresh process here; on cached
features the training itself takes about one second. So the app keeps one worker warm: `start_run`
hands the run to it and starts another for the run after. Handing over is a rename (atomic, so one
run reaches one worker); a standby that waits too long, whose workspace is gone, or whose app is gone,
exits by itself. The app is its parent: a worker runs in its own session (so Stop can kill its group), so
stopping the server's process group does not reach it, and an idle standby held its memory (970 MB
resident once ready, measured) for 15 minutes. Once it has taken a run it no longer watches: the run
folder is the truth, and a restarted app reconnects.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

from .run_files import LOG
from .workspace import home, write_atomic

IDLE_EXIT_S = 15 * 60
POLL_S = 0.05
APP_POLL_S = 0.5
APP_PID = "TRANSFERLAB_APP_PID"  # given to a standby: the process it keeps warm for (its parent)
NEXT_PREPARE = "next.prepare"  # a preparation asked for before any worker was ready: the next one takes it
RANK = ".rank"  # a ranking handed to a ready worker: "<pid>.<record's stem>.rank" holds the record's path
BUSY = ".busy"  # "<pid>.busy": the worker is preparing ahead (a frozen pass can take minutes), so no ranking waits on it


def standby_dir() -> Path:
    path = home() / "standby"
    path.mkdir(parents=True, exist_ok=True)
    return path


def enabled() -> bool:
    return os.environ.get("TRANSFERLAB_STANDBY", "1") != "0"


def spawn_worker(args: list[str], log: Path, env: dict[str, str] | None = None) -> subprocess.Popen:
    """A worker in its own session: a crash there never reaches the app, and Stop can kill its whole group."""
    with open(log, "ab") as out:
        return subprocess.Popen([sys.executable, "-m", "tl_core.cli", "worker", *args], stdout=out,
                                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
                                env=env)


def hand_over(run_dir: Path) -> int | None:
    """Give `run_dir` to a warm worker; its pid, or None when none is ready."""
    for ready in sorted(standby_dir().glob("*.ready")):
        pid = int(ready.stem)
        claimed = ready.with_suffix(".claimed")
        try:
            os.rename(ready, claimed)
        except FileNotFoundError:  # another page claimed it first
            continue
        if not pid_alive(pid):
            claimed.unlink(missing_ok=True)
            continue
        write_atomic(standby_dir() / f"{pid}.job", str(run_dir))
        return pid
    return None


def hand_ranking(record: Path) -> int | None:
    """Give the background ranking whose record is `record` to a ready warm worker, which ranks between runs with
    its imports paid (3.4 s of a 16 s ranking of 80 pictures in a fresh process here); its pid, or None when none
    is ready and not preparing ahead. A run handed over meanwhile starts when the ranking ends (an automatic one
    waits for it anyway)."""
    if not enabled():
        return None
    for ready in sorted(standby_dir().glob("*.ready")):
        if pid_alive(int(ready.stem)) and not ready.with_suffix(BUSY).exists():
            write_atomic(standby_dir() / f"{ready.stem}.{record.stem}{RANK}", str(record))
            return int(ready.stem)
    return None


def request_prepare(config) -> None:
    """Ask the warm worker to fill the caches for `config` (a RunConfig) now, or as soon as one is ready.

    It stays ready meanwhile: a run handed over during the preparation starts when it ends, and being
    for the same data (the person pressed Start on the settings prepared), finds its features made.
    """
    if not enabled():
        return
    ready = [int(r.stem) for r in sorted(standby_dir().glob("*.ready")) if pid_alive(int(r.stem))]
    target = f"{ready[0]}.prepare" if ready else NEXT_PREPARE  # a page opened while the worker still imports
    write_atomic(standby_dir() / target, config.to_json())


def prepare_key(config) -> tuple | None:
    """What preparing `config` ahead fills, as a key: configs with equal keys need one preparation, and None
    means there is nothing to prepare (from scratch reads no frozen features). `trainer.prepare` trains
    nothing, so the epochs, learning rate and blocks to fine-tune are not part of it."""
    if config.from_scratch:
        return None
    return (config.data, config.model, config.augment, config.seed, config.val_split, config.text_column,
            config.label_column, tuple(sorted(config.label_names.items())))


def ensure_standby() -> None:
    """Keep one warm worker waiting (no-op when one is ready or starting)."""
    if not enabled():
        return
    folder = standby_dir()
    for marker in list(folder.glob("*.ready")) + list(folder.glob("*.starting")):
        if pid_alive(int(marker.stem)):
            return
        marker.unlink(missing_ok=True)
    process = spawn_worker(["--standby"], folder / "standby.log", env={**os.environ, APP_PID: str(os.getpid())})
    (folder / f"{process.pid}.starting").touch()


def wait_for_run() -> Path | None:
    """In the standby process: import what training needs, say ready, wait for a run folder.

    Until it takes a run, it ends with the app that started it (`APP_PID`); started by hand, it waits alone.
    """
    folder = standby_dir()
    me = os.getpid()
    taking = threading.Lock()  # held while a run is taken, so the app's end never cuts a handover short
    if os.environ.get(APP_PID):
        threading.Thread(target=_end_with_app, args=(int(os.environ[APP_PID]), folder, me, taking),
                         daemon=True).start()
    import timm  # noqa: F401  (the point is to pay these imports now)
    import transformers  # noqa: F401

    from . import train  # noqa: F401

    (folder / f"{me}.ready").touch()
    (folder / f"{me}.starting").unlink(missing_ok=True)
    job, request = folder / f"{me}.job", folder / f"{me}.prepare"
    waited_since = time.time()
    while folder.is_dir() and time.time() - waited_since < IDLE_EXIT_S:
        for ranking in sorted(folder.glob(f"{me}.*{RANK}")):
            with taking:  # the app's end waits for it: cut short, it would leave a record the page calls failed
                _rank(ranking)
        if request.exists() or _claim(folder / NEXT_PREPARE, request):
            busy = folder / f"{me}{BUSY}"
            busy.touch()
            try:
                _prepare(request)
            finally:
                busy.unlink(missing_ok=True)
        if job.exists():
            taking.acquire()  # never released: from now on this process belongs to the run
            run_dir = Path(job.read_text())
            job.unlink()
            (folder / f"{me}.claimed").unlink(missing_ok=True)
            _log_into(run_dir / LOG)
            return run_dir
        time.sleep(POLL_S)
    _clear_markers(folder, me)
    return None


def _end_with_app(app_pid: int, folder: Path, me: int, taking: threading.Lock) -> None:
    """Exit this process once its parent, the app, is gone (its parent is then init or a subreaper).

    A run handed over just before the app ended is still taken: only a standby with nothing to do exits.
    The exit is immediate, also in the middle of preparing ahead (whose cache files are written atomically), but
    a ranking under way is finished first: its record is what the page shows when the app starts again.
    """
    while os.getppid() == app_pid:
        time.sleep(APP_POLL_S)
    taking.acquire()  # a ranking under way ends first; a run taken holds it for good
    if (folder / f"{me}.job").exists():
        taking.release()
        return
    _clear_markers(folder, me)
    print("the app that started this standby worker is gone: exiting", flush=True)
    os._exit(0)


def _clear_markers(folder: Path, me: int) -> None:
    for leftover in (f"{me}.starting", f"{me}.ready", f"{me}.claimed", f"{me}.prepare", f"{me}{BUSY}"):
        (folder / leftover).unlink(missing_ok=True)
    for ranking in folder.glob(f"{me}.*{RANK}"):
        ranking.unlink(missing_ok=True)


def _claim(path: Path, mine: Path) -> bool:
    try:
        os.rename(path, mine)  # atomic: of several workers, one takes it
    except FileNotFoundError:
        return False
    return True


def _prepare(request: Path) -> None:
    from .config import RunConfig
    from .trainer import prepare

    try:
        config = RunConfig.from_dict(json.loads(request.read_text()))
        request.unlink()
        prepare(config)
    except Exception as err:  # noqa: BLE001  the run itself will report any problem with the data or model
        print(f"preparing ahead failed: {err}", flush=True)


def _rank(ask: Path) -> None:
    from .ranking import run_job

    record = Path(ask.read_text())
    ask.unlink()
    try:
        run_job(record)
    except Exception as err:  # noqa: BLE001  the record says what failed; this worker stays ready
        print(f"ranking failed: {err}", flush=True)


def _log_into(path: Path) -> None:
    """From now on this process's output belongs to the run it took."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.close(fd)


def pid_alive(pid: int) -> bool:
    """Running and not a zombie (a finished child the app has not reaped still has a pid)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] != "Z"
    except OSError:
        return True
