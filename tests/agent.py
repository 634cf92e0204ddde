"""A visitor driven through Streamlit's agent API (``POST /_stcore/agent/interact``): real sessions on the browser's
rerun and callback path, without painting; for tests that need a live server but not its pixels."""

from __future__ import annotations

import json
import urllib.request

AGENT_ARGS = ("--server.enableAgentApi=true",)  # on the command line only, never in .streamlit/config.toml


class AgentSession:
    """One browser session of the app at ``url``; each ``send`` is one interaction, answered with the page's tree."""

    def __init__(self, url: str, timeout_s: float = 120.0) -> None:
        self.url, self.timeout_s, self.session_id = f"{url}/_stcore/agent/interact", timeout_s, None
        self.snapshot: dict = {}

    def send(self, body: dict | None = None) -> dict:
        body = dict(body or {})
        if self.session_id is not None:
            body = {"session_id": self.session_id, **body}
        request = urllib.request.Request(self.url, data=json.dumps(body).encode(),
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=self.timeout_s) as answer:
            self.snapshot = json.load(answer)
        self.session_id = self.snapshot["session_id"]
        return self.snapshot

    def nodes(self) -> list[dict]:
        out, todo = [], [self.snapshot.get("tree", {})]
        while todo:
            node = todo.pop()
            out.append(node)
            todo += node.get("children", [])
        return out

    def texts(self, kind: str) -> list[str]:
        """The text of every element of ``kind`` (markdown, error, info, progress, subheader ...) on the page now."""
        props = [node.get("props", {}) for node in self.nodes() if node.get("type") == kind]
        return [str(p.get("body") or p.get("text") or p.get("label") or "") for p in props]

    def exceptions(self) -> list[str]:
        return self.texts("exception")
