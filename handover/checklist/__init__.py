"""The handover checklist as data, and what is computed from answers: parsing and
validation, typed answers, the proposed priority, the quality score, what the card says.
"""
