"""Plugsurfing partner APIs: Drive/EMP REST and OIOI clients with one retry policy."""
