"""triserve clients."""
