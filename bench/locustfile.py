"""Locust users of the load and peer benchmarks (run by ``bench.load`` and ``bench.peer``).

Not meant to be started by hand: the orchestrating scripts create the data, write the
personal-link tokens to a file named by ``BENCH_TOKENS`` and pick a user class.

- ``ExpertUser`` (``bench.load``): one simulated expert per token, once: landing, consent,
  every block of their questionnaire (GET, ``BENCH_AUTOSAVES`` autosaves while filling the
  rows, POST "next"; on the last block "Review and submit"), the review page and its
  submit, thanks (a block page never submits: every submission goes through the review);
  ``BENCH_THINK`` seconds (mean) between steps.
- ``OurFormUser`` and ``PeerFormUser`` (``bench.peer``): the same 20-question one-page
  rating form, as fast as possible (no think time), ``BENCH_SUBMISSIONS`` submissions in all
  (each client starts a new one when its last one is done).

Every request is checked (status, redirect target, JSON ``ok``); the samples (page, time,
error) are written to ``BENCH_OUT`` when Locust quits, so that the scripts compute exact
percentiles and rates themselves.
"""

import json
import os
import random
import re
import time
from urllib.parse import urlencode, urlsplit

import gevent
from locust import FastHttpUser, events, task
from locust.exception import StopUser

CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
VALUE_FIELD = re.compile(r'name="(v-[0-9]+)"')
PEER_FIELD = re.compile(r'name="(question_[0-9]+)"')
FORM_HEADERS = {"Content-Type": "application/x-www-form-urlencoded"}

SAMPLES: list[tuple[str, float, str]] = []  # (page, milliseconds, error or "")
STATE = {
    "tokens": None,
    "next": 0,
    "done": 0,
    "ended": 0,
    "quitting": False,
    "first": None,
    "last": None,
    "flows": [],
}


def _tokens() -> list[str]:
    if STATE["tokens"] is None:
        with open(os.environ["BENCH_TOKENS"]) as handle:
            STATE["tokens"] = json.load(handle)
    return STATE["tokens"]


def _submissions() -> int:
    return int(os.environ["BENCH_SUBMISSIONS"])


def _take_token() -> str | None:
    tokens = _tokens()
    if STATE["next"] >= len(tokens):
        return None
    STATE["next"] += 1
    return tokens[STATE["next"] - 1]


@events.request.add_listener
def _record(request_type, name, response_time, exception, **_kwargs):
    SAMPLES.append((name, response_time, "" if exception is None else repr(exception)[:300]))


@events.quitting.add_listener
def _dump(environment, **_kwargs):
    out = os.environ.get("BENCH_OUT")
    if not out:
        return
    with open(out, "w") as handle:
        json.dump(
            {
                "samples": SAMPLES,
                "done": STATE["done"],
                "first_start": STATE["first"],
                "last_end": STATE["last"],
                "flows": STATE["flows"],
            },
            handle,
        )


class CheckFailed(Exception):
    pass


class _Base(FastHttpUser):
    abstract = True
    # Loopback, one connection per simulated user; a stuck request fails instead of hanging.
    connection_timeout = 30.0
    network_timeout = 60.0

    def _think(self) -> None:
        mean = float(os.environ.get("BENCH_THINK", "0"))
        if mean > 0:
            gevent.sleep(random.uniform(0.5 * mean, 1.5 * mean))

    def _call(self, method, url, name, *, data=None, expect=200, location=None, json_ok=False):
        """One request, checked; returns the response (body text and headers)."""
        body = urlencode(data) if data is not None else None
        headers = dict(FORM_HEADERS) if data is not None else {}
        if json_ok:
            headers["Accept"] = "application/json"
        with self.client.request(
            method,
            url,
            name=name,
            data=body,
            headers=headers,
            allow_redirects=False,
            catch_response=True,
        ) as response:
            problem = ""
            if response.status_code == 0:
                problem = f"{name}: no response ({type(response.error).__name__}: {response.error})"
            elif response.status_code != expect:
                problem = f"{name}: status {response.status_code}, expected {expect}"
            elif location and location not in (response.headers.get("Location") or ""):
                problem = f"{name}: redirected to {response.headers.get('Location')!r}"
            elif json_ok:
                try:
                    ok = json.loads(response.text).get("ok") is True
                except ValueError:
                    ok = False
                if not ok:
                    problem = f"{name}: autosave not ok: {response.text[:200]!r}"
            if problem:
                response.failure(problem)
                raise CheckFailed(problem)
            response.success()
            return response

    def _finish(self, started: float) -> None:
        now = time.time()
        STATE["done"] += 1
        STATE["last"] = now
        STATE["flows"].append(now - started)

    def _start(self) -> float:
        now = time.time()
        if STATE["first"] is None:
            STATE["first"] = now
        return now

    def _quit_when(self, done: bool) -> None:
        if done:
            if not STATE["quitting"]:
                STATE["quitting"] = True
                gevent.spawn_later(0.1, self.environment.runner.quit)
            raise StopUser()


def _path(location: str) -> str:
    return urlsplit(location).path


def _block_answers(fields: list[str], answered: int) -> dict[str, str]:
    """Ratings of the first ``answered`` rows: mostly 0–10, 5 % cannot judge, some confidence."""
    data: dict[str, str] = {}
    rng = random.Random(hash(tuple(fields)))  # the same answers at every save of a page
    for field in fields[:answered]:
        data[field] = "cj" if rng.random() < 0.05 else str(rng.randint(0, 10))
        if data[field] != "cj" and rng.random() < 0.5:
            data["c-" + field[2:]] = str(rng.randint(1, 5))
    return data


