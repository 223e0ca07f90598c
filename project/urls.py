from django.contrib import admin
from django.urls import include, path

admin.site.site_header = "TrustPoll"
admin.site.site_title = "TrustPoll"
admin.site.index_title = "Surveys, creators and results"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("", include("surveys.urls")),
]
