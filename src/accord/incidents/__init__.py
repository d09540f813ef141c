"""Incidents, threat actors, public attributions, responses and norm findings."""
