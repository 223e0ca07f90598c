from django.urls import include, path
from django.views.generic import RedirectView

from surveys import views

app_name = "surveys"

urlpatterns = [
    path("", RedirectView.as_view(url="/admin/", permanent=False), name="home"),
    path("s/<str:token>/", views.poll, name="poll"),
    path("api/v1/", include("surveys.api.urls")),
]
