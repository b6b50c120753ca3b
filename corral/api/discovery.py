"""What an EndpointSlice is beyond its fields: the well-known labels that tie it to its
Service and say who keeps it (Kubernetes' names). The endpoint-slice controller writes
them; the proxy, the DNS server and `corral describe` read them."""

from __future__ import annotations

from typing import Final

# The Service a slice belongs to.
SERVICE_NAME_LABEL: Final = "kubernetes.io/service-name"
# Who keeps the slice; slices without our value are someone else's (or written by hand).
MANAGED_BY_LABEL: Final = "endpointslice.kubernetes.io/managed-by"
MANAGED_BY_CONTROLLER: Final = "endpointslice-controller.k8s.io"
