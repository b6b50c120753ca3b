"""corral-proxy: Services carried by nftables rules, as kube-proxy's nftables mode does.

`ruleset.py` renders the cluster's table from Services and EndpointSlices (pure);
`service.py` routes the service range to the host, watches, and replaces the table in
one `nft -f` transaction per sync; `cli.py` holds its flags. Not yet started by
`make up` (see the note on issue 12).
"""
