"""The site's URLs plus /bench/baseline/: a view that inserts one row per request, the stack's practical limit."""

from django.db import connection
from django.http import HttpRequest, HttpResponse
from django.urls import include, path
from django.views.decorators.csrf import csrf_exempt


@csrf_exempt
def baseline(request: HttpRequest) -> HttpResponse:
    """Store the posted body as one row (one INSERT, one commit) and answer 201."""
    with connection.cursor() as cursor:
        cursor.execute("INSERT INTO bench_baseline (body, created_at) VALUES (%s, now())", [request.body.decode()])
    return HttpResponse(status=201)


urlpatterns = [path("bench/baseline/", baseline), path("", include("project.urls"))]
