"""The workflow contract: names, ids, inputs and outputs, search attributes.

Shared by the worker that runs the workflows and the provisioning service that starts, queries and
cancels them, so neither imports the other: only this small package (and temporalio) is common.
"""
