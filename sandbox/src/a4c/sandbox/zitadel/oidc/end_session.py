"""``/oidc/v1/end_session``: RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0).

The client is named by ``client_id`` or by the ``id_token_hint`` (an ID token this instance signed,
expired ones included); a ``post_logout_redirect_uri`` must be one the app registered, exactly,
or the browser gets an error page instead of a redirect. Logging out revokes the access tokens of
the hinted login session (its ``sid``), then redirects with the ``state`` or shows a signed-out page.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from a4c.sandbox.zitadel.apps import find_client
from a4c.sandbox.zitadel.oidc import keys, pages
from a4c.sandbox.zitadel.oidc.params import Endpoint, params, redirect
from a4c.sandbox.zitadel.store import Store


def end_session_endpoint(store: Store) -> Endpoint:
    async def end_session(request: Request) -> Response:
        values = await params(request)
        hint, client_id = values.get("id_token_hint", ""), values.get("client_id", "")
        session_id = ""
        if hint:
            hinted = keys.verify_own(store, hint)
            if hinted is None:
                return pages.error_page("invalid_request", "id_token_hint is not a token of this instance")
            if client_id and client_id != hinted.get("azp"):
                return pages.error_page("invalid_request", "client_id does not match the id_token_hint")
            client_id, session_id = str(hinted.get("azp", "")), str(hinted.get("sid", ""))
        target = values.get("post_logout_redirect_uri", "")
        with store.write() as state:
            app = find_client(state, client_id) if client_id else None
            if target and (app is None or target not in app.post_logout_redirect_uris):
                return pages.error_page("invalid_request", "post_logout_redirect_uri invalid")
            if session_id:
                for digest in [d for d, t in state.tokens.items() if t.session_id == session_id]:
                    del state.tokens[digest]
        if target:
            return redirect(target, {"state": values.get("state", "")})
        return pages.signed_out_page()

    return end_session
