"""Schemathesis hooks for CareNest's fuzz run.

Schemathesis's `positive_data_acceptance` says a request that fits the OpenAPI document must
not be refused. The document states every rule JSON Schema can state (types, lengths,
patterns, ranges, enums, required fields); a few rules it cannot state: one field's order
against another's, records that must exist or belong to the caller, limits that depend on
what is stored, opaque cursors, a wrong password. The first check below runs schemathesis's
own and lets a refusal through only when the problem document names nothing but such rules.

A refusal of a "valid" request whose path holds an id that was null is no failure either:
the request never fitted the document (see below).

The second guards `negative_data_rejection` against false alarms of the tool about bodies:
its coverage phase sometimes calls an optional property required, or holds a property named
`email` to the `email` format the document does not give it, and reports a body that fits the
document as accepted negative data. A report about the body stands only if the body really
breaks the document.
"""

import json

import jsonschema_rs
import schemathesis
from schemathesis.core.failures import AcceptedNegativeData
from schemathesis.openapi.checks import RejectedPositiveData
from schemathesis.specs.openapi.checks import negative_data_rejection, positive_data_acceptance

# The `code` of each rule the document cannot state (see the README's security section).
INEXPRESSIBLE = {
    # One field against another.
    "after_start",
    "before_start",
    "before_from",
    "part_day",
    "together",
    "overlaps",
    "range",
    # Records that must exist, or be the caller's.
    "unknown_child",
    "unknown_user",
    "unknown_template",
    "unknown_therapist",
    "unknown_reference",
    # Limits that depend on what is stored, and what a series adds up to.
    "too_many",
    "date_range",
    # Each id once, in a comma-separated list.
    "duplicate",
    # Free JSON documents: bounded in size and depth, no NUL inside.
    "too_large",
    "too_deep",
    "nul_character",
    # An opaque cursor, and a password that is not the account's.
    "cursor",
    "incorrect",
}


def problem_codes(response):
    try:
        problem = json.loads(response.content)
    except ValueError:
        return set()
    return {error.get("code") for error in problem.get("errors", []) if isinstance(error, dict)}


@schemathesis.check
def positive_data_accepted_unless_an_inexpressible_rule_refused_it(ctx, response, case):
    try:
        return positive_data_acceptance(ctx, response, case)
    except RejectedPositiveData:
        codes = problem_codes(response)
        if codes and codes <= INEXPRESSIBLE:
            return None
        # The stateful phase follows links it infers from responses; a link from a field that
        # was null (a therapist's `userId`, a goal's `childProfileId`) puts `None` in a path,
        # which no id in the document matches: not valid data, so not a rejection of it.
        if any(value is None for value in (case.path_parameters or {}).values()):
            return None
        raise


def body_fits_the_document(case):
    document = case.operation.schema.raw_schema
    operation = document["paths"][case.operation.path][case.method.lower()]
    body_schema = operation.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")
    if body_schema is None:
        return False
    validator = jsonschema_rs.validator_for({**body_schema, "components": document.get("components", {})})
    return validator.is_valid(case.body)


@schemathesis.check
def negative_data_rejected_when_it_breaks_the_document(ctx, response, case):
    try:
        return negative_data_rejection(ctx, response, case)
    except AcceptedNegativeData as failure:
        message = failure.message
        about_the_body = ("in body" in message or "Missing required property" in message) and not any(
            f"in {place}" in message for place in ("query", "path", "header", "cookie")
        )
        if about_the_body and body_fits_the_document(case):
            return None
        raise
