"""Load benchmark of the expert form: ``python -m bench.load``.

Orchestrates everything itself, on loopback only, and stops every process it started:

1. a dedicated PostgreSQL database ``rolesurvey_load`` (dropped and re-created, migrated) and
   the dedicated Redis databases 12 (broker), 13 (results) and 14 (Django's cache: the link
   and login counters, shared by the gunicorn workers), emptied;
2. an open wave with the demo's instrument (five panels; Moscow answers 15 blocks, the four
   other panels 5 blocks each) and ``--experts`` experts spread over the panels, each
   invited through the services; the tokens go to a file under ``var/bench-load/`` that is
   deleted at the end;
3. gunicorn (``project.wsgi``, DEBUG off, ``project/gunicorn.conf.py`` with its redacted
   access log in ``var/bench-load/access.log``, ``--workers`` x ``--threads``) on a free port
   of 127.0.0.1 and one Celery worker on the dedicated Redis databases;
4. Locust, headless: every simulated expert takes one token and does, once, landing →
   consent → for every block: GET, ``--autosaves`` autosaves, POST "next" (on the last
   block: "Review and submit") → review → submit → thanks, thinking ``--think`` seconds on
   average before each action;
5. the checks: every expert's response is submitted with exactly as many ratings as their
   questionnaire has rows, and the next aggregation run (the one the submissions scheduled,
   or one queued at once if it does not come) counts all of them.

Prints a table of p50/p95/p99 per page, then one JSON line with the figures. Exit status 0
only when there was no error, nothing was lost and the p95 target was met.
"""

import argparse
import base64
import contextlib
import json
import os
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = ROOT / ".venv" / "bin"
PG = ["-h", "127.0.0.1", "-U", "postgres"]
P95_TARGET_MS = 300.0
TARGET_PAGES = ("landing", "block", "autosave", "review", "thanks")


# Processes and services, shared with bench.peer ---------------------------------------------


def stop_on_signals() -> None:
    """SIGTERM and SIGINT (even when started in the background) end the run through its
    ``finally``, which stops every process it started."""

    def stop(signum, _frame):
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def database_recreate(name: str) -> None:
    subprocess.run(["dropdb", *PG, "--if-exists", "--force", name], check=True)
    subprocess.run(["createdb", *PG, name], check=True)


def wait_http(url: str, timeout: float = 60.0, warm_up: int = 24) -> None:
    """Wait until something answers HTTP at ``url`` (any status), then warm the server up.

    The warm-up requests (a few per worker thread, ``url`` being a cheap page) load what
    every worker loads on its first request (URL patterns, templates, translations, the
    database connection), so that the measurement does not include the server's start.
    """
    import urllib.error
    import urllib.request

    def get() -> None:
        with contextlib.suppress(urllib.error.HTTPError):
            urllib.request.urlopen(url, timeout=10).close()

    deadline = time.monotonic() + timeout
    while True:
        try:
            get()
            break
        except OSError:
            if time.monotonic() > deadline:
                raise RuntimeError(f"nothing answers at {url}") from None
            time.sleep(0.3)
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda _n: get(), range(warm_up)))


