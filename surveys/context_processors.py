"""Template context for the admin: whether synthetic demo data is in the database."""

from django.http import HttpRequest

from surveys.models import Wave


class SyntheticDataFlag:
    """True when any wave is synthetic. Lazy: the one cheap query (an indexed ``EXISTS``)
    runs only if a template asks, and at most once per request."""

    def __init__(self) -> None:
        self._value: bool | None = None

    def __bool__(self) -> bool:
        if self._value is None:
            self._value = Wave.objects.filter(is_synthetic=True).exists()
        return self._value


def synthetic_data(request: HttpRequest) -> dict:
    """``synthetic_data_present`` for the banner of ``templates/admin/base_site.html``.

    Pages that show one wave put it in the context as ``report_wave``; the banner then
    follows that wave's flag instead.
    """
    return {"synthetic_data_present": SyntheticDataFlag()}
