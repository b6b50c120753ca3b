"""corral-dns: the cluster's DNS server, as CoreDNS's kubernetes plugin is for Kubernetes.

`records.py` answers names of the cluster domain from Services and EndpointSlices (pure);
`server.py` serves DNS over UDP and TCP from an informer cache and forwards every other
name to the upstream resolvers; `cli.py` holds its flags.
"""
