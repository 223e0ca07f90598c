import pytest

from surveys.choices import Tier
from surveys.tiers import Thresholds, tier_for
from tests.factories import BrandFactory, CreatorFactory, ResponseFactory, CreatorLinkFactory, SurveyFactory


@pytest.mark.nodb
@pytest.mark.parametrize(
    ("followers", "tier"),
    [
        (0, Tier.NANO),
        (9_999, Tier.NANO),
        (10_000, Tier.MICRO),
        (99_999, Tier.MICRO),
        (100_000, Tier.MACRO),
        (999_999, Tier.MACRO),
        (1_000_000, Tier.CELEBRITY),
        (250_000_000, Tier.CELEBRITY),
    ],
)
def test_default_tier_boundaries(followers, tier):
    assert tier_for(followers) == tier


@pytest.mark.nodb
def test_custom_thresholds_move_the_boundaries():
    thresholds = Thresholds(micro=5_000, macro=50_000, celebrity=500_000)
    assert tier_for(4_999, thresholds) == Tier.NANO
    assert tier_for(5_000, thresholds) == Tier.MICRO
    assert tier_for(50_000, thresholds) == Tier.MACRO
    assert tier_for(500_000, thresholds) == Tier.CELEBRITY


@pytest.mark.nodb
def test_thresholds_must_increase():
    with pytest.raises(ValueError, match="must increase"):
        Thresholds(micro=100_000, macro=10_000, celebrity=1_000_000)
    with pytest.raises(ValueError):
        tier_for(-1)


def test_creator_tier_follows_followers_on_save():
    creator = CreatorFactory(followers=9_999)
    assert creator.tier == Tier.NANO
    creator.followers = 10_000
    creator.save()
    creator.refresh_from_db()
    assert creator.tier == Tier.MICRO


def test_changing_brand_thresholds_recomputes_creators_but_not_response_snapshots():
    brand = BrandFactory()
    creator = CreatorFactory(brand=brand, followers=20_000)
    link = CreatorLinkFactory(survey=SurveyFactory(brand=brand), creator=creator)
    response = ResponseFactory(link=link)
    assert (creator.tier, response.creator_tier) == (Tier.MICRO, Tier.MICRO)

    brand.tier_micro_min, brand.tier_macro_min = 1_000, 15_000
    brand.save()

    creator.refresh_from_db()
    response.refresh_from_db()
    assert creator.tier == Tier.MACRO
    assert response.creator_tier == Tier.MICRO
    assert response.creator_followers == 20_000


def test_brand_clean_rejects_unordered_thresholds():
    from django.core.exceptions import ValidationError

    brand = BrandFactory.build(tier_micro_min=50_000, tier_macro_min=40_000)
    with pytest.raises(ValidationError, match="must increase"):
        brand.clean()
