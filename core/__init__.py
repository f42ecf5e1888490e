"""The platform under the domain apps: no institution, patient or referral is known here.

The domain apps (alliance, referrals, sharedcenters, reporting) import from core; core imports
none of them (the import-linter contracts in pyproject.toml hold both rules)."""
