"""Norms and agreements: instruments, their provisions, and states' commitments to them."""
