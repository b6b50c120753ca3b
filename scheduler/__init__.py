"""corral-scheduler: binds pending pods to nodes. scheduler/service.py is the loop,
scheduler/framework.py the cycle that runs the plugins (scheduler/plugins/, one module
each) chosen by the config (scheduler/config.py)."""
