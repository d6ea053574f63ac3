"""CloudFormation facts and rules that generate.py and deploy.py both apply, each stated once.

Limits and defaults (limits.py), parameter constraints and the checks across parameters (parameters.py), the
capabilities a template needs (capabilities.py), stack tags (tags.py), the regional quotas a stack consumes
(quotas.py), what holds data or outlives its stack (stateful.py), each resource type's facts (its name property, how
it is imported, removed and checked for leftovers: resource_kinds.py), intrinsic
functions resolved with parameter values (resolve.py), create-only properties from cfn-lint's bundled schemas
(schemas.py), and key-policy evaluation (policy.py). Everything here reads a template as a parsed dict and calls no AWS API, so the offline checks of
generate.py and deploy.py and the tests cannot drift apart.
"""
