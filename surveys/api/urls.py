from django.urls import path
from rest_framework.routers import SimpleRouter

from surveys.api import public, resources

router = SimpleRouter()
router.register("brands", resources.BrandViewSet, basename="brand")
router.register("creators", resources.CreatorViewSet, basename="creator")

urlpatterns = [
    *router.urls,
    path("public/links/<str:token>/", public.PublicLinkView.as_view(), name="public-link"),
    path("public/links/<str:token>/responses/", public.PublicResponsesView.as_view(), name="public-responses"),
]
