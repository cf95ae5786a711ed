"""The ingress: Caddy's configuration (rendered from settings) and the route switch.

`caddyfile` renders the Caddyfile from plain values (pure, unit-tested);
`route` is the `IngressRoute` dynamic resource that writes it into the Caddy
container and reloads Caddy once every new app container is healthy — the
switch of a zero-downtime deploy. `components/ingress.py` declares both.
"""
