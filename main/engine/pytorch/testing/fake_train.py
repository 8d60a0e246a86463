#!/usr/bin/env python3
"""A stand-in for the generated train.py (no torch): speaks its protocol for the process runner's tests.

  fake_train.py [--out DIR] [--metrics FILE|-] [--resume]

FAKE_MODE (environment): normal (default), crash (a traceback after a few batches), exit-silent (exit 3, no
traceback), hang (starts a child process, prints its pid, then waits for control words forever), garbage
(bad metrics lines among good ones). FAKE_EPOCHS, FAKE_BATCHES, FAKE_DELAY (seconds per batch).
"""
import argparse, json, os, subprocess, sys, time

p = argparse.ArgumentParser()
p.add_argument("--out", default=".")
p.add_argument("--metrics", default="-")
p.add_argument("--resume", action="store_true")
a, _ = p.parse_known_args()
mode = os.environ.get("FAKE_MODE", "normal")
epochs = int(os.environ.get("FAKE_EPOCHS", "2"))
batches = int(os.environ.get("FAKE_BATCHES", "5"))
delay = float(os.environ.get("FAKE_DELAY", "0.02"))
os.makedirs(a.out, exist_ok=True)
control = os.path.join(a.out, "control")

def emit(o):
    print(json.dumps(o), flush=True)

def word():
    try:
        with open(control) as f:
            return f.read().strip() or "run"
    except OSError:
        return "run"

print("fake train.py starting (this line is not metrics)", flush=True)
print("malloc: " + " ".join(f"{k}={os.environ.get(k, '-')}" for k in ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_")), flush=True)
print("a warning on stderr", file=sys.stderr, flush=True)
emit({"type": "started", "backend": "pytorch", "backendReason": "fake", "trainImages": batches * 4, "valImages": 8,
      "validation": "test", "epochs": epochs, "batchSize": 4, "batchesPerEpoch": batches, "task": "classification",
      "dataset": {"id": "cifar10", "name": "CIFAR-10", "classNames": ["a", "b", "c"], "kind": "image"}, "notes": ["fake"]})
if mode == "garbage":
    print("{not json", flush=True)
    emit([1, 2, 3])
    emit({"no": "type"})
    emit({"type": "mystery"})
if mode == "hang":
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    print("child pid %d" % child.pid, flush=True)
t0 = time.time()
done = 0
reason, message = "completed", "completed"
stop = False
for epoch in range(1, epochs + 1):
    for b in range(1, batches + 1):
        w = word()
        if w == "pause":
            emit({"type": "paused", "epoch": epoch, "batch": b - 1})
            while word() == "pause":
                time.sleep(0.02)
            emit({"type": "resumed"})
            w = word()
        if w in ("stop", "stop-now"):
            stop = True
            break
        if mode == "hang":
            while word() not in ("stop", "stop-now"):
                time.sleep(0.05)
            stop = True
            break
        time.sleep(delay)
        done += 1
        if mode == "crash" and done == 3:
            import nonexistent_module_for_the_test  # noqa: F401  (ModuleNotFoundError)
        if mode == "exit-silent" and done == 3:
            sys.exit(3)
        emit({"type": "batch", "epoch": epoch, "epochs": epochs, "batch": b, "batches": batches, "loss": 2.0 / done,
              "accuracy": 0.1 * min(done, 9), "metrics": {"accuracy": 0.1 * min(done, 9)}, "batchLoss": 2.0 / done,
              "imagesPerSecond": 100.0, "elapsedMs": (time.time() - t0) * 1000, "etaMs": 10.0, "learningRate": 0.001})
    if stop:
        reason, message = "stopped", "stopped by the user"
        break
    emit({"type": "epoch", "epoch": epoch, "epochs": epochs, "loss": 1.0 / epoch, "accuracy": 0.5, "valLoss": 1.2,
          "valAccuracy": 0.4, "metrics": {"accuracy": 0.5}, "valMetrics": {"accuracy": 0.4}, "imagesPerSecond": 100.0,
          "elapsedMs": (time.time() - t0) * 1000, "etaMs": 0, "learningRate": 0.001})
    emit({"type": "checkpoint", "epoch": epoch, "path": os.path.join(a.out, "checkpoint-%d.pt" % epoch)})
with open(os.path.join(a.out, "weights.safetensors"), "wb") as f:
    f.write(b"fake weights")
with open(os.path.join(a.out, "result.json"), "w") as f:
    json.dump({"epochsCompleted": epoch if not stop else epoch - 1, "batchesCompleted": done, "trainImages": batches * 4,
               "imagesTrained": done * 4, "trainImagesPerSecond": 123.0, "trainMs": 50}, f)
emit({"type": "ended", "reason": reason, "message": message, "epochsCompleted": epoch if not stop else epoch - 1, "batchesCompleted": done})
