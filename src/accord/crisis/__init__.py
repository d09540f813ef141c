"""Crisis diplomacy: node identity and signed messages (more to come: cases, deadlines, escalation)."""
