"""Charging locations and connector lookup (issue 19): geosearch around a point, EVSE id ->
connector id(s) and status. docs/locations.md"""
