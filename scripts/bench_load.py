"""Benchmark the loader against its floor: DuckDB alone reading the same files into a table.

    python scripts/bench_load.py [--events 1000000] [--runs 3] [--work benchmarks/scratch/load]

Generates about `--events` log lines once (with scripts/generate_events.py when it exists,
else a small built-in synthetic writer), then for each run times, each in a fresh process and a
fresh DuckDB file:
- the loader: `load_events.py --target duckdb FILES...`;
- the floor: `create table as select * from read_json(...)` over the JSON-lines files,
  `read_csv` over the CSV exports and over the text-mode logs (one VARCHAR column), into a table.
Prints medians, lines/s, the ratio loader/floor and the loader's peak RSS. Not a test: numbers
only (issue 7 target: ratio <= 1.5).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

SCRIPTS = Path(__file__).resolve().parent
ROOT = SCRIPTS.parent
BENCH_KEY = "bench-hmac-key"
LINES_PER_FLOW = 16  # about what generate_events.py writes per flow begun (all files)

FLOOR_SCRIPT = """
import sys, time, duckdb
path, json_files, csv_files, text_files = sys.argv[1], *(
    [f for f in arg.split("\\n") if f] for arg in sys.argv[2:5]
)
con = duckdb.connect(path)
con.execute("set enable_progress_bar = false")
start = time.perf_counter()
if json_files:
    con.execute("create table j as select * from read_json(?, format='newline_delimited',"
                " ignore_errors=true)", [json_files])
if csv_files:
    con.execute("create table c as select * from read_csv(?, header=false, all_varchar=true,"
                " null_padding=true, union_by_name=true, ignore_errors=true)", [csv_files])
if text_files:
    con.execute("create table t as select * from read_csv(?, header=false, columns={'line':"
                " 'VARCHAR'}, delim=chr(31), quote='', escape='', ignore_errors=true)",
                [text_files])
