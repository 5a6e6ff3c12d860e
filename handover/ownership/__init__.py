"""The life of an incident after handover: accept, engage, hand on, stand down,
resolve, close, fill a gap; who may do what in which state.
"""
