"""corral-agent: corral's kubelet. Runs a node's pods as Docker containers (or
hollow ones, for scale tests)."""
