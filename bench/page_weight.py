"""Weight and load time of the expert pages on a slow 3G: ``python -m bench.page_weight``.

The production set-up on loopback (PostgreSQL database ``rolesurvey_pages``, Redis databases
8, 9 and 7, `collectstatic` and `migrate`, the synthetic demo, gunicorn with
``project/gunicorn.conf.py`` and DEBUG off), then headless Chromium throttled as Chrome's
"Slow 3G" preset (2,000 ms latency, 400 kbit/s down and up) walks an expert's first pages
twice from an empty cache: from the production server, and from a second server of the same
application that sees no ``Accept-Encoding`` (``bench/uncompressed_wsgi.py``), as for a client
that accepts no compression: the baseline of the same run. Per page:
bytes on the wire (Chromium's ``encodedDataLength``: bodies and headers of the page and of
everything it loads) and the time from the click (or the address) to the ``load`` event.

Pages: the landing page from a cold cache (HTML, style sheet, script), the
first block page after the consent (its style sheet and script now cached), the next block
page. ``--repeat`` walks (default 3) per mode; the medians are printed, then one JSON line.
"""

import argparse
import json
import re
import statistics
import subprocess
import time
from pathlib import Path

from bench.load import (
    ROOT,
    VENV_BIN,
    Processes,
    base_env,
    database_recreate,
    deploy,
    free_port,
    gunicorn_command,
    redis_flush,
    stop_on_signals,
    wait_http,
)

DATABASE = "rolesurvey_pages"
REDIS_DB = 8
CACHE_DB = 7
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
# Chrome DevTools' "Slow 3G": 500 kbit/s x 0.8 each way, 400 ms x 5 latency.
SLOW_3G = {
    "offline": False,
    "latency": 2000,
    "downloadThroughput": 500 * 1000 / 8 * 0.8,
    "uploadThroughput": 500 * 1000 / 8 * 0.8,
}
# Each mode's WSGI application.
MODES = {
    "compressed": "project.wsgi:application",
    "uncompressed": "bench.uncompressed_wsgi:application",
}
PAGES = ("landing (cold cache)", "first block page", "next block page")


def walk(browser, link: str) -> dict[str, tuple[int, float]]:
    """One expert's first three pages from an empty cache: {page: (bytes, seconds)}."""
    # The service worker is kept out: requests it makes are not the page's, and its fetch
    # handler only passes the form's pages through while online.
    context = browser.new_context(viewport={"width": 360, "height": 740}, service_workers="block")
    page = context.new_page()
    cdp = context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Network.emulateNetworkConditions", SLOW_3G)
    received = []
    cdp.on("Network.loadingFinished", lambda event: received.append(event["encodedDataLength"]))

    def measured(action) -> tuple[int, float]:
        received.clear()
        started = time.monotonic()
        action()
        page.wait_for_load_state("load")
        elapsed = time.monotonic() - started
        page.wait_for_load_state("networkidle")  # the service worker's own fetches, if any
        return sum(received), elapsed

    results = {PAGES[0]: measured(lambda: page.goto(link, wait_until="load"))}
    page.locator("#consent").check()

    def consent() -> None:
        with page.expect_navigation(url=re.compile(r"/b/\d+/$"), wait_until="load"):
            page.locator(".consent-form button[type=submit]").click()

    results[PAGES[1]] = measured(consent)

    def next_page() -> None:
        current = page.url
        with page.expect_navigation(url=lambda url: url != current, wait_until="load"):
            page.locator("button[name=action][value=next]").click()

    results[PAGES[2]] = measured(next_page)
    context.close()
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="walks per mode (default 3)")
    args = parser.parse_args(argv)
    stop_on_signals()
    from playwright.sync_api import sync_playwright

    var_dir = ROOT / "var" / "bench-pages"
    var_dir.mkdir(parents=True, exist_ok=True)
    env = base_env(database=DATABASE, redis_db=REDIS_DB, cache_db=CACHE_DB, var_dir=var_dir)
    ports = {mode: free_port() for mode in MODES}
    base = f"http://127.0.0.1:{ports['compressed']}"
    env["SITE_URL"] = base
    database_recreate(DATABASE)
    redis_flush(REDIS_DB, CACHE_DB)
    deploy(env)
    demo = subprocess.run(
        [str(VENV_BIN / "python"), "manage.py", "seed_demo"],
        env=env,
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    # Unanswered demo invitations of the open wave, one per walk.
    links = re.findall(rf"{re.escape(base)}/s/[^/\s]+/", demo)
    needed = args.repeat * len(MODES)
    if len(links) < needed:
        raise SystemExit(f"the demo printed {len(links)} links; {needed} are needed")

    processes = Processes(var_dir)
    samples: dict[str, dict[str, list[tuple[int, float]]]] = {
        mode: {page: [] for page in PAGES} for mode in MODES
    }
    try:
        for mode, app in MODES.items():
            config = ROOT / "project/gunicorn.conf.py"
            command = gunicorn_command(app, ports[mode], 1, 4, VENV_BIN, config)
            processes.start(f"gunicorn-{mode}", command, env)
        for port in ports.values():
            wait_http(f"http://127.0.0.1:{port}/admin/login/")
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
            )
            for round_number in range(args.repeat):
                for mode in MODES:
                    link = links.pop().replace(base, f"http://127.0.0.1:{ports[mode]}")
                    for page, sample in walk(browser, link).items():
                        samples[mode][page].append(sample)
                print(f"walk {round_number + 1}/{args.repeat} done", flush=True)
            browser.close()
    finally:
        processes.stop_all()

    figures = {}
    print(f"\n{'page':<22} {'bytes gzip':>11} {'bytes plain':>12} {'s gzip':>7} {'s plain':>8}")
    for page in PAGES:
        row = {}
        for mode in MODES:
            row[f"{mode}_bytes"] = int(statistics.median(b for b, _s in samples[mode][page]))
            row[f"{mode}_seconds"] = round(statistics.median(s for _b, s in samples[mode][page]), 2)
        row["bytes_ratio"] = round(row["compressed_bytes"] / row["uncompressed_bytes"], 3)
        row["time_ratio"] = round(row["compressed_seconds"] / row["uncompressed_seconds"], 3)
        figures[page] = row
        print(
            f"{page:<22} {row['compressed_bytes']:>11,} {row['uncompressed_bytes']:>12,} "
            f"{row['compressed_seconds']:>7.2f} {row['uncompressed_seconds']:>8.2f}"
        )
    print(json.dumps({"network": "slow 3G", "repeat": args.repeat, "pages": figures}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
