"""The workflow contract: names, ids, inputs and outputs, steps, search attributes, start options.

Shared by the worker that runs the workflows and the provisioning service that starts, queries and
cancels them, so neither imports the other: only this small package is common. Event types and the
status enums it uses are the event store's (`a4c.eventstore`), because its schema defines their values.
"""
