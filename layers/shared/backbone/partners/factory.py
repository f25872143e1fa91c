"""The one place partner clients are built: the API key read per request from the cached secret,
the call metrics hook always attached (`backbone.partners.metrics`), the caller's retry policy.

One client per process and (settings, policy, timeout): warm invocations reuse its connection
pool. Policies: `BATCH_RETRY` where a queue, stream or schedule can try again later,
`API_RETRY` where a caller waits behind API Gateway's 29 s, `NO_RETRY` where Step Functions
retries (no Lambda time spent asleep).
"""

from __future__ import annotations

from functools import cache, partial

from backbone.aws.secrets import get_api_key
from backbone.partners.http import DEFAULT_READ_TIMEOUT
from backbone.partners.metrics import oioi_call_hook, plugsurfing_call_hook
from backbone.partners.oioi_client import OioiClient
from backbone.partners.plugsurfing import PlugsurfingClient
from backbone.partners.retry import RetryPolicy
from backbone.settings import OioiClientSettings, PlugsurfingApiSettings

BATCH_RETRY = RetryPolicy()
API_RETRY = RetryPolicy(max_attempts=3, budget=8.0)
NO_RETRY = RetryPolicy.no_retry()


@cache
def plugsurfing_client(
    settings: PlugsurfingApiSettings, policy: RetryPolicy = BATCH_RETRY
) -> PlugsurfingClient:
    """The Drive/EMP client for `settings` (one client serves both, each with its base URL)."""
    return PlugsurfingClient(
        str(settings.drive_api_base_url),
        partial(get_api_key, settings.plugsurfing_api_key_secret),
        emp_base_url=settings.emp_base_url,
        retry_policy=policy,
        on_call=plugsurfing_call_hook(),
    )


@cache
def oioi_client(
    settings: OioiClientSettings,
    policy: RetryPolicy = BATCH_RETRY,
    read_timeout: float = DEFAULT_READ_TIMEOUT,
) -> OioiClient:
    """The OIOI client for `settings` (rfid-post: a longer read timeout and its own budget)."""
    return OioiClient(
        str(settings.oioi_endpoint_url),
        partial(get_api_key, settings.oioi_api_key_secret),
        retry_policy=policy,
        read_timeout=read_timeout,
        on_call=oioi_call_hook(),
    )