class Processes:
    """Child processes, each in its own process group, all stopped by ``stop_all``."""

    def __init__(self, log_dir: Path):
        self.log_dir = log_dir
        self.children: list[tuple[str, subprocess.Popen]] = []

    def start(self, name: str, command: list[str], env: dict, cwd: Path = ROOT):
        log = open(self.log_dir / f"{name}.log", "w")  # noqa: SIM115 - closed with the process
        process = subprocess.Popen(
            command, env=env, cwd=cwd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        self.children.append((name, process))
        return process

    def stop(self, process: subprocess.Popen, timeout: float = 20.0) -> None:
        if process.poll() is not None:
            return
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()

    def stop_all(self) -> None:
        for _name, process in reversed(self.children):
            self.stop(process)


def gunicorn_command(
    app: str, port: int, workers: int, threads: int, python_bin: Path, config: Path | None = None
) -> list:
    """The server's command line; ``config`` (``project/gunicorn.conf.py``) gives the access
    log and its redaction, the options below override the rest of it."""
    return [
        str(python_bin / "gunicorn"),
        *(["-c", str(config)] if config else []),
        app,
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(workers),
        "--threads",
        str(threads),
        "--worker-class",
        "gthread" if threads > 1 else "sync",
        "--backlog",
        "2048",
        "--timeout",
        "60",
        # Longer than any think time, as a proxy in front would be: an idle connection that
        # the server closes while the client reuses it is an error of the setup, not the app.
        "--keep-alive",
        "75",
        "--log-level",
        "warning",
    ]


def locust_run(
    *,
    user_class: str,
    host: str,
    users: int,
    spawn_rate: float,
    run_time: int,
    env: dict,
    out: Path,
) -> dict:
    """Run Locust headless to the end; returns what the locustfile dumped."""
    command = [
        str(VENV_BIN / "locust"),
        "-f",
        str(ROOT / "bench" / "locustfile.py"),
        user_class,
        "--headless",
        "--users",
        str(users),
        "--spawn-rate",
        str(spawn_rate),
        "--run-time",
        f"{run_time}s",
        "--host",
        host,
        "--only-summary",
        "--loglevel",
        "WARNING",
        "--csv",
        str(out.with_suffix("")),
    ]
    env = {**env, "BENCH_OUT": str(out)}
    with open(out.with_suffix(".log"), "w") as log:
        subprocess.run(command, env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    return json.loads(out.read_text())


def percentile(values: list[float], q: float) -> float:
    """Linear-interpolated percentile (numpy's default) without numpy in this process."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    position = (len(ordered) - 1) * q / 100
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def page_table(samples: list, pages: list[str], duration: float) -> dict[str, dict]:
    """Count, errors, rate and p50/p95/p99 (ms) per page, plus "all"."""
    table = {}
    for page in [*pages, "all"]:
        rows = [s for s in samples if page == "all" or s[0] == page]
        if not rows:
            continue
        times = [s[1] for s in rows]
        table[page] = {
            "n": len(rows),
            "errors": sum(1 for s in rows if s[2]),
            "rps": round(len(rows) / duration, 1) if duration else None,
            "p50": round(percentile(times, 50), 1),
            "p95": round(percentile(times, 95), 1),
            "p99": round(percentile(times, 99), 1),
            "max": round(max(times), 1),
        }
    return table


def print_table(table: dict[str, dict]) -> None:
    print(f"{'page':<16}{'n':>7}{'errors':>8}{'req/s':>8}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}")
    for page, row in table.items():
        print(
            f"{page:<16}{row['n']:>7}{row['errors']:>8}{row['rps']:>8}"
            f"{row['p50']:>9}{row['p95']:>9}{row['p99']:>9}"
        )


def base_env(*, database: str, redis_db: int, cache_db: int, var_dir: Path) -> dict:
    """Settings of the run, for this process and its children.

    Redis databases ``redis_db`` and ``redis_db + 1`` are Celery's broker and results,
    ``cache_db`` is Django's cache (the link and login counters), shared by all workers as
    in production.
    """
    return {
        **os.environ,
        "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{database}?conn_max_age=60",
        "CELERY_BROKER_URL": f"redis://127.0.0.1:6379/{redis_db}",
        "CELERY_RESULT_BACKEND": f"redis://127.0.0.1:6379/{redis_db + 1}",
        "CACHE_URL": f"redis://127.0.0.1:6379/{cache_db}",
        "DJANGO_DEBUG": "false",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        # Throwaway keys of the benchmark's own (synthetic) experts.
        "IDENTITY_ENCRYPTION_KEYS": base64.urlsafe_b64encode(secrets.token_bytes(32)).decode(),
        "IDENTITY_BLIND_INDEX_KEY": secrets.token_urlsafe(32),
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
        # Plain HTTP on loopback: no HTTPS redirect, no secure-only cookies, no HSTS.
        "DJANGO_SECURE_SSL_REDIRECT": "false",
        "DJANGO_SECURE_COOKIES": "false",
        "DJANGO_SECURE_HSTS_SECONDS": "0",
        "SITE_URL": "http://127.0.0.1",
        # The benchmark sends no e-mail; production refuses the console and file backends.
        "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
        # The access log of project/gunicorn.conf.py (redacted, no addresses), in the run's folder.
        "GUNICORN_ACCESS_LOG": str(var_dir / "access.log"),
        "PROJECT_VAR_DIR": str(var_dir),
        "LOG_LEVEL": "WARNING",
        "PYTHONUNBUFFERED": "1",
    }


def deploy(env: dict) -> None:
    """What a deployment does before it serves (docs/deploy.md): collect the static files
    (hashed and gzipped, served by WhiteNoise), then migrate."""
    for command in (["collectstatic", "--noinput", "-v0"], ["migrate", "--noinput", "-v0"]):
        subprocess.run(
            [str(VENV_BIN / "python"), "manage.py", *command], env=env, cwd=ROOT, check=True
        )


def redis_flush(redis_db: int, cache_db: int) -> None:
    import redis

    for number in (redis_db, redis_db + 1, cache_db):
        redis.Redis(host="127.0.0.1", port=6379, db=number).flushdb()


# The load benchmark -------------------------------------------------------------------------

DATABASE = "rolesurvey_load"
REDIS_DB = 12
CACHE_DB = 14
WAVE_SLUG = "load-bench"


def build_wave(n_experts: int) -> tuple[list[str], dict[str, int]]:
    """Open a wave with the demo instrument and invite ``n_experts`` experts to it.

    Returns the tokens and, per panel code, how many rows its questionnaire has.
    """
    from django.db import transaction

    from surveys import demo
    from surveys.models import Item
    from surveys.services import expert_create, invitation_create, wave_open

    with transaction.atomic():
        demo._typology_texts()
        panels = demo._panels()
        wave = demo._build_wave(WAVE_SLUG, panels)
        wave.title = "Load benchmark (synthetic)"
        wave.save(update_fields=["title"])
        wave = wave_open(wave=wave)
    rows = {
        code: Item.objects.filter(block__wave=wave, block__panels=panel).count()
        for code, panel in panels.items()
    }
    codes = list(panels)
    tokens = []
    with transaction.atomic():
        for number in range(n_experts):
            code = codes[number % len(codes)]
            expert = expert_create(
                panel=panels[code],
                name=f"Load Expert {number:04d}",
                email=f"load{number:04d}@example.org",
                language="en",
            )
            _invitation, token = invitation_create(expert=expert, wave=wave, language="en")
            tokens.append(token)
    return tokens, rows


def check_database(rows: dict[str, int], acknowledged: int) -> dict:
    """Every invitation's response: submitted, with exactly its questionnaire's rows."""
    from django.db.models import Count

    from surveys.models import Invitation, Response

    invitations = Invitation.objects.filter(wave__slug=WAVE_SLUG).select_related("expert__panel")
    responses = {
        r.invitation_id: r
        for r in Response.objects.filter(wave__slug=WAVE_SLUG).annotate(n=Count("ratings"))
    }
    complete = incomplete = missing = 0
    submitted_ratings = 0
    for invitation in invitations:
        want = rows[invitation.expert.panel.code]
        response = responses.get(invitation.pk)
        if response is None or response.status != Response.Status.SUBMITTED:
            missing += 1
        elif response.n != want or invitation.status != Invitation.Status.SUBMITTED:
            incomplete += 1
        else:
            complete += 1
            submitted_ratings += want
    return {
        "invited": len(invitations),
        "acknowledged": acknowledged,
        "submitted_complete": complete,
        "submitted_incomplete": incomplete,
        "not_submitted": missing,
        "submitted_ratings": submitted_ratings,
        # A submission the server acknowledged (302 to the thank-you page) that the database
        # does not hold complete.
        "lost": max(acknowledged - complete, 0) + incomplete,
    }


def await_aggregation(*, expected: int, wait_debounced: float, timeout: float) -> dict:
    """Wait for a complete run started after the last submission; queue one if none comes."""
    from django.db.models import Max

    from aggregation.models import AggregationRun
    from aggregation.scheduling import aggregation_queue_now
    from surveys.models import Response, Wave

    wave = Wave.objects.get(slug=WAVE_SLUG)
    last_submit = Response.objects.filter(wave=wave).aggregate(last=Max("submitted_at"))["last"]
    started = time.monotonic()
    queued = False
    while True:
        run = (
            AggregationRun.objects.filter(
                wave=wave, status=AggregationRun.Status.COMPLETE, started_at__gte=last_submit
            )
            .order_by("-finished_at")
            .first()
        )
        waited = time.monotonic() - started
        if run is not None:
            return {
                "run": run.pk,
                "n_ratings": run.n_ratings,
                "counted_all": run.n_ratings == expected,
                "how": "queued by the benchmark" if queued else "scheduled by the submissions",
                "waited_s": round(waited, 1),
                "runs_total": AggregationRun.objects.filter(wave=wave).count(),
            }
        if not queued and waited > wait_debounced:
            aggregation_queue_now(wave_id=wave.pk)
            queued = True
        if waited > timeout:
            return {"run": None, "n_ratings": 0, "counted_all": False, "waited_s": round(waited, 1)}
        time.sleep(0.5)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--experts", type=int, default=200)
    parser.add_argument("--spawn-rate", type=float, default=50)
    parser.add_argument("--think", type=float, default=10.0, help="mean seconds between actions")
    parser.add_argument("--autosaves", type=int, default=2, help="autosaves per block")
    parser.add_argument("--workers", type=int, default=3, help="gunicorn worker processes")
    parser.add_argument("--threads", type=int, default=4, help="threads per gunicorn worker")
    parser.add_argument("--run-time", type=int, default=900, help="upper bound, seconds")
    args = parser.parse_args(argv)
    stop_on_signals()

    var_dir = ROOT / "var" / "bench-load"
    var_dir.mkdir(parents=True, exist_ok=True)
    env = base_env(database=DATABASE, redis_db=REDIS_DB, cache_db=CACHE_DB, var_dir=var_dir)
    env["AGGREGATION_DEBOUNCE_SECONDS"] = "5"
    os.environ.update(env)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings.base")

    print(
        f"database {DATABASE}, Redis {REDIS_DB}/{REDIS_DB + 1}/{CACHE_DB}: re-creating", flush=True
    )
    database_recreate(DATABASE)
    redis_flush(REDIS_DB, CACHE_DB)
    deploy(env)
    import django

    django.setup()
    tokens, rows = build_wave(args.experts)
    tokens_file = var_dir / "tokens.json"
    tokens_file.write_text(json.dumps(tokens))
    n_rows = sorted(rows.items())
    print(f"wave {WAVE_SLUG}: {len(tokens)} experts, rows per panel {dict(n_rows)}", flush=True)

    processes = Processes(var_dir)
    port = free_port()
    host = f"http://127.0.0.1:{port}"
    try:
        processes.start(
            "celery",
            [
                str(VENV_BIN / "celery"),
                "-A",
                "project",
                "worker",
                "-n",
                "bench-load@%h",
                "--concurrency",
                "1",
                "--loglevel",
                "WARNING",
            ],
            env,
        )
        processes.start(
            "gunicorn",
            gunicorn_command(
                "project.wsgi:application",
                port,
                args.workers,
                args.threads,
                VENV_BIN,
                config=ROOT / "project" / "gunicorn.conf.py",
            ),
            env,
        )
        wait_http(f"{host}/s/not-a-token/")
        print(
            f"gunicorn {args.workers}x{args.threads} on {host}; Locust: {args.experts} experts, "
            f"spawn {args.spawn_rate}/s, think {args.think}s, {args.autosaves} autosaves/block",
            flush=True,
        )
        load_before = os.getloadavg()[0]
        locust_env = {
            **env,
            "BENCH_TOKENS": str(tokens_file),
            "BENCH_THINK": str(args.think),
            "BENCH_AUTOSAVES": str(args.autosaves),
        }
        result = locust_run(
            user_class="ExpertUser",
            host=host,
            users=args.experts,
            spawn_rate=args.spawn_rate,
            run_time=args.run_time,
            env=locust_env,
            out=var_dir / "locust.json",
        )
        load_after = os.getloadavg()[0]
        samples = result["samples"]
        duration = (result["last_end"] or time.time()) - (result["first_start"] or time.time())
        pages = [
            "landing",
            "consent",
            "block",
            "autosave",
            "block_post",
            "block_submit",
            "review",
            "submit",
        ]
        table = page_table(samples, [*pages, "thanks"], duration)
        print_table(table)
        errors = [s[2] for s in samples if s[2]]
        for error in sorted(set(errors))[:10]:
            print("error:", error)

        acknowledged = sum(1 for s in samples if s[0] in ("submit", "block_submit") and not s[2])
        database = check_database(rows, acknowledged)
        aggregation = await_aggregation(
            expected=database["submitted_ratings"], wait_debounced=30, timeout=180
        )
    finally:
        processes.stop_all()
        tokens_file.unlink(missing_ok=True)

    lost = database["lost"]
    worst_p95 = max(table[p]["p95"] for p in TARGET_PAGES if p in table)
    figures = {
        "benchmark": "load",
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "experts": args.experts,
        "think_s": args.think,
        "autosaves_per_block": args.autosaves,
        "gunicorn": f"{args.workers}x{args.threads}",
        "duration_s": round(duration, 1),
        "loadavg_1m_before_after": [round(load_before, 2), round(load_after, 2)],
        "requests": len(samples),
        "throughput_rps": table["all"]["rps"],
        "submissions_per_s": round(result["done"] / duration, 2) if duration else None,
        "flow_s_p50": round(statistics.median(result["flows"]), 1) if result["flows"] else None,
        "errors": len(errors),
        "pages": {p: {k: row[k] for k in ("n", "p50", "p95", "p99")} for p, row in table.items()},
        "worst_p95_ms_pages_autosaves": worst_p95,
        "database": database,
        "lost": lost,
        "aggregation": aggregation,
    }
    figures["target_met"] = (
        worst_p95 < P95_TARGET_MS
        and not errors
        and lost == 0
        and database["submitted_complete"] == args.experts
        and aggregation["counted_all"]
    )
    print(
        f"database: {database['submitted_complete']}/{args.experts} submitted complete "
        f"({acknowledged} acknowledged), lost={lost}; aggregation run {aggregation['run']}: "
        f"n_ratings {aggregation['n_ratings']} of {database['submitted_ratings']} "
        f"({aggregation.get('how')}, {aggregation['waited_s']} s)"
    )
    (var_dir / "result.json").write_text(json.dumps(figures, indent=2))
    print(json.dumps(figures))
    return 0 if figures["target_met"] else 1


if __name__ == "__main__":
    sys.exit(main())
