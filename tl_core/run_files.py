"""The names of the files in a run folder, each spelled once.

The worker writes them, the app, the CLI, exports and explanations read them; `runs.Run` turns each into
a path (`run.model_file`, `run.stop_file`, ...). A trained model is the same two files in a run folder
and in an export. Nothing is imported here, so the standby worker and the checkpoint code can share the
names without importing each other (or torch).
"""
CONFIG = "config.json"        # the RunConfig
STATUS = "status.json"        # state, pid, heartbeat; replaced atomically
EVENTS = "events.jsonl"       # one event per line, appended as training goes
STOP = "stop"                 # present = the person asked to stop; its time is when
LOG = "worker.log"            # the worker's own output, for when something goes wrong
METRICS = "metrics.json"      # the best epoch's validation numbers and mistakes
WEIGHTS = "model.safetensors"  # the best epoch's weights
DESCRIPTION = "model.json"    # what rebuilds the model around the weights: kind, architecture, classes
TOKENIZER = "tokenizer"       # a text model's tokenizer (a folder)
ENCODER = "encoder"           # a text model's encoder configuration (a folder)
EXPORTS = "export"            # the folder exports are made in
