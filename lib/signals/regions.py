"""Azure region names: Service Health speaks display names ("North Europe"), ARM and the policy speak ARM names
(``northeurope``). The table lists the public Azure regions (including the logical EUAP/staging ones) as of 2025.

Every public region's ARM name is its display name in lower case without spaces, so a name missing from the
table (a region opened after this table was written) still maps by that rule: an incident in a new region is not
dropped on the floor, and ``is_known_region`` tells the policy validator whether a name is one we know.
"Global" (and Service Health's "Non-Regional") maps to ``EVERY_REGION``: the incident concerns every region.
"""

from __future__ import annotations

import re

__all__ = ["EVERY_REGION", "KNOWN_REGIONS", "REGION_DISPLAY_NAMES", "arm_region", "is_known_region"]

EVERY_REGION = "*"  # marker: a global incident, relevant to every region (never an ARM region name)

# ARM name -> display name, as `az account list-locations` spells them.
REGION_DISPLAY_NAMES: dict[str, str] = {
    # Americas
    "eastus": "East US",
    "eastus2": "East US 2",
    "centralus": "Central US",
    "northcentralus": "North Central US",
    "southcentralus": "South Central US",
    "westcentralus": "West Central US",
    "westus": "West US",
    "westus2": "West US 2",
    "westus3": "West US 3",
    "canadacentral": "Canada Central",
    "canadaeast": "Canada East",
    "brazilsouth": "Brazil South",
    "brazilsoutheast": "Brazil Southeast",
    "mexicocentral": "Mexico Central",
    "chilecentral": "Chile Central",
    # Europe
    "northeurope": "North Europe",
    "westeurope": "West Europe",
    "uksouth": "UK South",
    "ukwest": "UK West",
    "francecentral": "France Central",
    "francesouth": "France South",
    "germanywestcentral": "Germany West Central",
    "germanynorth": "Germany North",
    "switzerlandnorth": "Switzerland North",
    "switzerlandwest": "Switzerland West",
    "norwayeast": "Norway East",
    "norwaywest": "Norway West",
    "swedencentral": "Sweden Central",
    "swedensouth": "Sweden South",
    "polandcentral": "Poland Central",
    "italynorth": "Italy North",
    "spaincentral": "Spain Central",
    "austriaeast": "Austria East",
    "belgiumcentral": "Belgium Central",
    "denmarkeast": "Denmark East",
    # Asia Pacific
    "eastasia": "East Asia",
    "southeastasia": "Southeast Asia",
    "australiaeast": "Australia East",
    "australiasoutheast": "Australia Southeast",
    "australiacentral": "Australia Central",
    "australiacentral2": "Australia Central 2",
    "japaneast": "Japan East",
    "japanwest": "Japan West",
    "koreacentral": "Korea Central",
    "koreasouth": "Korea South",
    "centralindia": "Central India",
    "southindia": "South India",
    "westindia": "West India",
    "jioindiawest": "Jio India West",
    "jioindiacentral": "Jio India Central",
    "indonesiacentral": "Indonesia Central",
    "malaysiawest": "Malaysia West",
    "newzealandnorth": "New Zealand North",
    "taiwannorth": "Taiwan North",
    "taiwannorthwest": "Taiwan Northwest",
    # Middle East and Africa
    "uaenorth": "UAE North",
    "uaecentral": "UAE Central",
    "qatarcentral": "Qatar Central",
    "israelcentral": "Israel Central",
    "southafricanorth": "South Africa North",
    "southafricawest": "South Africa West",
    # Logical regions (early access and staging) that appear in subscriptions allowed to use them
    "centraluseuap": "Central US EUAP",
    "eastus2euap": "East US 2 EUAP",
    "eastusstg": "East US STG",
    "southcentralusstg": "South Central US STG",
}

KNOWN_REGIONS: frozenset[str] = frozenset(REGION_DISPLAY_NAMES)

_EVERYWHERE = frozenset({"global", "nonregional"})
_PLAUSIBLE = re.compile(r"[a-z][a-z0-9]{1,63}")


def _compact(name: str) -> str:
    return "".join(name.split()).replace("-", "").casefold()


def arm_region(name: object) -> str | None:
    """The ARM name for a display name or an ARM name, in any case and spacing ("North Europe", "northeurope",
    "NORTH  europe" -> ``northeurope``); ``EVERY_REGION`` for "Global"; None when it cannot be a region name."""
    if not isinstance(name, str):
        return None
    compact = _compact(name)
    if compact in _EVERYWHERE:
        return EVERY_REGION
    return compact if _PLAUSIBLE.fullmatch(compact) else None


def is_known_region(name: str) -> bool:
    """Whether ``name`` (ARM or display) is a public Azure region of the table (``EVERY_REGION`` is not)."""
    return arm_region(name) in KNOWN_REGIONS
