"""VidiCore (Vidispine) notifications: client, documents, triggers and cases (NOTES §1)."""
