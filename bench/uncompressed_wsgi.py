"""The application as a client that accepts no compression sees it: the baseline server of
``bench.page_weight`` (the request's ``Accept-Encoding`` removed before Django and WhiteNoise
read it)."""

from project.wsgi import application as project_application


def application(environ, start_response):
    environ.pop("HTTP_ACCEPT_ENCODING", None)
    return project_application(environ, start_response)
