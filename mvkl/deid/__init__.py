"""De-identification benchmark corpus (issue 15)."""
