"""The built-in scale library: validated instruments as data, with citations.

Each :class:`Instrument` expands into correctly coded questions (codes,
constructs, reverse flags, display conditions) with
:func:`surveys.design.insert_instrument`. ``{creator}`` in a wording is filled
in with the creator's name when the poll is shown.

Semantic differentials are coded 1 (left pole) … 7 (right pole). Most items
put the favourable pole on the right; the items that put it on the left are
marked reverse-coded, so that after reverse coding (min + max − x) a higher
score always means more trust, expertise, attractiveness or intent.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from surveys.choices import Construct, QuestionKind


@dataclass(frozen=True)
class Item:
    """One question of an instrument, in the shape of a Question row."""

    code: str
    wording: str
    kind: str
    construct: str
    reverse_coded: bool = False
    scale_points: int | None = None
    left_label: str = ""
    right_label: str = ""
    choices: tuple[tuple[int, str], ...] = ()
    min_value: float | None = None
    max_value: float | None = None
    required: bool = True
    expected_answer: Any = None
    help_text: str = ""
    # Display condition: shown only when question ``condition_code`` has one of ``condition_values``.
    condition_code: str = ""
    condition_values: tuple[int, ...] = ()

    def question_fields(self) -> dict[str, Any]:
        """Return the Question field values of this item (without survey and position)."""
        return {
            "code": self.code,
            "wording": self.wording,
            "kind": self.kind,
            "construct": self.construct,
            "reverse_coded": self.reverse_coded,
            "scale_points": self.scale_points,
            "left_label": self.left_label,
            "right_label": self.right_label,
            "choices": [{"value": v, "label": label} for v, label in self.choices],
            "min_value": self.min_value,
            "max_value": self.max_value,
            "required": self.required,
            "expected_answer": self.expected_answer,
            "help_text": self.help_text,
            "condition_values": list(self.condition_values),
        }


@dataclass(frozen=True)
class Instrument:
    key: str
    name: str
    citation: str
    description: str
    items: tuple[Item, ...] = field(default_factory=tuple)


def _sd(code: str, construct: str, stem: str, favourable: str, unfavourable: str, *, reverse: bool) -> Item:
    """Return a 7-point semantic-differential item; ``reverse`` puts the favourable pole left."""
    left, right = (favourable, unfavourable) if reverse else (unfavourable, favourable)
    return Item(
        code=code,
        wording=stem,
        kind=QuestionKind.SEMANTIC,
        construct=construct,
        reverse_coded=reverse,
        scale_points=7,
        left_label=left,
        right_label=right,
        help_text="Choose the point between the two words that fits best.",
    )


_OHANIAN_STEM = "I think {creator} is …"
_OHANIAN_PAIRS: dict[str, tuple[str, list[tuple[str, str]]]] = {
    Construct.TRUSTWORTHINESS: (
        "tru",
        [
            ("Dependable", "Undependable"),
            ("Honest", "Dishonest"),
            ("Reliable", "Unreliable"),
            ("Sincere", "Insincere"),
            ("Trustworthy", "Untrustworthy"),
        ],
    ),
    Construct.EXPERTISE: (
        "exp",
        [
            ("Expert", "Not an expert"),
            ("Experienced", "Inexperienced"),
            ("Knowledgeable", "Unknowledgeable"),
            ("Qualified", "Unqualified"),
            ("Skilled", "Unskilled"),
        ],
    ),
    Construct.ATTRACTIVENESS: (
        "attr",
        [
            ("Attractive", "Unattractive"),
            ("Classy", "Not classy"),
            ("Beautiful", "Ugly"),
            ("Elegant", "Plain"),
            ("Sexy", "Not sexy"),
        ],
    ),
}
# Items 2 and 4 of each dimension show the favourable pole on the left.
_REVERSED_POSITIONS = {2, 4}

OHANIAN_1990 = Instrument(
    key="ohanian_1990",
    name="Source credibility (Ohanian 1990)",
    citation=(
        "Ohanian, R. (1990). Construction and validation of a scale to measure celebrity "
        "endorsers' perceived expertise, trustworthiness, and attractiveness. "
        "Journal of Advertising, 19(3), 39–52."
    ),
    description="Trustworthiness, expertise and attractiveness: 5 items each, 7-point semantic differential.",
    items=tuple(
        _sd(f"{prefix}_{n}", construct, _OHANIAN_STEM, fav, unfav, reverse=n in _REVERSED_POSITIONS)
        for construct, (prefix, pairs) in _OHANIAN_PAIRS.items()
        for n, (fav, unfav) in enumerate(pairs, start=1)
    ),
)

_PI_STEM = "Thinking of a product {creator} recommends, my intention to buy it is …"
SPEARS_SINGH_2004 = Instrument(
    key="spears_singh_2004",
    name="Purchase intention (Spears & Singh 2004)",
    citation=(
        "Spears, N., & Singh, S. N. (2004). Measuring attitude toward the brand and purchase "
        "intentions. Journal of Current Issues & Research in Advertising, 26(2), 53–66."
    ),
    description="Purchase intention: 5 items, 7-point semantic differential.",
    items=tuple(
        _sd(f"pi_{n}", Construct.PURCHASE_INTENT, _PI_STEM, fav, unfav, reverse=n in _REVERSED_POSITIONS)
        for n, (fav, unfav) in enumerate(
            [
                ("Definitely intend to buy it", "Definitely do not intend to buy it"),
                ("Very high purchase interest", "Very low purchase interest"),
                ("Definitely buy it", "Definitely not buy it"),
                ("Probably buy it", "Probably not buy it"),
                ("Will buy it", "Will never buy it"),
            ],
            start=1,
        )
    ),
)

JUSTER_LABELS: tuple[tuple[int, str], ...] = (
    (0, "No chance, almost no chance (1 in 100)"),
    (1, "Very slight possibility (1 in 10)"),
    (2, "Slight possibility (2 in 10)"),
    (3, "Some possibility (3 in 10)"),
    (4, "Fair possibility (4 in 10)"),
    (5, "Fairly good possibility (5 in 10)"),
    (6, "Good possibility (6 in 10)"),
    (7, "Probable (7 in 10)"),
    (8, "Very probable (8 in 10)"),
    (9, "Almost sure (9 in 10)"),
    (10, "Certain, practically certain (99 in 100)"),
)
JUSTER_1966 = Instrument(
    key="juster_1966",
    name="Purchase probability (Juster 1966)",
    citation=(
        "Juster, F. T. (1966). Consumer buying intentions and purchase probability: An "
        "experiment in survey design. Journal of the American Statistical Association, "
        "61(315), 658–696."
    ),
    description="One 11-point verbal-probability item (0–10).",
    items=(
        Item(
            code="pp_juster",
            wording="How likely is it that you will buy a product {creator} recommends in the next 3 months?",
            kind=QuestionKind.PROBABILITY,
            construct=Construct.PURCHASE_PROBABILITY,
            left_label="No chance",
            right_label="Certain",
            choices=JUSTER_LABELS,
        ),
    ),
)

YES_NO = ((1, "Yes"), (0, "No"))
REPORTED_PURCHASE = Instrument(
    key="reported_purchase",
    name="Reported purchase",
    citation="TrustPoll item set; purchase count and spend are asked only of buyers.",
    description="Bought because of the creator (yes/no); if yes, how often and how much in the last 3 months.",
    items=(
        Item(
            code="bought",
            wording="Have you bought something because {creator} recommended it?",
            kind=QuestionKind.YES_NO,
            construct=Construct.REPORTED_PURCHASE,
            choices=YES_NO,
        ),
        Item(
            code="buy_count",
            wording="How many times in the last 3 months have you bought something {creator} recommended?",
            kind=QuestionKind.NUMBER,
            construct=Construct.PURCHASE_COUNT,
            min_value=0,
            max_value=100,
            condition_code="bought",
            condition_values=(1,),
        ),
        Item(
            code="spend_3m",
            wording="Roughly how much did you spend on those purchases in the last 3 months?",
            kind=QuestionKind.NUMBER,
            construct=Construct.SPEND,
            min_value=0,
            max_value=100_000,
            required=False,
            help_text="In your own currency; an estimate is fine.",
            condition_code="bought",
            condition_values=(1,),
        ),
    ),
)

AGREE_5 = (
    (1, "Strongly disagree"),
    (2, "Somewhat disagree"),
    (3, "Neither agree nor disagree"),
    (4, "Somewhat agree"),
    (5, "Strongly agree"),
)
ATTENTION_CHECK = Instrument(
    key="attention_check",
    name="Instructed-response attention check",
    citation=(
        "Meade, A. W., & Craig, S. B. (2012). Identifying careless responses in survey data. "
        "Psychological Methods, 17(3), 437–455."
    ),
    description="One instructed-response item; the expected answer is 'Somewhat agree' (4).",
    items=(
        Item(
            # The code avoids the reserved construct column names.
            code="attn_check",
            wording="To show that you read this question, please select “Somewhat agree”.",
            kind=QuestionKind.LIKERT,
            construct=Construct.ATTENTION_CHECK,
            scale_points=5,
            left_label="Strongly disagree",
            right_label="Strongly agree",
            choices=AGREE_5,
            expected_answer=4,
        ),
    ),
)

ABOUT_YOU = Instrument(
    key="about_you",
    name="About you: age band and following length",
    citation="TrustPoll item set.",
    description="Age band and how long the respondent has followed the creator.",
    items=(
        Item(
            code="age_band",
            wording="How old are you?",
            kind=QuestionKind.SINGLE,
            construct=Construct.DEMOGRAPHIC,
            choices=((1, "Under 18"), (2, "18–24"), (3, "25–34"), (4, "35–44"), (5, "45–54"), (6, "55 or older")),
            required=False,
        ),
        Item(
            code="follow_len",
            wording="How long have you been following {creator}?",
            kind=QuestionKind.SINGLE,
            construct=Construct.DEMOGRAPHIC,
            choices=(
                (1, "Less than a month"),
                (2, "1–6 months"),
                (3, "6–12 months"),
                (4, "1–3 years"),
                (5, "More than 3 years"),
            ),
            required=False,
        ),
    ),
)

INSTRUMENTS: dict[str, Instrument] = {
    instrument.key: instrument
    for instrument in (
        OHANIAN_1990,
        SPEARS_SINGH_2004,
        JUSTER_1966,
        REPORTED_PURCHASE,
        ATTENTION_CHECK,
        ABOUT_YOU,
    )
}


def get_instrument(key: str) -> Instrument:
    """Return the instrument called ``key`` or raise KeyError naming the known ones."""
    try:
        return INSTRUMENTS[key]
    except KeyError:
        raise KeyError(f"Unknown instrument “{key}”; known: {', '.join(INSTRUMENTS)}") from None
