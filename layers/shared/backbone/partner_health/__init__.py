"""Partner health: when each partner last got an accepted OIOI message through, per message
family, and which partners that were active have gone silent (docs/oioi-receivers.md,
"Partner health")."""
