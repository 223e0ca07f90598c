"""Factories for TrustPoll's models."""

from __future__ import annotations

import factory
from django.contrib.auth import get_user_model

from surveys.choices import AttributionSource, Construct, Platform, QuestionKind, Role, SurveyStatus
from surveys.models import Brand, Creator, CreatorLink, Membership, Question, Response, Survey


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    is_staff = True
    password = factory.PostGenerationMethodCall("set_password", "pass-word-123")

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):  # noqa: N805
        if create:
            obj.save()


class BrandFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Brand

    name = factory.Sequence(lambda n: f"Brand {n}")
    slug = factory.Sequence(lambda n: f"brand-{n}")


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    brand = factory.SubFactory(BrandFactory)
    role = Role.EDITOR


class CreatorFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Creator

    brand = factory.SubFactory(BrandFactory)
    handle = factory.Sequence(lambda n: f"creator_{n}")
    display_name = factory.Sequence(lambda n: f"Creator {n}")
    platform = Platform.INSTAGRAM
    followers = 25_000


class SurveyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Survey

    brand = factory.SubFactory(BrandFactory)
    title = factory.Sequence(lambda n: f"Survey {n}")
    slug = factory.Sequence(lambda n: f"survey-{n}")
    status = SurveyStatus.DRAFT


class QuestionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Question

    survey = factory.SubFactory(SurveyFactory)
    position = factory.Sequence(lambda n: n + 1)
    code = factory.Sequence(lambda n: f"q{n}")
    wording = "How much do you trust {creator}?"
    kind = QuestionKind.LIKERT
    scale_points = 7
    left_label = "Not at all"
    right_label = "Completely"
    construct = Construct.TRUSTWORTHINESS


class CreatorLinkFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CreatorLink

    survey = factory.SubFactory(SurveyFactory)
    creator = factory.SubFactory(CreatorFactory, brand=factory.SelfAttribute("..survey.brand"))


class ResponseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Response

    link = factory.SubFactory(CreatorLinkFactory)
    survey = factory.SelfAttribute("link.survey")
    creator = factory.SelfAttribute("link.creator")
    source = AttributionSource.LINK
    creator_tier = factory.SelfAttribute("creator.tier")
    creator_followers = factory.SelfAttribute("creator.followers")
    answers = factory.LazyFunction(dict)
