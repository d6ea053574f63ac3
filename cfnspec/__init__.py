"""CloudFormation facts and rules that generate.py and deploy.py both apply, each stated once.

Limits and defaults (limits.py), parameter constraints and the checks across parameters (parameters.py), and
the capabilities a template needs (capabilities.py). Everything here reads a template as a parsed dict and does
no I/O, so the offline checks of generate.py and deploy.py cannot drift apart.
"""
