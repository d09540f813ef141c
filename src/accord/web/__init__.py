"""Faces of the node over HTTP: the REST API (and, later, web pages)."""
