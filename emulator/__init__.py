"""The project's AWS emulator: moto's server on 127.0.0.1 with the gaps the stack and deploy.py hit closed.

`emulator.server` starts and resets it, `emulator.gaps` is the one table of what it does differently from AWS
(with the change sets, single API answers and drift detection in `changeset_gaps`, `api_gaps` and `drift_gaps`),
and `tap-emulator` (`make emulator`) runs it in the foreground for rehearsing AWS CLI commands.
"""
