"""Change-set deployer behind deploy.py: decisions are pure functions, AWS calls stay at the edges."""
