"""Preflight: account-level problems and CloudFormation's own validation, found before a stack is touched.

One module per check family (kms, iam, ebs, s3, leftovers, region, lookups, online); `runner` runs them and
`command` connects them to the CLI. Every fact about the stack is read from the template (`facts`).
"""
