"""Streaming exports for regulators: CSV and GeoJSON, read in pages, never the whole set in memory."""
