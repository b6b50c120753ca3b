"""corral-proxy (in progress): Services carried by nftables rules, as kube-proxy's
nftables mode does. Today this package holds `ruleset.py`, the pure renderer of the
rules from Services and EndpointSlices, checked by golden text and by the kernel
(`nft -c`); the per-host service that applies it with `nft -f` is not written yet."""
