"""The card in the managers' channel and its controls: accept, engage, hand on, stand
down, resolve, close, fill a gap; and the timeline in words.
"""
