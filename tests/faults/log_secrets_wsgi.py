"""The WSGI application of tests/faults/test_log_secrets.py: ``project.wsgi`` (which refuses an
unsafe configuration) with Django's static-file handler in front, as a reverse proxy would
serve them, so that the browser's requests for the CSS and JS of the expert pages reach
gunicorn and its access log."""

from django.contrib.staticfiles.handlers import StaticFilesHandler

from project.wsgi import application as project_application

application = StaticFilesHandler(project_application)
