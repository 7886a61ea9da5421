"""remediate: keep MailSite mail servers off spam blacklists.

The public Python API grows here as the engine lands.
"""

from __future__ import annotations

__all__: list[str] = []
