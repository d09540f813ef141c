"""The audit log: who changed what, when, from what to what. Append-only through every face."""
