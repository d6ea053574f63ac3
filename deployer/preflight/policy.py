"""The key-policy evaluation preflight uses: cfnspec.policy's, under the names the preflight checks import."""

from __future__ import annotations

from cfnspec.policy import Principal, Request, allows, as_list, grant_allows, is_account_root

__all__ = ["Principal", "Request", "allows", "as_list", "grant_allows", "is_account_root"]
