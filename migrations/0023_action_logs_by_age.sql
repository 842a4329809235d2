-- 0023: the retention purge removes tenant tool calls and WhatsApp messages by age
-- (`retention_actions_days`, centralita/tenants/store/retention.py); these indexes let
-- each of its batches find the old rows without reading the whole log.
CREATE INDEX tool_invocations_created ON tool_invocations (created_at);
CREATE INDEX whatsapp_messages_created ON whatsapp_messages (created_at);
