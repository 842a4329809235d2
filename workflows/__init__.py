"""Temporal workflow classes: campaign, call attempt, post-call, re-analysis, webhook
delivery; and `activity_policies`, the timeouts and retry policies they call activities with.

Deterministic: a workflow module imports the standard library, `temporalio.workflow`,
and through `workflow.unsafe.imports_passed_through()` activities and pure domain code.
The rules they apply live in the domain packages (`centralita.campaigns`...).

May import: `activities` (method references), the `centralita` packages.
"""
