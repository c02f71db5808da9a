"""WSGI entry point; refuses to start with an unsafe production configuration (project.checks)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings.base")
application = get_wsgi_application()

from project.checks import refuse_unsafe_configuration  # noqa: E402 - needs the apps loaded

refuse_unsafe_configuration(serving=True)
