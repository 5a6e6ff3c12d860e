"""The drill: scenarios (a caller played from a TOML file) and a handover scored
against the scenario's facts.
"""
