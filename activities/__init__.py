"""Every side effect a workflow asks for, as methods of classes built with their clients.

May import: `realtime` (the dialer's HTTP client, speech providers for post-call) and the
`centralita` packages. Never `workflows`, `api` or `workers`.
"""
