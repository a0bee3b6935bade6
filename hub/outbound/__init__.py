"""What the core adds to a connection's outbound requests: OAuth 2.0 tokens and a pace shared by every worker.

`tokens.SharedToken` gets, caches (Redis) and renews a connection's access token; `pace.SharedPace`
keeps its requests within the vendor's rate limit and its Retry-After; `client.connection_client`
binds both to the connection's HttpClient.

A Redis that fails under them makes the request RetryLater (`redis_guard`): a delivery is never
dead-lettered because the token cache or the pace could not be read.
"""
