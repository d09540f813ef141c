"""Analytics: dyads, alignment, consensus and trends computed from the knowledge base (read-only)."""
