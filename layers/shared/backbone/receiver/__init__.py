"""OIOI receivers: the partner-facing endpoint (`POST /api/v4/request`).

`access` authenticates partner API keys (authorizer), `dispatch` routes a body to the module of
its message (`rfid_verify`, `session_post`, `station_post`, `connector_post_status`), and
`responses` maps every error to the HTTP status and OIOI body in one place.
"""
