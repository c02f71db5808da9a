"""Ordinal IRT benchmark: ``python -m bench.irt``.

Synthetic waves with a planted truth (``aggregation.estimators.simulation``) of the demo's
size (5 panels × 15 experts, the demo's blocks plus 4 vignettes on 10 roles) and five times
larger (75 experts per panel). For each size and mode (fast: posterior mode + Laplace; full:
NUTS) a child process fits the model, so that each measurement has its own peak RSS, and
reports wall time, peak RSS, convergence and recovery: the correlation of the per-panel cell
estimates with the planted truth, and the share of ascribed-vs-self-conceived differences of
at least one scale point whose sign is right, for the plain means, Aldrich–McKelvey and the
IRT. The last line printed is one JSON object with every measurement.

    python -m bench.irt                      # fast, full and rstan, sizes 1 and 5
    python -m bench.irt --full-sizes 1 --rstan-sizes 1   # no NUTS or rstan at 5x
    python -m bench.irt --skip-rstan
    python -m bench.irt --chains 4 --warmup 300 --samples 500

Each NUTS fit runs twice in fresh processes sharing one XLA compilation cache (a temporary
``JAX_COMPILATION_CACHE_DIR``): ``full`` compiles its programs, ``full_compiled`` loads them,
as rstan loads its compiled model; ``--double`` adds ``full_double``, NUTS with the
likelihood in double precision, to show what single precision buys. The peer is the same
model written in Stan (``bench/stan/ordinal_irt.stan``, fitted by ``bench/stan/fit.R``
through Debian's ``r-cran-rstan``, installed with apt-get when missing), on the same data,
start, chains, warm-up and draws; its compile time is measured and reported apart. For each
size with both it prints the wall-time ratio and the minimum bulk ESS per second of each,
twice: compiled programs cached on both sides, and compile time counted on both.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

STAN_DIR = Path(__file__).resolve().parent / "stan"
STAN_CACHE = Path(__file__).resolve().parent.parent / "var" / "stan"


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
    if mode == "rstan":
        return row | _measure_rstan(wave, seed, chains, warmup, samples)
    started, cpu_started = time.perf_counter(), _cpu_seconds(resource.RUSAGE_SELF)
    single = mode != "full_double"
    mode = "full" if mode in ("full_compiled", "full_double") else mode
    if mode == "fast":
        result = estimate(wave.ratings, "ordinal_irt", vignettes=wave.vignettes, seed=seed)
    else:
        data = irt.irt_data(wave.ratings, wave.vignettes)
        fit = irt.fit_full(
            data,
            seed=seed,
            chains=chains,
            warmup=warmup,
            samples=samples,
            single_precision=single,
        )
        estimates = irt.cells_from_fit(data, fit)
        result = estimates.cells
        result.attrs["details"] = estimates.details
    row["seconds"] = round(time.perf_counter() - started, 1)
    row["cpu_seconds"] = round(_cpu_seconds(resource.RUSAGE_SELF) - cpu_started, 1)
    row["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    row["ordinal_irt"] = _recovery(wave, result)
    details = result.attrs.get("details", {})
    row["diagnostics"] = {k: v for k, v in details.items() if not isinstance(v, list)}
    return row


def _cpu_seconds(who: int) -> float:
    """User plus system CPU seconds of this process or of its waited-for children: on a shared
    machine a fairer measure of work than the wall time."""
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def _r_dump(values: dict[str, object]) -> str:
    """Stan data as an R dump (``source``-able): scalars, vectors and matrices (column-major,
    as R stores them)."""
    lines = []
    for name, value in values.items():
        array = np.asarray(value)
        numbers = ", ".join(
            str(int(v)) if array.dtype.kind in "biu" else repr(float(v))
            for v in array.ravel(order="F")
        )
        if array.ndim == 0:
            lines.append(f"{name} <- {numbers}")
        elif array.ndim == 1:
            lines.append(f"{name} <- c({numbers})")
        else:
            lines.append(
                f"{name} <- structure(c({numbers}), .Dim = c({array.shape[0]}, {array.shape[1]}))"
            )
    return "\n".join(lines) + "\n"


def _ensure_rstan() -> None:
    """Debian's rstan, installed with apt-get when missing (root, or sudo)."""
    probe = ["Rscript", "-e", "suppressPackageStartupMessages(library(rstan))"]
    if shutil.which("Rscript") and subprocess.run(probe, capture_output=True).returncode == 0:
        return
    sudo = [] if hasattr(os, "geteuid") and os.geteuid() == 0 else ["sudo"]
    environment = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run([*sudo, "apt-get", "update", "-qq"], check=True, env=environment)
    subprocess.run(
        [*sudo, "apt-get", "install", "-y", "-qq", "r-base-core", "r-cran-rstan"],
        check=True,
        env=environment,
    )


