"""Service: analyse a survey's responses (frame from the selector, maths from the pure modules)."""

from __future__ import annotations

from collections.abc import Sequence

from surveys.analysis import AnalysisResult, ModelSpec, analyze
from surveys.models import Survey
from surveys.selectors import question_metas, responses_frame


def analyze_survey(
    survey: Survey,
    *,
    controls: Sequence[str] = (),
    se: str = "cluster",
    specs: Sequence[ModelSpec] | None = None,
) -> AnalysisResult:
    """Return scoring, reliability, descriptives and models for ``survey`` (test responses excluded)."""
    return analyze(responses_frame(survey), question_metas(survey), controls=controls, se=se, specs=specs)
