"""Cloud Logging (entries.list over REST) over the local cloud's Cloud Run logs."""
