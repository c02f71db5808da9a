"""The documented gunicorn setup (project/gunicorn.conf.py) logs no address, query or token."""

import runpy
from datetime import timedelta
from types import SimpleNamespace

from gunicorn.config import Config

from project.gunicorn_logging import RedactingLogger

ROOT_CONFIG = "project/gunicorn.conf.py"
TOKEN = "A1beeNRWI0XweRUL6r7nDqJu4XDMl11EFpgwkV5guTE"
ADDRESS = "203.0.113.50"


def gunicorn_config(tmp_path, **overrides) -> Config:
    """The settings of project/gunicorn.conf.py, as gunicorn reads them."""
    config = Config()
    for name, value in runpy.run_path(ROOT_CONFIG).items():
        if name in config.settings:
            config.set(name, value)
    config.set("accesslog", str(tmp_path / "access.log"))
    config.set("errorlog", str(tmp_path / "error.log"))
    for name, value in overrides.items():
        config.set(name, value)
    return config


def request_logged(logger: RedactingLogger) -> None:
    environ = {
        "REQUEST_METHOD": "POST",
        "RAW_URI": f"/s/{TOKEN}/b/2/?q=ivan@example.org",
        "PATH_INFO": f"/s/{TOKEN}/b/2/",
        "QUERY_STRING": "q=ivan@example.org",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": ADDRESS,
        "HTTP_REFERER": f"https://survey.example.org/s/{TOKEN}/b/1/?lang=ru",
        "HTTP_X_FORWARDED_FOR": ADDRESS,
    }
    request = SimpleNamespace(
        headers=[
            ("REFERER", environ["HTTP_REFERER"]),
            ("X-FORWARDED-FOR", ADDRESS),
            ("X-REAL-IP", ADDRESS),
        ]
    )
    response = SimpleNamespace(status="302 Found", headers=[("Location", f"/s/{TOKEN}/")], sent=0)
    logger.access(response, request, environ, timedelta(milliseconds=12))


def test_the_access_log_has_the_redacted_path_and_referer_and_no_address(tmp_path):
    logger = RedactingLogger(gunicorn_config(tmp_path))
    request_logged(logger)
    line = (tmp_path / "access.log").read_text()
    assert '"POST /s/[token]/b/2/ HTTP/1.1" 302' in line
    assert '"https://survey.example.org/s/[token]/b/1/"' in line
    for secret in (TOKEN, ADDRESS, "ivan@example.org", "lang=ru"):
        assert secret not in line


def test_no_format_can_bring_an_address_a_query_or_a_token_back(tmp_path):
    every_atom = (
        "%(h)s %(r)s %(U)s %(q)s %(f)s %({referer}i)s %({x-forwarded-for}i)s %({x-real-ip}i)s "
        "%({remote_addr}e)s %({raw_uri}e)s %({query_string}e)s %({location}o)s"
    )
    logger = RedactingLogger(gunicorn_config(tmp_path, access_log_format=every_atom))
    request_logged(logger)
    line = (tmp_path / "access.log").read_text()
    assert "/s/[token]/" in line
    for secret in (TOKEN, ADDRESS, "ivan@example.org"):
        assert secret not in line


def test_the_error_log_is_redacted_and_has_no_address(tmp_path):
    logger = RedactingLogger(gunicorn_config(tmp_path))
    logger.warning(f"Invalid request from ip={ADDRESS}: bad header")
    logger.error("Error handling request %s %s", "GET", f"/s/{TOKEN}/?e=ivan@example.org")
    text = (tmp_path / "error.log").read_text()
    assert "ip=-" in text and "/s/[token]/" in text
    for secret in (TOKEN, ADDRESS, "ivan@example.org"):
        assert secret not in text
