"""OpenAPI post-processing: every authenticated operation documents 401, 404 and 429 in the one error shape."""

from __future__ import annotations

from typing import Any

ERROR = {
    "type": "object",
    "properties": {"detail": {"type": "string"}, "errors": {"type": "object", "additionalProperties": {"type": "array", "items": {"type": "string"}}}},
    "required": ["detail", "errors"],
}
STATUSES = {"400": "Invalid request", "401": "Not authenticated", "404": "Not found (or another brand's)", "429": "Too many requests"}


def add_error_responses(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict[str, Any]:
    """Add the error responses to every /api/v1/ operation (the public poll ones keep their own)."""
    result.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR
    for path, operations in result.get("paths", {}).items():
        if not path.startswith("/api/v1/") or path.startswith("/api/v1/public/"):
            continue
        for operation in operations.values():
            responses = operation.setdefault("responses", {})
            for code, description in STATUSES.items():
                if code == "400" and "requestBody" not in operation and "parameters" not in operation:
                    continue
                responses.setdefault(code, {"description": description, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}})
    return result
