"""gunicorn settings: ``gunicorn -c project/gunicorn.conf.py`` (the application is
``project.wsgi``; give another after the options to serve that instead).

Logs record no client address, no query string and no invitation token
(``project.gunicorn_logging``). Environment variables:

- ``GUNICORN_BIND`` (``127.0.0.1:8000``): behind the reverse proxy that terminates HTTPS;
- ``GUNICORN_WORKERS`` (3) and ``GUNICORN_THREADS`` (4);
- ``GUNICORN_ACCESS_LOG`` (``-``: standard output; a file path; empty: no access log) and
  ``GUNICORN_ERROR_LOG`` (``-``: standard error; a file path);
- ``GUNICORN_LOG_LEVEL`` (``info``).
"""

import os

wsgi_app = "project.wsgi:application"
bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("GUNICORN_WORKERS", "3"))
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
worker_class = "gthread" if threads > 1 else "sync"
timeout = 60
# Longer than a proxy's idle timeout, so that the server never closes a connection the proxy
# is about to reuse.
keepalive = 75

logger_class = "project.gunicorn_logging.RedactingLogger"
accesslog = os.environ.get("GUNICORN_ACCESS_LOG", "-") or None
errorlog = os.environ.get("GUNICORN_ERROR_LOG", "-")
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
# Time, request (method and redacted path, no query), status, bytes, milliseconds, redacted
# Referer path. No address, no user agent.
access_log_format = '%(t)s "%(r)s" %(s)s %(b)s %(M)sms "%(f)s"'
# No control socket (gunicorn's management socket in the home folder): nothing here uses it.
control_socket_disable = True
