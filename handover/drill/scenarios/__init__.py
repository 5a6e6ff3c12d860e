"""Built-in drill scenarios: TOML files, read by handover/drill/scenario.py."""
