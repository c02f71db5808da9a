"""Peer comparison: ``python -m bench.peer``.

The same 20-question one-page rating form (20 roles, scale 0–10, radio buttons), submitted
to this tool and to django-survey-and-report, one after the other in one run, under the same
concurrency, on the same machine, database server and gunicorn settings:

- **ours**: a wave with one block of 20 items (the typology's 18 roles plus two benchmark
  roles created in the benchmark database only) for one panel, one invitation per
  submission; a submission is what an expert does: open the link (the landing page with
  the consent checkbox), POST the consent (which redirects to the page), GET the page, POST
  it with its "Review and submit" button, GET the review page, POST its "Submit", see the
  thank-you page (7 requests: a block page never submits on its own);
- **peer**: django-survey-and-report, installed from the package index into its own venv
  ``var/peer-venv`` (never vendored); a Django project generated here in ``var/peer/`` at
  run time; a survey of 20 ``radio`` questions "0,…,10" shown on one page; a submission
  is GET the form, POST it, see the confirmation page (3 requests), anonymous as ours.

Both on PostgreSQL (``rolesurvey_peer_ours``, ``rolesurvey_peer``, re-created each run),
DEBUG off, persistent connections, gunicorn ``--workers`` x ``--threads``; one server runs
at a time. Ours runs as in production: Django's cache (the link rate limit's counts) in
Redis database 15, the Celery broker in Redis 10/11 (no worker runs: the aggregation
requests the submissions publish wait in the queue). Locust drives ``--users`` concurrent
clients with no think time until ``--submissions`` are done; a round measures both tools,
in the order ours-peer, then peer-ours (``--rounds``), so that a drift of the machine's
other load hits both alike. A
tool's rate is its submissions over the summed time from the first request to the last
confirmation of its rounds. Afterwards both databases are checked: every submission stored
with its 20 answers.

Prints a table, then one JSON line with both rates and the ratio (ours / peer).
"""

import argparse
import json
import os
import secrets
import subprocess
import sys
import time

from bench.load import (
    ROOT,
    VENV_BIN,
    Processes,
    base_env,
    database_recreate,
    deploy,
    free_port,
    gunicorn_command,
    locust_run,
    page_table,
    print_table,
    redis_flush,
    stop_on_signals,
    wait_http,
)

PEER_PACKAGE = "django-survey-and-report==1.5.0"
PEER_REQUIREMENTS = [PEER_PACKAGE, "psycopg[binary]==3.3.9", "gunicorn==27.0.1"]
PEER_VENV = ROOT / "var" / "peer-venv"
PEER_DIR = ROOT / "var" / "peer"
PEER_DATABASE = "rolesurvey_peer"
OURS_DATABASE = "rolesurvey_peer_ours"
REDIS_DB = 10
CACHE_DB = 15
WAVE_SLUG = "peer-bench"
QUESTIONS = 20


# The peer project, generated at run time ----------------------------------------------------

PEER_SETTINGS = """\
SECRET_KEY = {secret!r}
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1"]
INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "survey",
]
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]
ROOT_URLCONF = "peerproject.urls"
TEMPLATES = [
    {{
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {{
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        }},
    }},
]
WSGI_APPLICATION = "peerproject.wsgi.application"
DATABASES = {{
    "default": {{
        "ENGINE": "django.db.backends.postgresql",
        "NAME": {database!r},
        "USER": "postgres",
        "HOST": "127.0.0.1",
        "PORT": "5432",
        "CONN_MAX_AGE": 60,
    }}
}}
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
LANGUAGE_CODE = "en"
USE_I18N = True
USE_TZ = True
TIME_ZONE = "UTC"
STATIC_URL = "/static/"
LOGIN_URL = "/login/"
LOGGING = {{
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {{"console": {{"class": "logging.StreamHandler"}}}},
    "root": {{"handlers": ["console"], "level": "WARNING"}},
}}
"""

PEER_URLS = """\
from django.urls import include, path

urlpatterns = [path("survey/", include("survey.urls"))]
"""

PEER_WSGI = """\
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "peerproject.settings")
application = get_wsgi_application()
"""

PEER_MANAGE = """\
import os
import sys

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "peerproject.settings")
from django.core.management import execute_from_command_line

execute_from_command_line(sys.argv)
"""

