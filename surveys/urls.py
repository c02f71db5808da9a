"""The expert questionnaire: every page lives under the personal link ``/s/<token>/``."""

from django.urls import path

from surveys import views

app_name = "surveys"

urlpatterns = [
    # Not of the form /s/<token>/: no link is counted or looked up for these two.
    path("s/sw.js", views.service_worker, name="service_worker"),
    path("s/offline.html", views.offline, name="offline"),
    path("s/<str:token>/", views.landing, name="landing"),
    path("s/<str:token>/about/", views.about, name="about"),
    path("s/<str:token>/resume/", views.resume, name="resume"),
    path("s/<str:token>/b/<int:order>/", views.block, name="block"),
    path("s/<str:token>/b/<int:order>/autosave/", views.autosave, name="autosave"),
    path("s/<str:token>/review/", views.review, name="review"),
    path("s/<str:token>/submit/", views.submit, name="submit"),
    path("s/<str:token>/thanks/", views.thanks, name="thanks"),
    path("s/<str:token>/language/", views.language_switch, name="language"),
]