class ExpertUser(_Base):
    """One expert: the whole questionnaire through their personal link, once."""

    @task
    def questionnaire(self) -> None:
        token = _take_token()
        if token is None:
            raise StopUser()
        via_review = STATE["next"] % 2 == 1  # the first, third, … token
        started = self._start()
        base = f"/s/{token}/"
        autosaves = int(os.environ.get("BENCH_AUTOSAVES", "2"))
        try:
            page = self._call("GET", base, "landing")
            csrf = CSRF.search(page.text).group(1)
            self._think()
            consent = {"csrfmiddlewaretoken": csrf, "consent": "on"}
            page = self._call("POST", base, "consent", data=consent, expect=302, location="/b/")
            location = _path(page.headers["Location"])
            while "/b/" in location:
                page = self._call("GET", location, "block")
                csrf = CSRF.search(page.text).group(1)
                fields = list(dict.fromkeys(VALUE_FIELD.findall(page.text)))
                if not fields:
                    raise CheckFailed(f"no rows on {location}")
                for step in range(1, autosaves + 1):
                    self._think()
                    answered = round(len(fields) * step / autosaves)
                    data = {"csrfmiddlewaretoken": csrf, "comment": ""}
                    data.update(_block_answers(fields, answered))
                    self._call("POST", location + "autosave/", "autosave", data=data, json_ok=True)
                self._think()
                last = 'name="action" value="submit"' in page.text
                action = "submit" if last and not via_review else "next"
                data = {"csrfmiddlewaretoken": csrf, "comment": "", "action": action}
                data.update(_block_answers(fields, len(fields)))
                name = "block_submit" if action == "submit" else "block_post"
                thanks = "/thanks/" if action == "submit" else None
                page = self._call("POST", location, name, data=data, expect=302, location=thanks)
                location = _path(page.headers["Location"])
            if via_review:
                if not location.endswith("/review/"):
                    raise CheckFailed(f"after the last block: {location}")
                page = self._call("GET", location, "review")
                csrf = CSRF.search(page.text).group(1)
                self._think()
                data = {"csrfmiddlewaretoken": csrf}
                page = self._call(
                    "POST", base + "submit/", "submit", data=data, expect=302, location="/thanks/"
                )
                location = _path(page.headers["Location"])
            if not location.endswith("/thanks/"):
                raise CheckFailed(f"after submitting: {location}")
            self._call("GET", location, "thanks")
            self._finish(started)
        except CheckFailed:
            pass  # recorded as a failed request; the database check counts what is missing
        STATE["ended"] += 1
        # The last expert to finish, successfully or not, ends the run.
        self._quit_when(STATE["ended"] >= len(_tokens()))
        raise StopUser()


class OurFormUser(_Base):
    """Our one-page 20-question form: the link, consent, the page, its post with "Review and
    submit", the review page, its "Submit", the thank-you page."""

    @task
    def submission(self) -> None:
        if STATE["next"] >= _submissions():
            raise StopUser()
        token = _take_token()
        started = self._start()
        base = f"/s/{token}/"
        self.client.cookiejar.clear()
        try:
            page = self._call("GET", base, "ours landing")
            csrf = CSRF.search(page.text).group(1)
            consent = {"csrfmiddlewaretoken": csrf, "consent": "on"}
            page = self._call(
                "POST", base, "ours consent", data=consent, expect=302, location="/b/"
            )
            location = _path(page.headers["Location"])
            page = self._call("GET", location, "ours form")
            csrf = CSRF.search(page.text).group(1)
            fields = list(dict.fromkeys(VALUE_FIELD.findall(page.text)))
            if len(fields) != 20:
                raise CheckFailed(f"our form has {len(fields)} questions")
            data = {"csrfmiddlewaretoken": csrf, "comment": "", "action": "review"}
            data.update({field: str(random.randint(0, 10)) for field in fields})
            page = self._call(
                "POST", location, "ours form post", data=data, expect=302, location="/review/"
            )
            page = self._call("GET", _path(page.headers["Location"]), "ours review")
            csrf = CSRF.search(page.text).group(1)
            page = self._call(
                "POST",
                base + "submit/",
                "ours submit",
                data={"csrfmiddlewaretoken": csrf},
                expect=302,
                location="/thanks/",
            )
            self._call("GET", _path(page.headers["Location"]), "ours thanks")
            self._finish(started)
        except CheckFailed:
            pass
        STATE["ended"] += 1
        self._quit_when(STATE["ended"] >= _submissions())


class PeerFormUser(_Base):
    """django-survey-and-report's one-page form: the page, its post, the confirmation."""

    @task
    def submission(self) -> None:
        if STATE["next"] >= _submissions():
            raise StopUser()
        STATE["next"] += 1
        started = self._start()
        url = os.environ["BENCH_PEER_FORM"]
        self.client.cookiejar.clear()
        try:
            page = self._call("GET", url, "peer form")
            csrf = CSRF.search(page.text).group(1)
            fields = list(dict.fromkeys(PEER_FIELD.findall(page.text)))
            if len(fields) != 20:
                raise CheckFailed(f"peer form has {len(fields)} questions")
            data = {"csrfmiddlewaretoken": csrf}
            data.update({field: str(random.randint(0, 10)) for field in fields})
            page = self._call(
                "POST", url, "peer form post", data=data, expect=302, location="/confirm/"
            )
            self._call("GET", _path(page.headers["Location"]), "peer confirm")
            self._finish(started)
        except CheckFailed:
            pass
        STATE["ended"] += 1
        self._quit_when(STATE["ended"] >= _submissions())