# Run with the peer's python: the survey of 20 radio questions on one page; prints its id.
PEER_SETUP = """\
import os
from datetime import date

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "peerproject.settings")
django.setup()
from survey.models import Question, Survey

survey = Survey.objects.create(
    name="Role ratings (benchmark)",
    description="How strongly does Russia hold each role? 0 = not at all, 10 = fully.",
    is_published=True,
    need_logged_user=False,
    editable_answers=True,
    display_method=Survey.ALL_IN_ONE_PAGE,
    publish_date=date(2020, 1, 1),
    expire_date=date(2099, 12, 31),
)
for number in range(1, {questions} + 1):
    Question.objects.create(
        survey=survey,
        text=f"Role {{number}}",
        order=number,
        required=True,
        type=Question.RADIO,
        choices=",".join(str(value) for value in range(11)),
    )
print(survey.pk)
"""

PEER_CHECK = """\
import json
import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "peerproject.settings")
django.setup()
from django.db.models import Count

from survey.models import Answer, Response

counts = Response.objects.annotate(n=Count("answers")).values_list("n", flat=True)
print(json.dumps({{
    "responses": len(counts),
    "complete": sum(1 for n in counts if n == {questions}),
    "answers": Answer.objects.count(),
}}))
"""


def peer_install() -> str:
    """The peer's venv, created once; returns the installed version line."""
    python = PEER_VENV / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(PEER_VENV)], check=True)
    subprocess.run(
        [str(python), "-m", "pip", "install", "-q", *PEER_REQUIREMENTS],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    shown = subprocess.run(
        [str(python), "-m", "pip", "show", "django-survey-and-report", "django"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    versions = [line.split(": ")[1] for line in shown.splitlines() if line.startswith("Version")]
    return f"django-survey-and-report {versions[0]} on Django {versions[1]}"


def peer_project(env: dict) -> int:
    """Write the peer project, migrate its database, create the survey; returns its id."""
    package = PEER_DIR / "peerproject"
    package.mkdir(parents=True, exist_ok=True)
    (package / "__init__.py").write_text("")
    settings = PEER_SETTINGS.format(secret=secrets.token_urlsafe(50), database=PEER_DATABASE)
    (package / "settings.py").write_text(settings)
    (package / "urls.py").write_text(PEER_URLS)
    (package / "wsgi.py").write_text(PEER_WSGI)
    (PEER_DIR / "manage.py").write_text(PEER_MANAGE)
    (PEER_DIR / "setup_survey.py").write_text(PEER_SETUP.format(questions=QUESTIONS))
    (PEER_DIR / "check.py").write_text(PEER_CHECK.format(questions=QUESTIONS))
    database_recreate(PEER_DATABASE)
    python = str(PEER_VENV / "bin" / "python")
    subprocess.run(
        [python, "manage.py", "migrate", "--noinput", "-v0"], cwd=PEER_DIR, env=env, check=True
    )
    out = subprocess.run(
        [python, "setup_survey.py"], cwd=PEER_DIR, env=env, check=True, capture_output=True
    )
    return int(out.stdout.decode().strip().splitlines()[-1])


def peer_check(env: dict) -> dict:
    out = subprocess.run(
        [str(PEER_VENV / "bin" / "python"), "check.py"],
        cwd=PEER_DIR,
        env=env,
        check=True,
        capture_output=True,
    )
    return json.loads(out.stdout.decode().strip().splitlines()[-1])


# Our side -----------------------------------------------------------------------------------


def ours_build(n_invitations: int) -> list[str]:
    """A wave with one block of 20 roles for one panel; one invitation per submission."""
    from django.db import transaction

    from surveys.models import Actor, Panel, Perspective, Role
    from surveys.services import block_create, expert_create, invitation_create, wave_open
    from surveys.texts.services import texts_set

    with transaction.atomic():
        roles = list(Role.objects.filter(is_active=True).order_by("order", "code"))
        for number in range(len(roles) + 1, QUESTIONS + 1):
            role = Role.objects.create(code=f"bench_role_{number}", order=number)
            texts_set(
                owner=role,
                texts={
                    "name": {"en": f"Benchmark role {number}", "ru": f"Роль для замера {number}"},
                    "definition": {
                        "en": "A role made up for the peer benchmark.",
                        "ru": "Роль, придуманная для сравнения.",
                    },
                },
            )
            roles.append(role)
        roles = roles[:QUESTIONS]
        russia = Actor.objects.get(code="RUS")
        panel, _ = Panel.objects.get_or_create(code="MOW", defaults={"actor": russia})
        texts_set(owner=panel, texts={"city": {"en": "Moscow", "ru": "Москва"}})
        from surveys.models import Wave

        wave = Wave.objects.create(slug=WAVE_SLUG, title="Peer benchmark", is_synthetic=True)
        texts_set(owner=wave, texts={"title": {"en": "Peer benchmark", "ru": "Сравнение"}})
        block_create(
            wave=wave,
            holder=russia,
            subject=russia,
            perspective=Perspective.CONCEPTION,
            roles=roles,
            panels=[panel],
        )
        wave = wave_open(wave=wave)
        tokens = []
        for number in range(n_invitations):
            expert = expert_create(
                panel=panel,
                name=f"Peer Expert {number:05d}",
                email=f"peer{number:05d}@example.org",
                language="en",
            )
            tokens.append(invitation_create(expert=expert, wave=wave, language="en")[1])
    return tokens


def ours_check() -> dict:
    from django.db.models import Count

    from surveys.models import Rating, Response

    submitted = Response.objects.filter(
        wave__slug=WAVE_SLUG, status=Response.Status.SUBMITTED
    ).annotate(n=Count("ratings"))
    counts = list(submitted.values_list("n", flat=True))
    return {
        "responses": len(counts),
        "complete": sum(1 for n in counts if n == QUESTIONS),
        "answers": Rating.objects.filter(response__wave__slug=WAVE_SLUG).count(),
    }


OURS_PAGES = ["ours landing", "ours consent", "ours form", "ours form post", "ours thanks"]
PEER_PAGES = ["peer form", "peer form post", "peer confirm"]


def measure(label, *, user_class, processes, command, env, args, extra_env) -> dict:
    """Start one server, drive it with Locust until the submissions are done, stop it."""
    port = free_port()
    host = f"http://127.0.0.1:{port}"
    cwd = extra_env.pop("cwd")
    server = processes.start(f"gunicorn-{label}", command(port), env, cwd=cwd)
    try:
        wait_http(f"{host}/")
        load_before = os.getloadavg()[0]
        result = locust_run(
            user_class=user_class,
            host=host,
            users=args.users,
            spawn_rate=args.users,
            run_time=args.run_time,
            env={**env, **extra_env, "BENCH_SUBMISSIONS": str(args.submissions)},
            out=ROOT / "var" / "bench-peer" / f"locust-{label}.json",
        )
    finally:
        processes.stop(server)
    load_after = os.getloadavg()[0]
    duration = result["last_end"] - result["first_start"]
    return {
        "submissions": result["done"],
        "duration_s": round(duration, 2),
        "submissions_per_s": round(result["done"] / duration, 2),
        "loadavg_1m_before_after": [round(load_before, 2), round(load_after, 2)],
        "errors": sum(1 for s in result["samples"] if s[2]),
        "samples": result["samples"],
    }


def combine(rounds: list[dict], pages: list[str]) -> dict:
    """One side over all its rounds: submissions over the summed measured time."""
    done = sum(r["submissions"] for r in rounds)
    duration = sum(r["duration_s"] for r in rounds)
    samples = [s for r in rounds for s in r.pop("samples")]
    return {
        "submissions": done,
        "duration_s": round(duration, 2),
        "submissions_per_s": round(done / duration, 2),
        "requests_per_submission": len(pages),
        "errors": sum(r["errors"] for r in rounds),
        "rounds": rounds,
        "table": page_table(samples, pages, duration),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--users", type=int, default=20, help="concurrent clients")
    parser.add_argument("--submissions", type=int, default=500, help="per tool and round")
    parser.add_argument(
        "--rounds",
        type=int,
        default=4,
        help="rounds, in the order ours-peer, peer-ours, … (the machine's other load moves "
        "single rounds by up to 2x)",
    )
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--run-time", type=int, default=600, help="upper bound per tool, s")
    args = parser.parse_args(argv)
    stop_on_signals()

    var_dir = ROOT / "var" / "bench-peer"
    var_dir.mkdir(parents=True, exist_ok=True)
    env = base_env(database=OURS_DATABASE, redis_db=REDIS_DB, cache_db=CACHE_DB, var_dir=var_dir)
    os.environ.update(env)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings.base")

    try:
        peer_version = peer_install()
    except subprocess.CalledProcessError as error:
        print(f"The peer could not be installed: {error}", file=sys.stderr)
        return 2
    print(f"peer: {peer_version} in {PEER_VENV.relative_to(ROOT)}", flush=True)
    peer_env = {
        k: v for k, v in env.items() if not k.startswith(("DJANGO_", "DATABASE_", "CACHE_"))
    }
    survey_id = peer_project(peer_env)

    database_recreate(OURS_DATABASE)
    redis_flush(REDIS_DB, CACHE_DB)
    deploy(env)
    import django

    django.setup()
    tokens = ours_build(args.submissions * args.rounds)
    tokens_file = var_dir / "tokens.json"

    sides = {
        "ours": {
            "user_class": "OurFormUser",
            "command": lambda port: gunicorn_command(
                "project.wsgi:application", port, args.workers, args.threads, VENV_BIN
            ),
            "env": env,
        },
        "peer": {
            "user_class": "PeerFormUser",
            "command": lambda port: gunicorn_command(
                "peerproject.wsgi:application", port, args.workers, args.threads, PEER_VENV / "bin"
            ),
            "env": peer_env,
        },
    }
    measured: dict[str, list[dict]] = {"ours": [], "peer": []}
    processes = Processes(var_dir)
    try:
        for number in range(args.rounds):
            order = ["ours", "peer"] if number % 2 == 0 else ["peer", "ours"]
            for name in order:
                if name == "ours":
                    chunk = tokens[number * args.submissions : (number + 1) * args.submissions]
                    tokens_file.write_text(json.dumps(chunk))
                    extra = {"BENCH_TOKENS": str(tokens_file), "cwd": ROOT}
                else:
                    extra = {"BENCH_PEER_FORM": f"/survey/{survey_id}/", "cwd": PEER_DIR}
                side = sides[name]
                run = measure(
                    name,
                    user_class=side["user_class"],
                    processes=processes,
                    command=side["command"],
                    env=side["env"],
                    args=args,
                    extra_env=extra,
                )
                print(
                    f"round {number + 1} {name}: {run['submissions']} submissions, "
                    f"{run['submissions_per_s']}/s, {run['errors']} errors",
                    flush=True,
                )
                measured[name].append(run)
    finally:
        processes.stop_all()
        tokens_file.unlink(missing_ok=True)

    ours = combine(measured["ours"], OURS_PAGES)
    peer = combine(measured["peer"], PEER_PAGES)
    ours["stored"] = ours_check()
    peer["stored"] = peer_check(peer_env)
    for name, side in (("ours", ours), ("peer", peer)):
        print(f"\n{name}: {side['submissions']} submissions in {side['duration_s']} s")
        print_table(side["table"])
    ratio = round(ours["submissions_per_s"] / peer["submissions_per_s"], 2)
    figures = {
        "benchmark": "peer",
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "peer": peer_version,
        "users": args.users,
        "gunicorn": f"{args.workers}x{args.threads}",
        "ours": ours,
        "peer_tool": peer,
        "ratio_ours_over_peer": ratio,
        "per_request_ratio": round(ours["table"]["all"]["rps"] / peer["table"]["all"]["rps"], 2),
        # Every submission Locust saw confirmed is stored complete (in-flight ones may add).
        "stored_ok": ours["stored"]["complete"] >= ours["submissions"]
        and ours["stored"]["complete"] == ours["stored"]["responses"]
        and peer["stored"]["complete"] >= peer["submissions"]
        and peer["stored"]["complete"] == peer["stored"]["responses"],
    }
    figures["target_met"] = (
        ratio >= 3 and not ours["errors"] and not peer["errors"] and figures["stored_ok"]
    )
    print(
        f"submissions/s: ours {ours['submissions_per_s']}, peer {peer['submissions_per_s']}, "
        f"ratio {ratio} (target >= 3); requests/s ratio {figures['per_request_ratio']}"
    )
    (var_dir / "result.json").write_text(json.dumps(figures, indent=2))
    print(json.dumps({k: v for k, v in figures.items()}))
    return 0 if figures["target_met"] else 1


if __name__ == "__main__":
    sys.exit(main())
