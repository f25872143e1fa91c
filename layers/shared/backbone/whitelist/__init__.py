"""Scheduled RFID whitelist push (OIOI `rfid-post`): build, guard, send, audit (docs/whitelist-push.md)."""
