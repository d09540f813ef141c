"""Sharing hub: STIX 2.1 store, TAXII 2.1, TLP policy, communities, federation, MISP."""
