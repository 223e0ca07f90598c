import pytest
from django.core.exceptions import ValidationError

from surveys.codes import code_problem, validate_code

pytestmark = pytest.mark.nodb


@pytest.mark.parametrize("code", ["q1", "tru_1", "a", "pp_juster", "x" * 32, "spend_3m", "str2046"])
def test_valid_codes(code):
    assert code_problem(code) is None


@pytest.mark.parametrize(
    ("code", "reason"),
    [
        ("", "required"),
        ("_private", "underscore"),
        ("x" * 33, "32 characters"),
        ("Trust1", "lowercase"),
        ("1trust", "lowercase"),
        ("trust-1", "lowercase"),
        ("trüst", "lowercase"),
        ("with", "reserved word"),
        ("and", "SPSS"),
        ("to", "SPSS"),
        ("by", "SPSS"),
        ("if", "Stata"),
        ("in", "Stata"),
        ("long", "Stata"),
        ("using", "Stata"),
        ("strl", "Stata"),
        ("str1", "string type"),
        ("str2045", "string type"),
        ("response_id", "column TrustPoll writes"),
        ("tier", "column TrustPoll writes"),
        ("trustworthiness", "construct score"),
    ],
)
def test_invalid_codes_say_why(code, reason):
    problem = code_problem(code)
    assert problem is not None and reason in problem
    with pytest.raises(ValidationError):
        validate_code(code)
