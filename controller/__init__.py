"""corral's controller manager: the ReplicaSet, Deployment, node lifecycle, garbage
collector and namespace controllers, run in one process behind leader election.

Pure decisions live in `rollout.py` (how far a rollout may go this step),
`victims.py` (which pods go first) and `hashing.py` (naming a pod template);
the controllers around them only read caches, call these and write results.
"""
