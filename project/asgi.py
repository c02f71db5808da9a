"""ASGI entry point; refuses to start with an unsafe production configuration (project.checks)."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings.base")
application = get_asgi_application()

from project.checks import refuse_unsafe_configuration  # noqa: E402 - needs the apps loaded

refuse_unsafe_configuration(serving=True)
