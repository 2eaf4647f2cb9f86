"""The local stack: every part of the system as supervised processes on one machine (`make run`)."""
