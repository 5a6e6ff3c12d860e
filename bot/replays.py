"""Replayed requests are refused: a signed request from Slack is taken once.

bolt checks the signature and that the timestamp is under five minutes old; within those five
minutes, whoever captured a request could send it again and start a second handover. The
signature is unique to its timestamp and body, so it is claimed (in the database, because the
copy may reach another replica) and a second request bearing it is refused. Slack's own retries
carry X-Slack-Retry-Num, so they are not replays of each other; Baton answers them without a
second effect.
"""

from __future__ import annotations

from slack_sdk.signature import SignatureVerifier

from handover.receipts import Receipts


class ReplayGuard:
    def __init__(self, signing_secret: str, receipts: Receipts):
        self.verifier = SignatureVerifier(signing_secret)
        self.receipts = receipts

    def replayed(self, body: str, headers: dict[str, str]) -> bool:
        """True when this correctly signed request was received before."""
        signature = headers.get("x-slack-signature", "")
        timestamp = headers.get("x-slack-request-timestamp", "")
        if not timestamp.isdigit() or not self.verifier.is_valid(body, timestamp, signature):
            return False  # not Slack's: bolt refuses it, and it claims nothing
        retry = headers.get("x-slack-retry-num", "0")
        return not self.receipts.claim(f"signed:{signature}:{retry}")
