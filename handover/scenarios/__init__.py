"""Built-in drill scenarios: TOML files, read by handover/scenario.py."""
