"""Question codes: the variable names used in every export.

A code must be a valid variable name in both SPSS and Stata, so exports never
have to rename anything: a lowercase letter, then lowercase letters, digits or
underscores, 32 characters at most (Stata's limit), and not a reserved word of
either package nor a column name TrustPoll itself writes next to the answers.
"""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError

CODE_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,31}$")

# SPSS reserved keywords (case-insensitive).
SPSS_RESERVED = frozenset(
    {"all", "and", "by", "eq", "ge", "gt", "le", "lt", "ne", "not", "or", "to", "with"}
)
# Stata reserved names that a lowercase-initial name could collide with
# (the underscore-initial ones are excluded by the pattern already).
STATA_RESERVED = frozenset(
    {"byte", "double", "float", "if", "in", "int", "long", "strl", "using", "with"}
)
_STATA_STR_N = re.compile(r"^str([1-9][0-9]{0,3})$")  # str1 … str2045

# Columns TrustPoll writes beside the answers in exports and analysis frames.
META_COLUMNS = frozenset(
    {
        "response_id",
        "survey",
        "submitted_at",
        "started_at",
        "completion_seconds",
        "creator",
        "creator_id",
        "creator_handle",
        "platform",
        "tier",
        "followers",
        "source",
        "link_id",
        "utm_source",
        "utm_medium",
        "utm_campaign",
        "utm_content",
        "utm_term",
        "promo_code",
        "consent",
        "is_test",
        "external_id",
        "age_confirmed",
        "flag_honeypot",
        "flag_speeder",
        "flag_straightliner",
        "flag_attention",
        "flag_duplicate",
    }
)
# Construct score columns (the construct names) are reserved as well.
CONSTRUCT_COLUMNS = frozenset(
    {
        "trustworthiness",
        "expertise",
        "attractiveness",
        "purchase_intent",
        "purchase_probability",
        "reported_purchase",
        "purchase_count",
        "spend",
        "parasocial",
        "trust",
    }
)


def code_problem(code: str) -> str | None:
    """Return why ``code`` is not a valid question code, or None when it is."""
    if not code:
        return "A code is required."
    if code.startswith("_"):
        return "A code cannot start with an underscore (Stata reserves such names)."
    if len(code) > 32:
        return f"A code has at most 32 characters (Stata's limit); this one has {len(code)}."
    if not CODE_PATTERN.match(code):
        return (
            "Use a lowercase letter first, then lowercase letters, digits or underscores "
            "(valid in SPSS and Stata)."
        )
    if code in SPSS_RESERVED:
        return f"“{code}” is a reserved word in SPSS."
    if code in STATA_RESERVED:
        return f"“{code}” is a reserved word in Stata."
    match = _STATA_STR_N.match(code)
    if match and int(match.group(1)) <= 2045:
        return f"“{code}” is a reserved word in Stata (a string type)."
    if code in META_COLUMNS:
        return f"“{code}” is a column TrustPoll writes in every export; choose another code."
    if code in CONSTRUCT_COLUMNS:
        return f"“{code}” is the name of a construct score column; choose another code."
    return None


def validate_code(code: str) -> None:
    """Raise ValidationError when ``code`` is not a valid question code."""
    problem = code_problem(code)
    if problem:
        raise ValidationError(problem, code="invalid_code")
