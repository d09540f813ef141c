"""Shared building blocks of every capability: errors, validated types, generic record services."""
