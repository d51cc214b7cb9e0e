"""ros-init: the first-boot configurator of RancherOS v2.

Data flows one way: datasources -> raw documents -> merged config -> validated config
-> plan -> stages act on the target root -> status. Heavy libraries are imported lazily
by the functions that need them, so ``ros-init validate`` and ``ros-init run`` start fast.
"""

__version__ = "0.1.0"