def _measure_rstan(wave, seed: int, chains: int, warmup: int, samples: int) -> dict:
    """The same model in Stan (``bench/stan/ordinal_irt.stan``) through rstan, on the same
    data, start (mode plus Laplace jitter), chains, warm-up and draws as ``fit_full``."""
    from aggregation.estimators import irt, irt_model

    _ensure_rstan()
    data = irt.irt_data(wave.ratings, wave.vignettes)
    layout = irt_model.model_layout(data)
    stan_data = {
        "N": data.y.size,
        "R": data.n_experts,
        "P": data.n_panels,
        "U": len(data.units),
        "K": data.categories,
        "y": data.y + 1,
        "expert": data.expert + 1,
        "unit": data.unit + 1,
        "panel_of_expert": data.panel_of_expert + 1,
        "panel_centred": layout.panel_centred.astype(int),
        "expert_centred": layout.expert_centred.astype(int),
        "overall_mean": irt_model.overall_prior_mean(layout.thresholds),
        "overall_sd": irt_model.OVERALL_PRIOR_SD,
        "panel_sd": irt_model.PANEL_THRESHOLD_SD,
        "expert_sd": irt_model.EXPERT_THRESHOLD_SD,
        "sigma_location": irt_model.SIGMA_PRIOR[0],
        "sigma_scale": irt_model.SIGMA_PRIOR[1],
    }
    STAN_CACHE.mkdir(parents=True, exist_ok=True)
    model = STAN_CACHE / "ordinal_irt.stan"
    source = (STAN_DIR / "ordinal_irt.stan").read_text()
    if not model.exists() or model.read_text() != source:
        model.write_text(source)
    # rstan caches the compiled model beside it (.rds); removed, so that every run measures
    # the compile as NumPyro's cold fit does.
    model.with_suffix(".rds").unlink(missing_ok=True)
    start = irt_model.initial_vector(data, layout)  # NumPyro's start for the mode, too
    parts = {name: start[a:b] for name, (a, b) in layout.slices().items()}
    stan_start = {
        "log_sigma_free": parts["log_sigma"],
        "u_all": parts["u_all"],
        "u_panel_raw": parts["u_panel"].reshape(data.n_panels, -1),
        "u_expert_raw": parts["u_expert"].reshape(data.n_experts, -1),
        "z_free": parts["z"],
    }
    with tempfile.TemporaryDirectory() as folder:
        data_file, out_file = Path(folder) / "data.R", Path(folder) / "out.txt"
        data_file.write_text(_r_dump(stan_data))
        (Path(folder) / "start.R").write_text(_r_dump(stan_start))
        command = ["Rscript", str(STAN_DIR / "fit.R"), str(model), str(data_file), str(out_file)]
        command += [str(chains), str(warmup), str(samples), str(seed), "2"]
        started = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True, text=True)
        wall = time.perf_counter() - started
        lines = dict(line.split(" ", 1) for line in out_file.read_text().splitlines())
    z_mean = np.array(lines.pop("z_mean").split(), dtype=float)
    figures = {key: float(value) for key, value in lines.items()}
    seconds = figures["mode_seconds"] + figures["sampling_seconds"]
    fit = irt.IrtFit("full", z_mean, None, z_mean[None, :], {}, seconds)
    return {
        "seconds": round(seconds, 1),
        "wall_seconds_with_compile": round(wall, 1),
        "cpu_seconds_with_compile": round(_cpu_seconds(resource.RUSAGE_CHILDREN), 1),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024),
        "ordinal_irt": _recovery(wave, irt.cells_from_fit(data, fit).cells),
        "diagnostics": figures
        | {
            "converged": figures["share_rhat_above_limit"] <= 0.05,
            "ess_bulk_min_per_second": round(figures["ess_bulk_min"] / seconds, 2),
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1, 5])
    parser.add_argument(
        "--full-sizes", type=int, nargs="*", help="sizes with a NUTS run (default: --sizes)"
    )
    parser.add_argument(
        "--rstan-sizes", type=int, nargs="*", help="sizes with an rstan run (default: --sizes)"
    )
    parser.add_argument("--skip-rstan", action="store_true", help="no rstan run at all")
    parser.add_argument(
        "--double",
        action="store_true",
        help="also fit NUTS with the likelihood in double precision (full_double)",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--chains", type=int, default=4)
    parser.add_argument("--warmup", type=int, default=300)
    parser.add_argument("--samples", type=int, default=500)
    parser.add_argument("--one", nargs=2, metavar=("SIZE", "MODE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    settings = (args.seed, args.chains, args.warmup, args.samples)
    if args.one:
        print(json.dumps(measure(int(args.one[0]), args.one[1], *settings)))
        return
    full_sizes = args.sizes if args.full_sizes is None else args.full_sizes
    rstan_sizes = (
        [] if args.skip_rstan else (args.sizes if args.rstan_sizes is None else args.rstan_sizes)
    )
    rows = []
    for size in args.sizes:
        full = ["full", "full_compiled"] * (size in full_sizes)
        full += ["full_double"] * (size in full_sizes and args.double)
        modes = ["fast", *full] + ["rstan"] * (size in rstan_sizes)
        cache = tempfile.mkdtemp(prefix="bench-irt-xla-")
        for mode in modes:
            command = [sys.executable, "-m", "bench.irt", "--one", str(size), mode]
            command += ["--seed", str(args.seed), "--chains", str(args.chains)]
            command += ["--warmup", str(args.warmup), "--samples", str(args.samples)]
            environment = {**os.environ, "JAX_COMPILATION_CACHE_DIR": cache}
            output = subprocess.run(
                command, check=True, capture_output=True, text=True, env=environment
            ).stdout
            row = json.loads(output.strip().splitlines()[-1]) | {"mode": mode}
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
        shutil.rmtree(cache, ignore_errors=True)
        _print_ratio(size, [row for row in rows if row["size"] == size])
    print(json.dumps({"runs": rows}))


def _print_ratio(size: int, rows: list[dict]) -> None:
    """rstan against NumPyro's NUTS on the same wave, chains, warm-up and draws: compiled
    programs cached on both sides (rstan's compile time is left out, NumPyro's second fit
    loads its XLA programs from the cache), and both with their compile time."""
    by_mode = {row["mode"]: row for row in rows}
    if "rstan" not in by_mode or "full" not in by_mode:
        return
    rstan = by_mode["rstan"]
    for label, mode, rstan_seconds in (
        ("compiled programs cached", "full_compiled", rstan["seconds"]),
        (
            "compile time counted",
            "full",
            round(rstan["seconds"] + rstan["diagnostics"]["compile_seconds"], 1),
        ),
    ):
        numpyro = by_mode[mode]
        ess_rate = numpyro["diagnostics"]["ess_bulk_min"] / numpyro["seconds"]
        print(
            f"size {size}x, {label}: rstan / NumPyro wall time "
            f"{rstan_seconds / numpyro['seconds']:.1f}x ({rstan_seconds} s / "
            f"{numpyro['seconds']} s; converged: NumPyro {numpyro['diagnostics']['converged']}, "
            f"rstan {rstan['diagnostics']['converged']}); min bulk ESS per second NumPyro "
            f"{ess_rate:.2f}, rstan {rstan['diagnostics']['ess_bulk_min_per_second']:.2f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
