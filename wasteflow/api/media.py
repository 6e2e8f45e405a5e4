"""Responses whose media type is not plain JSON, so the OpenAPI document names the type it serves."""

from __future__ import annotations

from fastapi.responses import JSONResponse, StreamingResponse


class GeoJSONResponse(JSONResponse):
    media_type = "application/geo+json"


class GeoJSONStream(StreamingResponse):
    """A FeatureCollection written a feature at a time (``exports.service.feature_collection``)."""

    media_type = "application/geo+json"
