from django.urls import path

from surveys.api import public

urlpatterns = [
    path("public/links/<str:token>/", public.PublicLinkView.as_view(), name="public-link"),
    path("public/links/<str:token>/responses/", public.PublicResponsesView.as_view(), name="public-responses"),
]
