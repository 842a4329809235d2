"""Temporal workflow classes, and the policies they call activities with.

- `campaign`: `CampaignWorkflow`, a durable dispatcher of due contacts within every rule.
- `attempt`: `CallAttemptWorkflow`, one dial of one phone, re-checked at dial time.
- `post_call`: `PostCallWorkflow`, one per call, outliving its attempt.
- `reanalysis`: `ReanalysisWorkflow`, correction and analysis again over past calls.
- `webhook_delivery`: `WebhookDeliveryWorkflow`, ordered delivery to one endpoint.
- `activity_policies`: named timeouts and retry policies for every activity they call.

Deterministic: a workflow module imports the standard library, `temporalio.workflow`,
and through `workflow.unsafe.imports_passed_through()` activities and pure domain code.
The rules they apply live in the domain packages (`centralita.campaigns`...).

May import: `activities`, `realtime` and the `centralita` packages (the layers below it;
in practice activity method references and pure domain code); never `api`, `workers` or
`bench`.
"""
