"""Schema-driven fuzzing of the REST API with schemathesis: no 5xx, and responses that match the schema."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from project.wsgi import application
from surveys.choices import Role
from surveys.tokens import issue_token
from tests.factories import CreatorLinkFactory, MembershipFactory, QuestionFactory, ResponseFactory, UserFactory

pytestmark = [pytest.mark.fuzz, pytest.mark.django_db(transaction=True)]

schema = schemathesis.openapi.from_wsgi("/api/schema/", application)


@pytest.fixture(autouse=True)
def _keep_the_test_connection():
    """Call the WSGI app as Django's test client does: without closing the database connection per request."""
    from django.core import signals
    from django.db import close_old_connections

    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def token():
    user = UserFactory()
    membership = MembershipFactory(user=user, role=Role.OWNER)
    link = CreatorLinkFactory(survey__brand=membership.brand, survey__status="live", creator__brand=membership.brand)
    QuestionFactory(survey=link.survey, code="tru_1")
    ResponseFactory(link=link, answers={"tru_1": 5})
    return issue_token(user, "fuzz")[1]


@schema.parametrize()
@settings(max_examples=15, derandomize=True, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_server_errors_and_schema_conformance(case, token):
    response = case.call(headers={"Authorization": f"Token {token}", "Accept-Encoding": "identity"})
    case.validate_response(response, checks=[schemathesis.checks.not_a_server_error, schemathesis.checks.response_schema_conformance])
