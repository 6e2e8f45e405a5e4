"""From a found dump back to the trucks (findings.md, "Forensics"): the passages near a place, ranked,
and the hotspots where stops, load drops and diversions of several trucks gather."""
