from __future__ import annotations

import os

import pytest

from surveys.choices import Role
from tests.factories import (
    BrandFactory,
    CreatorFactory,
    CreatorLinkFactory,
    MembershipFactory,
    QuestionFactory,
    SurveyFactory,
    UserFactory,
)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # Every test touches the database through Django models or the test client.
    for item in items:
        if "nodb" not in item.keywords:
            item.add_marker(pytest.mark.django_db)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """In CI a skipped test is a failure: a suite that silently skips proves nothing."""
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = reporter.stats.get("skipped", []) if reporter else []
    if os.environ.get("CI") == "true" and skipped and exitstatus == 0:
        reporter.write_line(f"CI=true: {len(skipped)} test(s) skipped; failing the run.", red=True)
        session.exitstatus = 1


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Rate-limit counters and cached medians live in the cache, keyed by ids that repeat across tests."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def two_brands():
    """Two brands, each with an editor, an owner, a creator, a survey with a question and a link."""
    data = {}
    for key in ("a", "b"):
        brand = BrandFactory(slug=f"brand-{key}", name=f"Brand {key.upper()}")
        editor = UserFactory(username=f"editor_{key}")
        MembershipFactory(user=editor, brand=brand, role=Role.EDITOR)
        owner = UserFactory(username=f"owner_{key}", email=f"owner@{key}.example")
        MembershipFactory(user=owner, brand=brand, role=Role.OWNER)
        creator = CreatorFactory(brand=brand, handle=f"creator_{key}")
        survey = SurveyFactory(brand=brand, slug=f"survey-{key}")
        question = QuestionFactory(survey=survey, code=f"trust_{key}")
        link = CreatorLinkFactory(survey=survey, creator=creator)
        data[key] = {
            "brand": brand,
            "editor": editor,
            "owner": owner,
            "creator": creator,
            "survey": survey,
            "question": question,
            "link": link,
        }
    return data
