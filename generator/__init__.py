"""What generate.py writes for every registered template: the JSON, the hand-off page and parameter files."""
