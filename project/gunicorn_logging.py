"""gunicorn's logger for this project: access lines without addresses, queries or tokens.

``project/gunicorn.conf.py`` names it. Whatever ``access_log_format`` says, the atoms it can
use hold no client address (``h`` and every address header or variable are ``-``), no query
string (``q`` is empty, ``r`` and ``U`` are the path alone: a query may hold a name or an
e-mail), and paths and the ``Referer`` (``f``) come redacted by ``project.redaction``: the
token of a personal link ``/s/<token>/`` reads ``/s/[token]/``. The error log goes through
the same redaction, and its "Invalid request from ip=…" lines lose the address.
"""

import logging
import re

from gunicorn.glogging import Logger

from project.redaction import ADDRESS_META, RedactingFilter, redact, redact_path


def _header_atom(key: str) -> str:
    """``HTTP_X_REAL_IP`` → ``{x-real-ip}i``, gunicorn's atom of that request header."""
    return "{" + key.removeprefix("HTTP_").lower().replace("_", "-") + "}i"


ADDRESS_ATOMS = {
    "h",
    *("{" + key.lower() + "}e" for key in ADDRESS_META),
    *(_header_atom(key) for key in ADDRESS_META if key.startswith("HTTP_")),
}
QUERY_ATOMS = {"q", "{query_string}e", "{raw_uri}e", "{request_uri}e"}
CLIENT_ADDRESS = re.compile(r"\bip=\S+")


class RedactingErrorFilter(RedactingFilter):
    def filter(self, record: logging.LogRecord) -> bool:
        super().filter(record)
        record.msg = CLIENT_ADDRESS.sub("ip=-", record.msg)
        return True


class RedactingLogger(Logger):
    def setup(self, cfg) -> None:
        super().setup(cfg)
        for handler in self.error_log.handlers:
            handler.addFilter(RedactingErrorFilter())
        for handler in self.access_log.handlers:
            handler.addFilter(RedactingFilter())

    def atoms(self, resp, req, environ, request_time) -> dict:
        atoms = super().atoms(resp, req, environ, request_time)
        path = redact_path(environ.get("PATH_INFO") or "")
        for name, value in atoms.items():
            if name in ADDRESS_ATOMS:
                atoms[name] = "-"
            elif name in QUERY_ATOMS:
                atoms[name] = ""
            elif name in ("f", "{referer}i", "{http_referer}e"):
                atoms[name] = redact_path(value) if value and value != "-" else "-"
            elif isinstance(value, str):
                atoms[name] = redact(value)
        atoms["U"] = path
        atoms["{path_info}e"] = path
        atoms["r"] = f"{environ['REQUEST_METHOD']} {path} {environ['SERVER_PROTOCOL']}"
        return atoms
