"""Labelling a folder on a Ray cluster (optional extra `ray`)."""
