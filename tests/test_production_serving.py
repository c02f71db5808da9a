"""Production serves its own static files: gunicorn with DEBUG off and the production settings,
after the documented `collectstatic` and `migrate`, answers the expert pages' style sheet and
script (and the admin's) with 200, gzipped, under content-hashed names cached for a year; the
pages themselves are gzipped too."""

import re
import subprocess
from pathlib import Path

import pytest
import requests

from tests.production import GUNICORN, deploy, free_port, manage, production_env, served, wait_for
from tests.worker import ROOT

GZIP = {"Accept-Encoding": "gzip"}
HASHED_NAME = re.compile(r"\.[0-9a-f]{12}\.(css|js)$")


def assets_of(html: str) -> list[str]:
    """The style sheets and scripts a page loads, as paths of the site."""
    return re.findall(r'<link rel="stylesheet" href="([^"]+)"', html) + re.findall(
        r'<script[^>]* src="([^"]+)"', html
    )


@pytest.fixture
def production_server(tmp_path: Path):
    """gunicorn on the production settings over the demo; yields (base URL, demo output)."""
    port = free_port()
    env = production_env(tmp_path, port)
    logs = tmp_path / "logs"
    deploy(env, logs)
    demo = manage(env, logs, "seed_demo", "seed_demo")
    base = f"http://127.0.0.1:{port}"
    with open(logs / "gunicorn-output.log", "w") as output:
        server = subprocess.Popen(
            GUNICORN, cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT
        )
        try:
            wait_for(lambda: served(f"{base}/admin/login/"), 120, "gunicorn")
            yield base, demo
        finally:
            server.terminate()
            server.wait(timeout=30)


def test_production_serves_the_expert_pages_static_files_compressed(production_server):
    base, demo = production_server
    link = re.search(rf"{re.escape(base)}/s/[^/\s]+/", demo)[0]

    page = requests.get(link, headers=GZIP, timeout=10)
    assert page.status_code == 200
    assert page.headers["Content-Encoding"] == "gzip"
    admin_page = requests.get(f"{base}/admin/login/", headers=GZIP, timeout=10)
    assets = assets_of(page.text)
    assert any(path.endswith(".css") for path in assets), page.text[:2000]
    assert any(path.endswith(".js") for path in assets), page.text[:2000]
    assets += assets_of(admin_page.text)
    assert any(path.startswith("/static/admin/css/") for path in assets), admin_page.text[:2000]

    for path in assets:
        served_asset = requests.get(f"{base}{path}", headers=GZIP, timeout=10)
        assert served_asset.status_code == 200, path
        assert served_asset.headers["Content-Encoding"] == "gzip", path
        assert HASHED_NAME.search(path), path
        assert "immutable" in served_asset.headers["Cache-Control"], path
        plain = requests.get(f"{base}{path}", headers={"Accept-Encoding": "identity"}, timeout=10)
        assert plain.status_code == 200 and "Content-Encoding" not in plain.headers, path
        assert plain.content == served_asset.content, path  # requests inflates the gzip body
        assert int(served_asset.headers["Content-Length"]) < len(plain.content), path

    # The offline copy of the form (the service worker) names the same hashed files.
    worker = requests.get(f"{base}/s/sw.js", timeout=10)
    assert worker.status_code == 200
    for path in assets_of(page.text):
        assert path in worker.text, path
