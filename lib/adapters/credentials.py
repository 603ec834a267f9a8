"""Token credentials of the app: one rule for storage, ARM (ASR, compute, resource locations) and Event Grid.

In Azure the app runs as a user-assigned managed identity. ``DefaultAzureCredential`` reaches it through its
ManagedIdentityCredential, which asks for the identity named by ``managed_identity_client_id`` and, when that
keyword is absent, by the ``AZURE_CLIENT_ID`` environment variable; without either it asks for the
system-assigned identity, which the deployed app does not have. ``main.bicep`` sets ``AZURE_CLIENT_ID``; the
app passes the value on explicitly (``Settings.azure_client_id``) so the choice is visible and tested.
azure-identity is imported when a credential is made, not at import time (cold start).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from lib.storage_config import IdentityChoice

if TYPE_CHECKING:
    from azure.core.credentials import TokenCredential

__all__ = ["azure_credential", "make_credential"]


def make_credential(choice: IdentityChoice) -> TokenCredential:
    """ManagedIdentityCredential (``client_id``: the user-assigned identity) or DefaultAzureCredential."""
    if choice.kind == "managedidentity":
        from azure.identity import ManagedIdentityCredential

        return ManagedIdentityCredential(client_id=choice.client_id or None)
    from azure.identity import DefaultAzureCredential

    if choice.client_id:
        return DefaultAzureCredential(managed_identity_client_id=choice.client_id)
    # Without the keyword DefaultAzureCredential reads AZURE_CLIENT_ID itself; passing None would override that.
    return DefaultAzureCredential()


def azure_credential(client_id: str = "") -> TokenCredential:
    """DefaultAzureCredential for the user-assigned identity ``client_id`` (``AZURE_CLIENT_ID``)."""
    return make_credential(IdentityChoice("default", client_id))
