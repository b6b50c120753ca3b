"""corral-scheduler: binds pending pods to nodes (see scheduler/service.py for the loop and
scheduler/framework.py for the plugin framework)."""
