from django.urls import path
from rest_framework.routers import SimpleRouter

from surveys.api import outcomes, public, resources, team

router = SimpleRouter()
router.register("brands", resources.BrandViewSet, basename="brand")
router.register("creators", resources.CreatorViewSet, basename="creator")
router.register("surveys", resources.SurveyViewSet, basename="survey")
router.register("questions", resources.QuestionViewSet, basename="question")
router.register("instruments", resources.InstrumentViewSet, basename="instrument")
router.register("links", resources.LinkViewSet, basename="link")
router.register("responses", resources.ResponseViewSet, basename="response")
router.register("analyses", resources.AnalysisRunViewSet, basename="analysis")
router.register("exports", resources.ExportViewSet, basename="export")
router.register("members", team.MemberViewSet, basename="member")
router.register("invitations", team.InvitationViewSet, basename="invitation")
router.register("audit", team.AuditEventViewSet, basename="audit")
router.register("webhooks", team.WebhookEndpointViewSet, basename="webhook")
router.register("orders", outcomes.OrderViewSet, basename="order")
router.register("outcomes", outcomes.OutcomeViewSet, basename="outcome")

urlpatterns = [
    *router.urls,
    path("public/links/<str:token>/", public.PublicLinkView.as_view(), name="public-link"),
    path("public/links/<str:token>/responses/", public.PublicResponsesView.as_view(), name="public-responses"),
]
