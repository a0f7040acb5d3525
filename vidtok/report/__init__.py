"""Pictures and pages people can look at: merge maps, contact sheets (reports land here)."""
