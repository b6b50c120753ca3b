"""ImageLocality: nodes that already have the pod's images (as agents report in node
status) start it sooner."""

from __future__ import annotations

from scheduler.cache import Cache
from scheduler.model import NodeInfo, PodInfo
from scheduler.plugins.interface import MAX_SCORE, CycleState, ScorePlugin

NAME = "ImageLocality"
MB = 1024 * 1024
IMAGE_MIN_THRESHOLD = 23 * MB
IMAGE_MAX_THRESHOLD_PER_CONTAINER = 1000 * MB


def _prescore_images(state: CycleState, pod: PodInfo, cache: Cache, nodes: list[NodeInfo]) -> bool:
    if not pod.images or not any(cache.nodes_with_image(image) for image in pod.images):
        return False
    total = max(1, len(cache.node_list()))
    # An image on many nodes says little about where to go: scale by how rare it is.
    state[NAME] = {
        image: cache.nodes_with_image(image) / total for image in pod.images
    }
    return True


def image_locality(state: CycleState, pod: PodInfo, node: NodeInfo) -> float:
    """The image sizes present, scaled by their spread, between 23 MB and 1000 MB per
    container mapped to 0-100 (Kubernetes' thresholds)."""
    spread = state[NAME]
    present = sum(
        node.images[image] * spread[image] for image in pod.images if image in node.images
    )
    top = IMAGE_MAX_THRESHOLD_PER_CONTAINER * len(pod.images)
    clamped = min(max(present, IMAGE_MIN_THRESHOLD), top)
    return MAX_SCORE * (clamped - IMAGE_MIN_THRESHOLD) / (top - IMAGE_MIN_THRESHOLD)


SCORE = ScorePlugin(NAME, image_locality, weight=1, prescore=_prescore_images)
