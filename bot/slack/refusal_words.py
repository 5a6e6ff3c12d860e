"""Slack's refusals in words for the person who must act: what went wrong and how to fix it.
A code alone ("channel_not_found") tells an agent at 3 a.m. nothing."""

from __future__ import annotations

# Errors that will not get better by trying again (the rest are retried, with back-off).
TOKEN = {"invalid_auth", "token_revoked", "account_inactive", "not_authed", "token_expired"}


def refusal_in_words(error: str, channel: str = "", *, terminal: bool = False) -> str:
    """`terminal`: for the command line, where Slack's <#C…> links mean nothing."""
    where = (channel if terminal else f"<#{channel}>") if channel else "the channel"
    if error == "not_in_channel":
        return f"Baton is not a member of {where}; ask a Slack admin to `/invite @Baton` there"
    if error == "channel_not_found":
        return (
            f"Slack cannot find {where}: it does not exist, or it is private and "
            "Baton was not invited; in that channel, type `/invite @Baton`"
        )
    if error == "is_archived":
        return f"{where} is archived; unarchive it, or point Baton at another channel"
    if error in TOKEN:
        return (
            f"Slack refused Baton's token (`{error}`); a Slack admin must reinstall the app or "
            "replace SLACK_BOT_TOKEN"
        )
    if error == "missing_scope":
        return (
            "Baton's Slack app lacks a permission it needs (`missing_scope`); reinstall it "
            "from the manifest (`baton manifest`)"
        )
    if error == "msg_too_long":
        return "the message was longer than Slack takes"
    if error == "invalid_blocks":
        return "Slack refused the message's layout (`invalid_blocks`); please report this Baton bug"
    if error == "restricted_action":
        return (
            "the workspace lets only some people do that (`restricted_action`); ask a Slack "
            "admin to allow Baton to manage channels"
        )
    if error == "name_taken":
        return "every name Baton tried is taken (`name_taken`)"
    if error in ("user_is_restricted", "user_is_ultra_restricted"):
        return f"a guest account, who cannot join (`{error}`)"
    if error == "cant_invite":
        return "Slack will not let them be invited (`cant_invite`)"
    if error == "no_such_subteam":
        return "that user group does not exist (`no_such_subteam`)"
    if error == "usergroup_empty":
        return "the user group to tell has no members"
    return f"Slack answered `{error}`"
