"""corral's autoscaler service: the horizontal pod autoscaler (replicas follow metrics) and
the cluster autoscaler (nodes follow pods that cannot be placed)."""
