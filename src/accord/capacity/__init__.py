"""Capacity building: needs declared by states, offers by donors, their matching, and maturity assessments."""
