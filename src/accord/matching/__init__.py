"""Indicator matching: STIX 2.1 patterns compiled into an index, matched against observed data, turned into
sightings. Domain code only (no HTTP): ``pattern`` (parser and intermediate form), ``engine`` (index and
evaluation), ``inputs`` (observations from STIX bundles, JSONL / CSV observables and Zeek logs),
``warninglists`` (known-benign values) and ``sightings`` (storage and sharing of what matched)."""
