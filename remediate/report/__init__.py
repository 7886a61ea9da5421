"""Report writers: text (rich), JSON, JSON-lines events, JUnit."""
