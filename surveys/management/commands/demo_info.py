from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from surveys.demo import DEMO_BRAND_SLUG, DEMO_PASSWORD, DEMO_USERNAME
from surveys.models import CreatorLink


class Command(BaseCommand):
    help = "Print the admin login of the demo brand user and one poll URL."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--base-url", default=settings.PUBLIC_BASE_URL)

    def handle(self, *args: Any, **options: Any) -> None:
        base = options["base_url"].rstrip("/")
        link = (
            CreatorLink.objects.filter(survey__brand__slug=DEMO_BRAND_SLUG, active=True)
            .select_related("creator")
            .order_by("creator__display_name")
            .first()
        )
        self.stdout.write(f"Admin:    {base}/admin/")
        if link is None:
            self.stdout.write("No demo data; run `manage.py seed_demo` to create it.")
            return
        self.stdout.write(f"Login:    {DEMO_USERNAME} / {DEMO_PASSWORD}")
        self.stdout.write(f"Poll URL: {base}/s/{link.token}/  (as a follower of {link.creator.display_name})")