con.execute("checkpoint")
print(time.perf_counter() - start)
"""


def synthetic(out: Path, events: int, seed: int) -> None:
    """A stand-in for generate_events.py: auth-server JSON lines, 5% request logs."""
    rng = random.Random(seed)
    agents = [
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:50.0) Gecko/20100101 Firefox/50.0",
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10.12; rv:51.0) Gecko/20100101 Firefox/51.0",
        "Mozilla/5.0 (iPhone; CPU iPhone OS 10_2 like Mac OS X) AppleWebKit/602.3.12 "
        "(KHTML, like Gecko) FxiOS/5.3 Mobile/14C92 Safari/602.1",
    ]
    out.mkdir(parents=True, exist_ok=True)
    per_file = max(1, events // 4)
    t = 1_488_326_400_000
    for index in range(4):
        with (out / f"auth-{index}.jsonl").open("w") as handle:
            for i in range(per_file):
                t += 7
                uid = f"{rng.getrandbits(128):032x}"
                if i % 20 == 19:
                    type_, fields = "request.summary", {"path": "/v1/account/login", "code": 200}
                elif i % 4:
                    type_ = "flowEvent"
                    fields = {
                        "event": "flow.signin.view",
                        "flow_id": f"{rng.getrandbits(256):064x}",
                        "flow_time": i % 10_000,
                        "time": t,
                        "userAgent": rng.choice(agents),
                        "service": "sync",
                        "context": "fx_desktop_v3",
                        "entrypoint": "menupanel",
                        "utm_campaign": "fx-new-tab",
                        "utm_source": "newsletter",
                        "locale": "en-US",
                        "uid": uid,
                    }
                else:
                    type_ = "activityEvent"
                    fields = {
                        "event": "account.signed",
                        "uid": uid,
                        "device_id": f"{rng.getrandbits(128):032x}",
                        "service": "sync",
                        "userAgent": rng.choice(agents),
                        "time": t,
                    }
                envelope = {
                    "Timestamp": t * 1_000_000,
                    "Logger": "fxa-auth-server",
                    "Type": type_,
                    "Severity": 6,
                    "Pid": 4711,
                    "EnvVersion": "2.0",
                    "Hostname": "auth1",
                    "Fields": fields,
                }
                handle.write(json.dumps(envelope) + "\n")


def generate(data: Path, events: int, seed: int, gzip: bool) -> str:
    stamp = data / ".bench-stamp"
    wanted = f"{events} {seed} {gzip}"
    if stamp.exists() and stamp.read_text() == wanted:
        return "cached"
    shutil.rmtree(data, ignore_errors=True)
    generator = SCRIPTS / "generate_events.py"
    if generator.exists():
        days = 5
        flows = max(1, events // (LINES_PER_FLOW * days))
        command = [sys.executable, str(generator), "--out", str(data), "--days", str(days)]
        command += ["--flows-per-day", str(flows), "--seed", str(seed)]
        command += ["--gzip"] if gzip else []
        env = {**os.environ, "FXA_METRICS_UID_HMAC_KEY": BENCH_KEY}
        subprocess.run(command, check=True, env=env, stdout=subprocess.DEVNULL)
        source = "generate_events.py"
    else:
        synthetic(data, events, seed)
        source = "built-in synthetic writer (generate_events.py not found)"
    stamp.write_text(wanted)
    return source


def classify(files: list[Path]) -> tuple[list[str], list[str], list[str]]:
    """Split the input files by format, as the floor needs to be told."""
    import gzip as gz

    json_files, csv_files, text_files = [], [], []
    for path in files:
        opener = gz.open if path.read_bytes()[:2] == b"\x1f\x8b" else open
        with opener(path, "rb") as handle:
            first = handle.readline().lstrip()
        if first.startswith(b"{"):
            json_files.append(str(path))
        elif b": " in first.split(b"{")[0]:
            text_files.append(str(path))
        else:
            csv_files.append(str(path))
    return json_files, csv_files, text_files


def count_lines(files: list[Path]) -> int:
    import gzip as gz

    total = 0
    for path in files:
        opener = gz.open if path.read_bytes()[:2] == b"\x1f\x8b" else open
        with opener(path, "rb") as handle:
            while block := handle.read(1 << 24):
                total += block.count(b"\n")
    return total


def run_floor(db: Path, groups: tuple[list[str], list[str], list[str]]) -> float:
    db.unlink(missing_ok=True)
    args = ["\n".join(group) for group in groups]
    result = subprocess.run(
        [sys.executable, "-c", FLOOR_SCRIPT, str(db), *args],
        check=True,
        capture_output=True,
        text=True,
    )
    return float(result.stdout.strip().splitlines()[-1])


def run_loader(db: Path, files: list[Path]) -> float:
    db.unlink(missing_ok=True)
    env = {
        **os.environ,
        "FXA_DUCKDB_PATH": str(db),
        "FXA_METRICS_UID_HMAC_KEY": BENCH_KEY,
        "PYTHONPATH": str(SCRIPTS),
    }
    command = [sys.executable, str(SCRIPTS / "load_events.py"), "--target", "duckdb"]
    start = time.perf_counter()
    subprocess.run([*command, *map(str, files)], check=True, env=env, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000, help="about this many lines")
    parser.add_argument("--runs", type=int, default=3, help="timed runs of each (median)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--gzip", action="store_true", help="gzip-compressed input files")
    parser.add_argument(
        "--work", type=Path, default=ROOT / "benchmarks" / "scratch" / "load", help="scratch dir"
    )
    args = parser.parse_args(argv)
    data = args.work / "data"
    source = generate(data, args.events, args.seed, args.gzip)
    files = sorted(p for p in data.rglob("*") if p.is_file() and not p.name.startswith("."))
    lines = count_lines(files)
    size = sum(p.stat().st_size for p in files)
    groups = classify(files)
    print(f"input: {len(files)} files, {lines:,} lines, {size / 2**20:,.0f} MiB on disk ({source})")
    print(
        f"floor: read_json over {len(groups[0])}, read_csv over {len(groups[1])} CSV and "
        f"{len(groups[2])} text-mode files"
    )
    loader_times, floor_times = [], []
    for run in range(args.runs):
        # Alternate the order so that neither side always gets the warmer cache.
        if run % 2:
            loader_times.append(run_loader(args.work / "loader.duckdb", files))
            floor_times.append(run_floor(args.work / "floor.duckdb", groups))
        else:
            floor_times.append(run_floor(args.work / "floor.duckdb", groups))
            loader_times.append(run_loader(args.work / "loader.duckdb", files))
        print(f"run {run + 1}: loader {loader_times[-1]:.2f} s, floor {floor_times[-1]:.2f} s")
    loader = statistics.median(loader_times)
    floor = statistics.median(floor_times)
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print()
    print(f"{'':24}{'seconds':>10}{'lines/s':>12}")
    print(f"{'loader (load_events.py)':24}{loader:>10.2f}{lines / loader:>12,.0f}")
    print(f"{'floor (DuckDB read_*)':24}{floor:>10.2f}{lines / floor:>12,.0f}")
    print(f"ratio loader / floor: {loader / floor:.2f} (target <= 1.5); medians of {args.runs}")
    print(f"peak RSS of any child process: {peak:,.0f} MiB; {os.cpu_count()} CPUs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
