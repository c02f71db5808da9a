"""Ordinal IRT benchmark: ``python -m bench.irt``.

Synthetic waves with a planted truth (``aggregation.estimators.simulation``) of the demo's
size (5 panels × 15 experts, the demo's blocks plus 4 vignettes on 10 roles) and five times
larger (75 experts per panel). For each size and mode (fast: posterior mode + Laplace; full:
NUTS) a child process fits the model, so that each measurement has its own peak RSS, and
reports wall time, peak RSS, convergence and recovery: the correlation of the per-panel cell
estimates with the planted truth, and the share of ascribed-vs-self-conceived differences of
at least one scale point whose sign is right, for the plain means, Aldrich–McKelvey and the
IRT. The last line printed is one JSON object with every measurement.

    python -m bench.irt                      # fast and full, sizes 1 and 5
    python -m bench.irt --sizes 1 --modes fast
    python -m bench.irt --chains 4 --warmup 500 --samples 500

No peer (rstan) run: see docs/performance.md.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time

import numpy as np


def _recovery(wave, result) -> dict[str, float]:
    from aggregation.estimators.simulation import ascribed_vs_conceived_truth

    keys = ["wave", "panel", "holder", "subject", "perspective", "role"]
    cells = result.merge(wave.truth, on=keys)
    estimates = result.set_index(keys[1:])["estimate"]
    planted = ascribed_vs_conceived_truth(wave)
    estimated = np.array(
        [
            estimates[("MOW", "RUS", subject, "expectation", role)]
            - estimates[(wave.home_panel[subject], subject, subject, "conception", role)]
            for subject, role in zip(planted["subject"], planted["role"], strict=True)
        ]
    )
    clear = planted["diff"].abs().to_numpy() >= 1
    right = np.sign(estimated[clear]) == np.sign(planted["diff"].to_numpy()[clear])
    return {
        "correlation": round(float(np.corrcoef(cells["estimate"], cells["truth"])[0, 1]), 4),
        "signs_right": f"{int(right.sum())}/{int(clear.sum())}",
    }


def measure(size: int, mode: str, seed: int, chains: int, warmup: int, samples: int) -> dict:
    """One fit in this process: the IRT in ``mode`` and, for comparison, the plain means and
    Aldrich–McKelvey on the same wave."""
    from aggregation.estimators import estimate, irt
    from aggregation.estimators.simulation import synthetic_wave

    wave = synthetic_wave(size=size, seed=seed)
    row: dict[str, object] = {"size": size, "mode": mode, "ratings": len(wave.ratings)}
    for name in ("plain_means", "aldrich_mckelvey"):
        result = estimate(wave.ratings, name, vignettes=wave.vignettes)
        row[name] = _recovery(wave, result)
    started = time.perf_counter()
    if mode == "fast":
        result = estimate(wave.ratings, "ordinal_irt", vignettes=wave.vignettes, seed=seed)
    else:
        data = irt.irt_data(wave.ratings, wave.vignettes)
        fit = irt.fit_full(data, seed=seed, chains=chains, warmup=warmup, samples=samples)
        estimates = irt.cells_from_fit(data, fit)
        result = estimates.cells
        result.attrs["details"] = estimates.details
    row["seconds"] = round(time.perf_counter() - started, 1)
    row["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    row["ordinal_irt"] = _recovery(wave, result)
    details = result.attrs.get("details", {})
    row["diagnostics"] = {k: v for k, v in details.items() if not isinstance(v, list)}
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1, 5])
    parser.add_argument("--modes", nargs="+", default=["fast", "full"], choices=["fast", "full"])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--chains", type=int, default=4)
    parser.add_argument("--warmup", type=int, default=500)
    parser.add_argument("--samples", type=int, default=500)
    parser.add_argument("--one", nargs=2, metavar=("SIZE", "MODE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    settings = (args.seed, args.chains, args.warmup, args.samples)
    if args.one:
        print(json.dumps(measure(int(args.one[0]), args.one[1], *settings)))
        return
    rows = []
    for size in args.sizes:
        for mode in args.modes:
            command = [sys.executable, "-m", "bench.irt", "--one", str(size), mode]
            command += ["--seed", str(args.seed), "--chains", str(args.chains)]
            command += ["--warmup", str(args.warmup), "--samples", str(args.samples)]
            output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
            row = json.loads(output.strip().splitlines()[-1])
            rows.append(row)
            print(
                f"size {size}x ({row['ratings']} ratings) {mode}: {row['seconds']} s, "
                f"peak RSS {row['peak_rss_mb']} MB, correlation with truth "
                f"plain {row['plain_means']['correlation']} / AM "
                f"{row['aldrich_mckelvey']['correlation']} / IRT "
                f"{row['ordinal_irt']['correlation']}, signs right plain "
                f"{row['plain_means']['signs_right']} / AM {row['aldrich_mckelvey']['signs_right']}"
                f" / IRT {row['ordinal_irt']['signs_right']}; {row['diagnostics']}",
                flush=True,
            )
    print(json.dumps({"runs": rows}))


if __name__ == "__main__":
    main()
