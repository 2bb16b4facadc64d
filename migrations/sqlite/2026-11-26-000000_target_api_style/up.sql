-- The wire format of a model's probe target: `openai_chat` (chat completions) or
-- `anthropic_messages`.
ALTER TABLE active_targets ADD COLUMN api_style TEXT NOT NULL DEFAULT 'openai_chat';
