from django.urls import include, path
from django.views.generic import RedirectView

from surveys import accounts, downloads, health, views

app_name = "surveys"

urlpatterns = [
    path("", RedirectView.as_view(url="/admin/", permanent=False), name="home"),
    path("s/<str:token>/", views.poll, name="poll"),
    path("s/<str:token>/embed/", views.poll_embed, name="poll-embed"),
    path("embed.js", views.embed_loader, name="embed-js"),
    path("r/<str:token>/", views.click, name="click"),
    path("o/<slug:brand_slug>/<slug:survey_slug>/", views.purchase_poll, name="purchase-poll"),
    path("o/<slug:brand_slug>/<slug:survey_slug>/embed/", views.purchase_poll_embed, name="purchase-poll-embed"),
    path("invite/<str:key>/", accounts.accept_invitation, name="accept_invitation"),
    path("healthz/", health.healthz, name="healthz"),
    path("readyz/", health.readyz, name="readyz"),
    path("exports/<int:export_id>/download/", downloads.download_export, name="export-download"),
    path("api/v1/", include("surveys.api.urls")),
]
