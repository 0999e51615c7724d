"""What `import` writes of an adopted copy's details: those that differ from its platform customer.

A seller may have given its copy of a buyer another address, shipping details, locales, tax status or
invoice settings than the platform customer has. The imported file keeps them as the account's
overrides (``accounts: [{account: shop, address: {...}}]``), so that declaring the detail on the
customer later does not silently overwrite what the seller set, and the file shows where copies
differ. A detail the copy lacks is not written: nobody chose that, and declaring the detail on the
customer later should fill it in.
"""

from __future__ import annotations

from dataclasses import replace

from reconcile.model import (
    ADDRESS_PARTS,
    DETAILS,
    NO_DETAILS,
    Address,
    Customer,
    Details,
    Shipping,
    value_to_json,
)

# Each detail's attribute on Details.
_ATTRIBUTES = {
    "address": "address",
    "shipping": "shipping",
    "preferred_locales": "preferred_locales",
    "tax_exempt": "tax_exempt",
    "invoice_settings.footer": "invoice_footer",
    "invoice_settings.custom_fields": "invoice_custom_fields",
}


def differing_details(copy: Customer, platform: Customer) -> Details:
    """The details set on the copy that differ from the platform customer's, as overrides that keep them."""
    details = copy.fields.details
    kept: dict[str, object] = {}
    for detail in DETAILS:
        if not details.same(NO_DETAILS, detail) and not details.same(platform.fields.details, detail):
            kept[_ATTRIBUTES[detail]] = getattr(details, _ATTRIBUTES[detail])
    return replace(NO_DETAILS, **kept) if kept else NO_DETAILS  # type: ignore[arg-type]


def details_to_file(details: Details) -> dict[str, object]:
    """The declared details as the file spells them (``invoice_settings: {footer, custom_fields}``)."""
    written: dict[str, object] = {}
    invoice_settings: dict[str, object] = {}
    for detail in details.declared():
        value = getattr(details, _ATTRIBUTES[detail])
        if isinstance(value, Address):
            written[detail] = _address(value)
        elif isinstance(value, Shipping):
            named = {"name": value.name, "phone": value.phone}
            written[detail] = {k: v for k, v in named.items() if v is not None} | {"address": _address(value.address)}
        elif detail.startswith("invoice_settings."):
            invoice_settings[detail.removeprefix("invoice_settings.")] = value_to_json(value)
        else:
            written[detail] = value_to_json(value)
    if invoice_settings:
        written["invoice_settings"] = invoice_settings
    return written


def _address(address: Address) -> dict[str, str]:
    return {part: value for part in ADDRESS_PARTS if (value := address.part(part)) is not None}
