"""Where the cluster autoscaler's nodes come from: `docker` (agent containers on the local
engine) and `hollow` (hollow agent processes, for simulation). See base.Provider."""
