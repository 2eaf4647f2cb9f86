"""Creating projects and their roles (v1 management, in the ``x-zitadel-orgid`` org).

What a deployment script does before any user can be granted a role or log in to an app:
AddProject, ListProjects (by name, to find it again), AddProjectRole and BulkAddProjectRoles.
Rules kept from Zitadel: a project belongs to the context org and its name is unique there; a role
key is unique in its project (409); another org's project is not found in this context; the
project's ``projectRoleAssertion`` decides whether userinfo asserts roles nobody asked for.
"""

from __future__ import annotations

from typing import Any

from a4c.sandbox.zitadel.api import Call, Rest
from a4c.sandbox.zitadel.errors import ApiError
from a4c.sandbox.zitadel.model import Project
from a4c.sandbox.zitadel.projects import find_project
from a4c.sandbox.zitadel.store import State
from a4c.sandbox.zitadel.wire import (
    change_details,
    details,
    flag,
    list_details,
    obj,
    text,
    text_matches,
)


def project_in_context(state: State, call: Call) -> Project:
    project = find_project(state, text(call.body, "projectId"))
    if project.org_id != call.org_id:  # another org's project is invisible in this context
        raise ApiError("not_found", "Project not found", "PROJECT-3M9sd")
    return project


def add_project(call: Call) -> dict[str, Any]:
    name = text(call.body, "name")
    if not name or len(name) > 200:
        raise ApiError("invalid_argument", "Errors.Project.Invalid", "PROJECT-IOVCC")
    store = call.store
    with store.write() as state:
        if any(p.org_id == call.org_id and p.name == name for p in state.projects.values()):
            raise ApiError("already_exists", "Errors.Project.AlreadyExists", "SANDBOX-pr409")
        now = store.now()
        project = Project(
            store.new_id(), call.org_id, name, [], now, now, store.next_sequence(),
            project_role_assertion=flag(call.body, "projectRoleAssertion"),
        )  # fmt: skip
        state.projects[project.id] = project
    return {"id": project.id, "details": change_details(project.sequence, now, call.org_id)}


def project_view(p: Project) -> dict[str, Any]:
    """zitadel.project.v1.Project."""
    return {
        "id": p.id,
        "details": details(p.sequence, p.created, p.changed, p.org_id),
        "name": p.name,
        "state": "PROJECT_STATE_ACTIVE",
        "projectRoleAssertion": p.project_role_assertion,
    }


def list_projects(call: Call) -> dict[str, Any]:
    queries = [q for q in call.body.get("queries") or [] if isinstance(q, dict)]
    with call.store.read() as state:
        visible = call.store.searchable(list(state.projects.values()), Project)
        chosen = [p for p in visible if p.org_id == call.org_id and all(_matches(p, q) for q in queries)]
        result = [project_view(p) for p in chosen]
        return {"details": list_details(len(result), state.sequence, call.store.now()), "result": result}


def _matches(project: Project, query: dict[str, Any]) -> bool:
    if "nameQuery" in query:
        q = obj(query, "nameQuery")
        return text_matches(project.name, text(q, "name"), text(q, "method"))
    unknown = ", ".join(sorted(query)) or "empty query"
    raise ApiError("unimplemented", f"project query {unknown} is not emulated", "SANDBOX-pq501")


def _add_roles(call: Call, keys: list[str]) -> dict[str, Any]:
    if not keys or any(not k or len(k) > 200 for k in keys):
        raise ApiError("invalid_argument", "Errors.Project.Role.Invalid", "COMMAND-4m9vS")
    with call.store.write() as state:
        project = project_in_context(state, call)
        taken = [k for k in keys if k in project.role_keys] or [k for k in keys if keys.count(k) > 1]
        if taken:
            raise ApiError("already_exists", f"Project role {taken[0]} already exists", "SANDBOX-rl409")
        project.role_keys = [*project.role_keys, *keys]
        project.changed, project.sequence = call.store.now(), call.store.next_sequence()
    return {"details": change_details(project.sequence, project.changed, call.org_id)}


def add_project_role(call: Call) -> dict[str, Any]:
    """AddProjectRole: {roleKey, displayName, group}; display name and group are not kept."""
    return _add_roles(call, [text(call.body, "roleKey")])


def bulk_add_project_roles(call: Call) -> dict[str, Any]:
    roles = [r for r in call.body.get("roles") or [] if isinstance(r, dict)]
    return _add_roles(call, [text(r, "key") for r in roles])


REST = [
    Rest("POST", "/management/v1/projects", add_project),
    Rest("POST", "/management/v1/projects/_search", list_projects),
    Rest("POST", "/management/v1/projects/{projectId}/roles", add_project_role),
    Rest("POST", "/management/v1/projects/{projectId}/roles/_bulk", bulk_add_project_roles),
]
