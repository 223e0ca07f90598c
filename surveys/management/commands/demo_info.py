from __future__ import annotations

import time
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from surveys.demo import DEMO_BRAND_SLUG, DEMO_PASSWORD, DEMO_USERNAME
from surveys import attribution
from surveys.models import CreatorLink, Survey


class Command(BaseCommand):
    help = "Print the admin login of the demo brand user, one poll URL and one signed post-purchase poll URL."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--base-url", default=settings.PUBLIC_BASE_URL)

    def handle(self, *args: Any, **options: Any) -> None:
        base = options["base_url"].rstrip("/")
        link = (
            CreatorLink.objects.filter(survey__brand__slug=DEMO_BRAND_SLUG, survey__post_purchase=False, active=True)
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
        survey = Survey.objects.filter(brand__slug=DEMO_BRAND_SLUG, post_purchase=True).select_related("brand").first()
        if survey is not None and survey.brand.order_secret:
            t = int(time.time())
            query = attribution.signed_query(survey.brand.order_secret, order_id=f"TRY-{t}", amount="49.90",
                                             currency="EUR", timestamp=t)
            self.stdout.write(f"Buyer URL: {base}/o/{survey.brand.slug}/{survey.slug}/?{query}  (a signed order, as a shop's confirmation page would show it)")
