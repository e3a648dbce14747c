"""Entry points of the nova binaries.

Importing this package monkey-patches the process for eventlet, so the
console scripts built by setup.py get the same start as ``bin/*``.
"""

import eventlet

eventlet.monkey_patch()
