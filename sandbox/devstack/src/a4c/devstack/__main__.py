"""``python -m a4c.devstack`` (what ``make run`` runs): the local stack (a4c.devstack.stack)."""

from a4c.devstack.stack.__main__ import main

if __name__ == "__main__":
    main()
