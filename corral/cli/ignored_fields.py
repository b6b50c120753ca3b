"""Kubernetes fields that corral's proto does not have, and what the manifest
loader does with them.

Keys are `Message.jsonField`: the corral message the field would belong to and
its Kubernetes name, so a PodSpec field is recognised wherever a PodSpec
appears (Pod.spec, Deployment.spec.template.spec, ...).

IGNORED_FIELDS are accepted and dropped with a warning: they are common in
real manifests (often copied from `kubectl get -o yaml`) and leaving them out
does not change what a user relies on. UNSUPPORTED_FIELDS are Kubernetes
fields whose meaning corral cannot honour; they are refused with an error that
says so, instead of the generic "unknown field". A test checks that no key
here names a field the proto has.
"""

from __future__ import annotations

IGNORED_FIELDS: dict[str, str] = {
    # ObjectMeta: bookkeeping Kubernetes servers write and users copy around.
    "ObjectMeta.managedFields": "server-side apply bookkeeping; corral has no field managers",
    "ObjectMeta.selfLink": "deprecated in Kubernetes; corral has no self links",
    # PodSpec
    "PodSpec.serviceAccountName": "no service accounts",
    "PodSpec.serviceAccount": "no service accounts",
    "PodSpec.automountServiceAccountToken": "no service account tokens are mounted",
    "PodSpec.imagePullSecrets": "images are pulled with the node's container runtime credentials",
    "PodSpec.securityContext": "pod security settings are not enforced",
    "PodSpec.dnsPolicy": "DNS settings of pods are not managed by corral",
    "PodSpec.enableServiceLinks": "no service environment variables are injected",
    "PodSpec.preemptionPolicy": "pods may always preempt lower priorities",
    # Container
    "Container.securityContext": "container security settings are not enforced",
    "Container.resizePolicy": "resources are never resized in place",
    # ServiceSpec: defaults Kubernetes fills in on every Service.
    "ServiceSpec.ipFamilies": "corral services are single-stack",
    "ServiceSpec.ipFamilyPolicy": "corral services are single-stack",
    "ServiceSpec.internalTrafficPolicy": "traffic always goes to any ready endpoint",
}

UNSUPPORTED_FIELDS: dict[str, str] = {
    "PodSpec.hostPID": "sharing the host's PID namespace",
    "PodSpec.hostIPC": "sharing the host's IPC namespace",
    "PodSpec.shareProcessNamespace": "a shared process namespace",
    "PodSpec.hostAliases": "extra /etc/hosts entries",
    "PodSpec.dnsConfig": "custom DNS configuration",
    "PodSpec.runtimeClassName": "runtime classes",
    "PodSpec.readinessGates": "readiness gates",
    "PodSpec.ephemeralContainers": "ephemeral containers",
    "PodSpec.overhead": "pod overhead",
    "PodSpec.os": "operating system selection",
    "PodSpec.schedulingGates": "scheduling gates",
    "PodSpec.resourceClaims": "dynamic resource claims",
    "PodSpec.resources": "pod-level resources",
    "Container.lifecycle": "lifecycle hooks: postStart, preStop",
    "Container.volumeDevices": "block volume devices",
    "Container.restartPolicy": "sidecar containers: per-container restartPolicy",
    "Volume.persistentVolumeClaim": "persistent volume claims",
    "Volume.projected": "projected volumes",
    "Volume.downwardAPI": "downward API volumes",
    "Volume.nfs": "NFS volumes",
    "Volume.csi": "CSI volumes",
    "Volume.ephemeral": "ephemeral volumes",
    "VolumeMount.mountPropagation": "mount propagation",
    "VolumeMount.subPathExpr": "subPathExpr",
    "ServiceSpec.loadBalancerIP": "load balancers",
    "ServiceSpec.loadBalancerSourceRanges": "load balancers",
    "ServiceSpec.healthCheckNodePort": "load balancer health checks",
    "ServiceSpec.publishNotReadyAddresses": "publishing not-ready addresses",
    "IngressBackend.resource": "resource backends; use a service backend",
}
